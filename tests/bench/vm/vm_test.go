// Package vm benchmarks vmnode's VM commands against virsh on the same lab
// libvirtd: a VM's lifecycle (create, start, stop, delete: four CLI
// processes against four virsh processes), and listing the VMs of a 3-host
// cluster (one `vmnode vm list`, a Serf query, against `virsh list --all`
// on each host in turn). It runs only under `make bench` (VMNODE_BENCH=1)
// and prints figures and ratios; it fails on functional errors only, never
// on timing.
package vm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmnode/vmnode/runtime/api"
	"github.com/vmnode/vmnode/tests/lab"
)

// Goals the results are compared with.
const (
	lifecycleGoal = 1.10                   // vmnode's cycle at most 10% slower than virsh's
	listGoal      = 200 * time.Millisecond // vmnode vm list, 3 hosts × 100 VMs
	listRuns      = 20
)

var (
	bin     string // the vmnode binary built for the run
	profile string // tests/e2e/testdata/profiles/vmlab.yaml: lab hosts are healthy
)

func TestMain(m *testing.M) {
	if os.Getenv("VMNODE_BENCH") == "" {
		fmt.Println("skipped: set VMNODE_BENCH=1 (make bench) to run the VM benchmark")
		os.Exit(0)
	}
	profile = filepath.Join(lab.Root(), "tests", "e2e", "testdata", "profiles", "vmlab.yaml")
	var remove func()
	var err error
	if bin, remove, err = lab.BuildVMNode(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	remove()
	os.Exit(code)
}

func TestVMBench(t *testing.T) {
	net := lab.NewNet(t, 3)
	var lvs []*lab.Libvirtd
	for _, h := range net.Hosts() {
		lv := h.StartLibvirtd(t)
		// Runs before the daemon's own cleanup (registered earlier), after
		// the agents' (registered later): nothing stays defined.
		t.Cleanup(func() { undefineAll(t, lv) })
		lvs = append(lvs, lv)
	}
	key := keygen(t)
	cycles := envInt("VMNODE_BENCH_CYCLES", 10)
	perHost := envInt("VMNODE_BENCH_VMS", 100)

	// One host alone: every command is answered by h1 itself.
	h1 := startAgent(t, net.Host(0), "h1", key, "fast", lvs[0])
	tmpl := domainTemplate(t, h1)
	var rows []lifecycleResult
	rows = append(rows, lifecycle(t, "1 host, fast", h1, tmpl, cycles))

	// The same host in a 3-host cluster: every command asks all members.
	agents := []*agent{h1}
	for i := 1; i < 3; i++ {
		agents = append(agents, startAgent(t, net.Host(i), fmt.Sprintf("h%d", i+1), key, "fast", lvs[i]))
	}
	joinAll(t, agents)
	rows = append(rows, lifecycle(t, "3 hosts, fast", h1, tmpl, cycles))

	// perHost VMs (100) per host, defined behind the agents' backs: they learn of
	// them from libvirt's events.
	t0 := time.Now()
	for i, lv := range lvs {
		defineMany(t, lv, tmpl, fmt.Sprintf("vm-h%d-", i+1), perHost)
	}
	defined := time.Since(t0)
	seen := waitListed(t, h1, 3*perHost, 60*time.Second)
	var lists []listResult
	lists = append(lists, listBench(t, "fast", h1, lvs, 3*perHost))

	// The same, with Serf's default timings: a new cluster over the same
	// libvirtds, which read the VMs at start.
	logProblems(t, agents)
	for _, a := range agents {
		a.host.Kill()
	}
	agents = agents[:0]
	for i := 0; i < 3; i++ {
		agents = append(agents, startAgent(t, net.Host(i), fmt.Sprintf("h%d", i+1), key, "lan", lvs[i]))
	}
	joinAll(t, agents)
	waitListed(t, agents[0], 3*perHost, 60*time.Second)
	lists = append(lists, listBench(t, "lan", agents[0], lvs, 3*perHost))
	undefineMany(t, lvs, perHost)
	rows = append(rows, lifecycle(t, "3 hosts, lan", agents[0], tmpl, cycles))

	logProblems(t, agents)

	printLifecycle(rows, cycles)
	fmt.Printf("\n%d VMs defined with virsh in %s (one virsh process per host); the agents listed all of them %s after the first define (libvirt events)\n",
		3*perHost, ms(defined), ms(seen+defined))
	printLists(lists, perHost)
}

// agent is a vmnode agent on a lab host, with its own libvirtd.
type agent struct {
	name, dir, config string
	host              *lab.Host
	lv                *lab.Libvirtd
	proc              *lab.Proc
}

func startAgent(t *testing.T, h *lab.Host, name, key, gossip string, lv *lab.Libvirtd) *agent {
	t.Helper()
	dir := t.TempDir()
	a := &agent{name: name, dir: dir, host: h, lv: lv, config: filepath.Join(dir, "vmnode.yaml")}
	cfg := fmt.Sprintf(`node: {name: %s}
preflight: {offline: true, profile: %s}
agent: {bind: "%s:7946", data_dir: %s/data, key_file: %s, socket: %s/agent.sock, gossip: %s, health_interval: 2s}
vm: {libvirt_socket: %s, domain_type: qemu}
`, name, profile, h.Addr, dir, key, dir, gossip, lv.Socket)
	if err := os.WriteFile(a.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	a.proc = h.Start(t, bin, "agent", "--config", a.config)
	// Ready: the control socket answers, the local checks ran (the
	// scheduler refuses a host before), and libvirt answered.
	waitFor(t, name+" ready", 30*time.Second, func() bool {
		if !a.proc.Alive() {
			t.Fatalf("agent %s exited:\n%s", name, a.proc.Log())
		}
		out, _, err := a.cli("status", "-o", "json")
		var st api.Status
		if err != nil || json.Unmarshal([]byte(out), &st) != nil {
			return false
		}
		return st.Health.Status != "" && strings.Contains(a.proc.Log(), `msg="connected to libvirt"`)
	})
	return a
}

// cli runs vmnode against a's agent.
func (a *agent) cli(args ...string) (stdout, stderr string, err error) {
	_, stdout, stderr, err = run(bin, append([]string{"--config", a.config}, args...)...)
	return stdout, stderr, err
}

// joinAll joins agents[1:] to agents[0] the way an operator does, and waits
// until every agent sees every other alive.
func joinAll(t *testing.T, agents []*agent) {
	t.Helper()
	for _, a := range agents[1:] {
		if _, _, err := a.cli("join", "--skip-provision", "--offline", "--ignore-preflight-errors", "all", agents[0].host.Addr.String()); err != nil {
			t.Fatalf("%s join: %v", a.name, err)
		}
	}
	for _, a := range agents {
		waitFor(t, a.name+" sees every member alive", 30*time.Second, func() bool {
			out, _, err := a.cli("status", "-o", "json")
			var st api.Status
			return err == nil && json.Unmarshal([]byte(out), &st) == nil && st.Alive == len(agents)
		})
	}
}

// run runs a command and times it.
func run(name string, args ...string) (d time.Duration, stdout, stderr string, err error) {
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err = cmd.Run()
	d = time.Since(start)
	if err != nil {
		err = fmt.Errorf("%s %s: %w\n%s%s", filepath.Base(name), strings.Join(args, " "), err, out.String(), errb.String())
	}
	return d, out.String(), errb.String(), err
}

// virsh runs virsh against lv from this machine's namespace (the socket is
// a file), as an operator on the host would: one process, no ip netns exec.
func virsh(lv *lab.Libvirtd, args ...string) (time.Duration, string, error) {
	d, out, _, err := run("virsh", append([]string{"-q", "-c", lv.LocalURI}, args...)...)
	return d, out, err
}

// virshScript runs many virsh commands in one process.
func virshScript(lv *lab.Libvirtd, cmds []string) error {
	cmd := exec.Command("virsh", "-q", "-c", lv.LocalURI)
	cmd.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("virsh on %s: %w\n%s", lv.Host.Name, err, out)
	}
	if strings.Contains(string(out), "error:") {
		return fmt.Errorf("virsh on %s:\n%s", lv.Host.Name, out)
	}
	return nil
}

func keygen(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(bin, "keygen").Output()
	if err != nil {
		t.Fatalf("keygen: %v", err)
	}
	p := filepath.Join(t.TempDir(), "gossip.key")
	if err := os.WriteFile(p, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// domainTemplate is the XML vmnode defines for a 64 MiB diskless VM, as
// libvirt stores it, without what makes it one domain (name, uuid, MAC
// addresses, console ports) or vmnode's (its metadata): what virsh defines
// in the comparison, with NAME to replace.
func domainTemplate(t *testing.T, a *agent) string {
	t.Helper()
	const probe = "bench-probe"
	// The first create may come before the agent's libvirt view is
	// complete: retry briefly.
	var err error
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, _, err = a.cli("vm", "create", probe, "--memory", "64M", "--host", a.name); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("create %s: %v", probe, err)
	}
	_, xml, err := virsh(a.lv, "dumpxml", "--inactive", probe)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.cli("vm", "delete", probe); err != nil {
		t.Fatalf("delete %s: %v", probe, err)
	}
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?s)\s*<uuid>.*?</uuid>`),
		regexp.MustCompile(`(?s)\s*<metadata>.*?</metadata>`),
		regexp.MustCompile(`\s*<mac address=[^>]*/>`),
	} {
		xml = re.ReplaceAllString(xml, "")
	}
	// The console's port, chosen when the domain starts.
	xml = regexp.MustCompile(`<graphics [^>]*>`).ReplaceAllStringFunc(xml, func(g string) string {
		return regexp.MustCompile(` (port|websocket)='[^']*'`).ReplaceAllString(g, "")
	})
	xml = strings.Replace(xml, "<name>"+probe+"</name>", "<name>NAME</name>", 1)
	if !strings.Contains(xml, "<name>NAME</name>") || !strings.Contains(xml, "type='qemu'") {
		t.Fatalf("unexpected domain XML from vmnode:\n%s", xml)
	}
	// One line: make bench filters the test's log lines out.
	t.Logf("the domain virsh defines (vmnode's, without name, uuid, MACs, console port and metadata): %s", strings.Join(strings.Fields(xml), " "))
	return xml
}

// writeDomain writes tmpl for name into dir and returns the path.
func writeDomain(t *testing.T, dir, tmpl, name string) string {
	t.Helper()
	p := filepath.Join(dir, name+".xml")
	if err := os.WriteFile(p, []byte(strings.Replace(tmpl, "NAME", name, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Lifecycle steps, vmnode's name / virsh's.
var steps = []string{"create/define", "start", "stop/destroy", "delete/undefine"}

type lifecycleResult struct {
	label         string
	vmnode, virsh [][]time.Duration // [cycle][step]
}

// lifecycle runs cycles of create, start, stop --force, delete with the
// vmnode CLI against a's agent, and of define, start, destroy, undefine with
// virsh against the same libvirtd, alternating which goes first.
func lifecycle(t *testing.T, label string, a *agent, tmpl string, cycles int) lifecycleResult {
	t.Helper()
	res := lifecycleResult{label: label}
	dir := t.TempDir()
	tag := strings.NewReplacer(" ", "", ",", "-").Replace(label)
	vmnodeCycle := func(i int) []time.Duration {
		name := fmt.Sprintf("bench-vmnode-%s-%02d", tag, i)
		return timeSteps(t, [][]string{
			{bin, "--config", a.config, "vm", "create", name, "--memory", "64M", "--host", a.name},
			{bin, "--config", a.config, "vm", "start", name},
			{bin, "--config", a.config, "vm", "stop", "--force", name},
			{bin, "--config", a.config, "vm", "delete", name},
		})
	}
	virshCycle := func(i int) []time.Duration {
		name := fmt.Sprintf("bench-virsh-%s-%02d", tag, i)
		file := writeDomain(t, dir, tmpl, name)
		c := []string{"virsh", "-q", "-c", a.lv.LocalURI}
		return timeSteps(t, [][]string{
			append(slices.Clone(c), "define", file),
			append(slices.Clone(c), "start", name),
			append(slices.Clone(c), "destroy", name),
			append(slices.Clone(c), "undefine", name),
		})
	}
	for i := 0; i < cycles; i++ {
		if i%2 == 0 {
			res.vmnode = append(res.vmnode, vmnodeCycle(i))
			res.virsh = append(res.virsh, virshCycle(i))
		} else {
			res.virsh = append(res.virsh, virshCycle(i))
			res.vmnode = append(res.vmnode, vmnodeCycle(i))
		}
	}
	return res
}

// timeSteps runs each command in turn and returns their durations; a
// failure fails the test.
func timeSteps(t *testing.T, cmds [][]string) []time.Duration {
	t.Helper()
	var ds []time.Duration
	for _, c := range cmds {
		d, _, _, err := run(c[0], c[1:]...)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	return ds
}

func printLifecycle(rows []lifecycleResult, cycles int) {
	fmt.Printf("\n== VM lifecycle: vmnode CLI vs virsh, same lab libvirtd (TCG, 64 MiB, diskless; %d cycles, alternating; %d CPUs)\n", cycles, runtime.NumCPU())
	fmt.Printf("%-14s %-16s %10s %10s %8s\n", "cluster", "step (median)", "vmnode", "virsh", "ratio")
	for _, r := range rows {
		for s, name := range steps {
			vn, vs := median(column(r.vmnode, s)), median(column(r.virsh, s))
			fmt.Printf("%-14s %-16s %10s %10s %8s\n", r.label, name, ms(vn), ms(vs), ratio(vn, vs))
		}
		vn, vs := totals(r.vmnode), totals(r.virsh)
		fmt.Printf("%-14s %-16s %10s %10s %8s\n", r.label, "cycle median", ms(median(vn)), ms(median(vs)), ratio(median(vn), median(vs)))
		fmt.Printf("%-14s %-16s %10s %10s %8s\n", r.label, "cycle mean", ms(mean(vn)), ms(mean(vs)), ratio(mean(vn), mean(vs)))
	}
	for _, r := range rows {
		vn, vs := median(totals(r.vmnode)), median(totals(r.virsh))
		f := float64(vn) / float64(vs)
		verdict := "met"
		if f >= lifecycleGoal {
			verdict = "NOT met"
		}
		fmt.Printf("overhead vmnode/virsh, %s: %.2fx per cycle (goal < %.2fx: %s)\n", r.label, f, lifecycleGoal, verdict)
	}
}

type listResult struct {
	gossip        string
	vmnode, virsh []time.Duration
}

// listBench times `vmnode vm list` from a against the same information
// from virsh: `virsh list --all` on each host in turn.
func listBench(t *testing.T, gossip string, a *agent, lvs []*lab.Libvirtd, want int) listResult {
	t.Helper()
	res := listResult{gossip: gossip}
	check := func(out, stderr string) {
		// A header and one line per VM; no "not shown" warning.
		if n := strings.Count(out, "\n") - 1; n != want || stderr != "" {
			t.Fatalf("vm list: %d VMs, want %d\nstderr: %s", n, want, stderr)
		}
	}
	// Warm-up, not timed.
	if out, stderr, err := a.cli("vm", "list"); err != nil {
		t.Fatal(err)
	} else {
		check(out, stderr)
	}
	for i := 0; i < listRuns; i++ {
		// A query leaves at the next gossip tick (50 ms fast, 200 ms
		// lan): start at a random phase of it, not in step with it.
		time.Sleep(time.Duration(rand.Int64N(int64(250 * time.Millisecond))))
		d, out, stderr, err := run(bin, "--config", a.config, "vm", "list")
		if err != nil {
			t.Fatal(err)
		}
		check(out, stderr)
		res.vmnode = append(res.vmnode, d)

		var total time.Duration
		n := 0
		for _, lv := range lvs {
			d, out, err := virsh(lv, "list", "--all")
			if err != nil {
				t.Fatal(err)
			}
			total += d
			n += len(strings.Split(strings.TrimSpace(out), "\n"))
		}
		if n != want {
			t.Fatalf("virsh list --all: %d domains on the 3 hosts, want %d", n, want)
		}
		res.virsh = append(res.virsh, total)
	}
	return res
}

func printLists(rows []listResult, perHost int) {
	fmt.Printf("\n== vm list, 3 lab hosts × %d VMs (defined and shut off, not running: %d TCG guests would need ~%d GiB); %d runs from h1\n",
		perHost, 3*perHost, (3*perHost*64+1023)/1024, listRuns)
	fmt.Printf("%-7s %14s %12s %16s %14s %8s %14s\n", "gossip", "vmnode median", "vmnode p90", "virsh×3 median", "virsh×3 p90", "ratio", "p90/goal 200ms")
	for _, r := range rows {
		vn, vs := median(r.vmnode), median(r.virsh)
		fmt.Printf("%-7s %14s %12s %16s %14s %8s %14s\n", r.gossip, ms(vn), ms(p90(r.vmnode)), ms(vs), ms(p90(r.virsh)), ratio(vn, vs),
			fmt.Sprintf("%.2fx", float64(p90(r.vmnode))/float64(listGoal)))
	}
	fmt.Println("(vmnode: one `vmnode vm list`, a Serf query answered by every member; virsh×3: `virsh list --all` on each host in turn)")
}

// defineMany defines n shut-off domains prefixNNN on lv, in one virsh process.
func defineMany(t *testing.T, lv *lab.Libvirtd, tmpl, prefix string, n int) {
	t.Helper()
	dir := t.TempDir()
	var cmds []string
	for i := 1; i <= n; i++ {
		cmds = append(cmds, "define "+writeDomain(t, dir, tmpl, fmt.Sprintf("%s%03d", prefix, i)))
	}
	if err := virshScript(lv, cmds); err != nil {
		t.Fatal(err)
	}
}

// undefineMany undefines what defineMany defined.
func undefineMany(t *testing.T, lvs []*lab.Libvirtd, n int) {
	t.Helper()
	for h, lv := range lvs {
		var cmds []string
		for i := 1; i <= n; i++ {
			cmds = append(cmds, fmt.Sprintf("undefine vm-h%d-%03d", h+1, i))
		}
		if err := virshScript(lv, cmds); err != nil {
			t.Fatal(err)
		}
	}
}

// undefineAll destroys and undefines whatever is left on lv.
func undefineAll(t *testing.T, lv *lab.Libvirtd) {
	_, out, err := virsh(lv, "list", "--all", "--name")
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	var cmds []string
	for _, name := range strings.Fields(out) {
		cmds = append(cmds, "destroy "+name+" --graceful", "undefine "+name)
	}
	if len(cmds) == 0 {
		return
	}
	// destroy fails on shut-off domains: only undefine's errors matter.
	cmd := exec.Command("virsh", "-q", "-c", lv.LocalURI)
	cmd.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	cmd.CombinedOutput()
	if _, out, err := virsh(lv, "list", "--all", "--name"); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("cleanup: domains left on %s: %q %v", lv.Host.Name, out, err)
	}
}

// waitListed waits until `vmnode vm list -o json` from a shows want VMs,
// and returns how long that took.
func waitListed(t *testing.T, a *agent, want int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	last := 0
	for {
		out, _, err := a.cli("vm", "list", "-o", "json")
		var vms []api.VM
		if err == nil && json.Unmarshal([]byte(out), &vms) == nil {
			last = len(vms)
			if last == want {
				d := time.Since(start)
				checkListed(t, vms)
				return d
			}
		}
		if time.Since(start) > within {
			t.Fatalf("vm list from %s shows %d VMs after %s, want %d (last error: %v)", a.name, last, within, want, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkListed checks what vm list says of the VMs defined with virsh:
// vm-hN-NNN is on hN, shut off, with 1 vCPU and 64 MiB.
func checkListed(t *testing.T, vms []api.VM) {
	t.Helper()
	for _, v := range vms {
		host, _, _ := strings.Cut(strings.TrimPrefix(v.Name, "vm-"), "-")
		if v.Host != host || v.State != "shutoff" || v.VCPUs != 1 || v.MemoryMiB != 64 {
			t.Fatalf("vm list shows %s as host %q, state %q, %d vCPUs, %d MiB; want %s, shutoff, 1, 64", v.Name, v.Host, v.State, v.VCPUs, v.MemoryMiB, host)
		}
	}
}

// logProblems logs the warnings and errors agents logged, for the reader
// of -v output: a benchmark that passes may still have had to retry.
func logProblems(t *testing.T, agents []*agent) {
	t.Helper()
	for _, a := range agents {
		for _, l := range strings.Split(a.proc.Log(), "\n") {
			if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
				t.Logf("%s: %s", a.name, l)
			}
		}
	}
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func column(m [][]time.Duration, j int) []time.Duration {
	var c []time.Duration
	for _, row := range m {
		c = append(c, row[j])
	}
	return c
}

func totals(m [][]time.Duration) []time.Duration {
	var c []time.Duration
	for _, row := range m {
		var s time.Duration
		for _, d := range row {
			s += d
		}
		c = append(c, s)
	}
	return c
}

func median(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// p90 is the nearest-rank 90th percentile.
func p90(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	if len(s) == 0 {
		return 0
	}
	return s[int(math.Ceil(0.9*float64(len(s))))-1]
}

func mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var s time.Duration
	for _, d := range ds {
		s += d
	}
	return s / time.Duration(len(ds))
}

func ratio(a, b time.Duration) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", float64(a)/float64(b))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

// envInt reads a positive count from the environment, else def.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
