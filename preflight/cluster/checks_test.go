package cluster

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmnode/vmnode/preflight"
)

// mem is an answering member with an empty report.
func mem(name string, change ...func(*Member)) Member {
	m := Member{Name: name, Address: "", OS: OS{Family: "rhel", ID: "almalinux", Version: "9.4"}, Report: &preflight.Report{Hostname: name}}
	for _, c := range change {
		c(&m)
	}
	return m
}

// silent is a member that did not answer.
func silent(name, why string) Member { return Member{Name: name, Error: why} }

func addr(a string) func(*Member)       { return func(m *Member) { m.Address = a } }
func family(f, id string) func(*Member) { return func(m *Member) { m.OS = OS{Family: f, ID: id} } }
func vers(kv ...string) func(*Member)   { return func(m *Member) { m.Versions = pairs(kv) } }
func clock(off, err time.Duration) func(*Member) {
	return func(m *Member) { m.ClockOffset, m.ClockError = off, err }
}
func ports(ps ...Port) func(*Member) { return func(m *Member) { m.Ports = ps } }
func saw(ps ...Probe) func(*Member)  { return func(m *Member) { m.Probes = ps } }
func self() func(*Member)            { return func(m *Member) { m.Self = true } }
func probe(to string, port int, res ProbeResult) Probe {
	return Probe{To: to, Port: port, Proto: "tcp", Result: res}
}

func pairs(kv []string) map[string]string {
	out := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// members builds n answering members named n1, n2, …
func members(n int, change ...func(*Member)) []Member {
	var out []Member
	for i := range n {
		out = append(out, mem("n"+string(rune('1'+i)), change...))
	}
	return out
}

// checkCase is one table row: the members, the status and what the message,
// observed and remediation must contain.
type checkCase struct {
	name    string
	members []Member
	lim     Limits
	status  preflight.Status
	msg     []string // substrings of Message
	obs     []string // substrings of Observed
	remedy  []string // substrings of Remediation
	not     []string // substrings Message must not contain
}

// runCheckCases runs the cluster check id over every case.
func runCheckCases(t *testing.T, id string, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lim := tc.lim
			if lim == (Limits{}) {
				lim = DefaultLimits()
			}
			res := find(t, Check(tc.members, lim), id)
			if res.Status != tc.status {
				t.Errorf("status %s, want %s: %s", res.Status, tc.status, res.Message)
			}
			has := func(field, got string, want []string) {
				for _, w := range want {
					if !strings.Contains(got, w) {
						t.Errorf("%s %q lacks %q", field, got, w)
					}
				}
			}
			has("message", res.Message, tc.msg)
			has("observed", res.Observed, tc.obs)
			has("remediation", res.Remediation, tc.remedy)
			for _, n := range tc.not {
				if strings.Contains(res.Message, n) {
					t.Errorf("message %q contains %q", res.Message, n)
				}
			}
			assertActionable(t, res)
		})
	}
}

// assertActionable checks what every cluster result promises: a warning,
// failure or error says what was seen, what was expected and what to do.
func assertActionable(t *testing.T, res preflight.Result) {
	t.Helper()
	if res.Message == "" {
		t.Errorf("%s: empty message", res.ID)
	}
	if res.Status == preflight.Warn || res.Status == preflight.Fail || res.Status == preflight.Error {
		if res.Remediation == "" || res.Observed == "" || res.Expected == "" {
			t.Errorf("%s %s lacks remediation, observed or expected: %+v", res.ID, res.Status, res)
		}
	}
}

func find(t *testing.T, rs []preflight.Result, id string) preflight.Result {
	t.Helper()
	i := slices.IndexFunc(rs, func(r preflight.Result) bool { return r.ID == id })
	if i < 0 {
		t.Fatalf("no %s result in %v", id, rs)
	}
	return rs[i]
}

func TestCheckIDsAndOrder(t *testing.T) {
	want := []string{
		"cluster.members-answered", "cluster.hostname-unique", "cluster.size",
		"cluster.os-family-homogeneous", "cluster.versions", "cluster.time-skew", "cluster.ports-reachable",
	}
	if got := IDs(); !slices.Equal(got, want) {
		t.Fatalf("IDs() = %v, want %v (IDs are stable API)", got, want)
	}
	for _, ms := range [][]Member{nil, members(1), sampleMembers(), cleanMembers()} {
		rs := Check(ms, DefaultLimits())
		var got []string
		for _, r := range rs {
			got = append(got, r.ID)
			if r.Title == "" || !slices.Contains(preflight.Statuses, r.Status) {
				t.Errorf("%s: title %q, status %q", r.ID, r.Title, r.Status)
			}
			assertActionable(t, r)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Check order %v, want %v", got, want)
		}
	}
}

// TestCheckOrderIndependent: the members' order does not change the results.
func TestCheckOrderIndependent(t *testing.T) {
	want := Check(sampleMembers(), DefaultLimits())
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		ms := sampleMembers()
		rng.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
		if got := Check(ms, DefaultLimits()); !reflect.DeepEqual(got, want) {
			t.Fatalf("results depend on member order:\n got %+v\nwant %+v", got, want)
		}
	}
}

func TestCheckDoesNotModifyMembers(t *testing.T) {
	ms := sampleMembers()
	Check(ms, DefaultLimits())
	if !reflect.DeepEqual(ms, sampleMembers()) {
		t.Error("Check changed its input")
	}
}

func TestMembersAnswered(t *testing.T) {
	runCheckCases(t, IDMembersAnswered, []checkCase{
		{name: "no members", status: preflight.Error, msg: []string{"no members"}},
		{name: "one member", members: members(1), status: preflight.Pass, msg: []string{"all 1 member answered"}},
		{name: "all answered", members: members(3), status: preflight.Pass, msg: []string{"all 3 members answered"}, obs: []string{"3 of 3"}},
		{
			name:    "one silent",
			members: []Member{mem("a"), {Name: "b.lab", Address: "10.0.0.2", Error: "query timed out after 10s"}, mem("c")},
			status:  preflight.Fail,
			msg:     []string{"1 member did not answer", "b (10.0.0.2): query timed out after 10s"},
			obs:     []string{"2 of 3 answered"},
			remedy:  []string{"systemctl status vmnode", "7946"},
		},
		{
			name:    "silent without a reason",
			members: []Member{mem("a"), silent("b", ""), silent("c", "")},
			status:  preflight.Fail,
			msg:     []string{"2 members did not answer", "b (unknown address): no answer", "c (unknown address): no answer"},
		},
		{name: "only silent", members: []Member{silent("a", "down")}, status: preflight.Fail, obs: []string{"0 of 1 answered"}},
	})
}

func TestHostnameUnique(t *testing.T) {
	runCheckCases(t, IDHostnameUnique, []checkCase{
		{name: "no members", status: preflight.Skip},
		{name: "one member", members: []Member{mem("a", addr("10.0.0.1"))}, status: preflight.Pass, msg: []string{"1 member"}},
		{name: "unique", members: []Member{mem("a", addr("10.0.0.1")), mem("b", addr("10.0.0.2"))}, status: preflight.Pass},
		{
			name:    "same name in another case",
			members: []Member{mem("node-1", addr("10.0.0.1")), mem("NODE-1", addr("10.0.0.2"))},
			status:  preflight.Fail,
			msg:     []string{`"NODE-1" (10.0.0.2)`, `"node-1" (10.0.0.1)`},
			remedy:  []string{"hostnamectl set-hostname"},
		},
		{
			name:    "same address",
			members: []Member{mem("a", addr("10.0.0.1")), mem("b", addr("10.0.0.1")), mem("c", addr("10.0.0.3"))},
			status:  preflight.Fail,
			msg:     []string{"address 10.0.0.1 used by a and b"},
			not:     []string{"c"},
		},
		{
			name:    "same address, IPv4-mapped",
			members: []Member{mem("a", addr("10.0.0.1")), mem("b", addr("::ffff:10.0.0.1"))},
			status:  preflight.Fail,
			msg:     []string{"address 10.0.0.1"},
		},
		{
			name:    "unknown addresses do not collide",
			members: []Member{mem("a"), mem("b"), silent("c", "down")},
			status:  preflight.Pass,
		},
		{
			name:    "a silent member still counts",
			members: []Member{mem("a", addr("10.0.0.1")), {Name: "A", Address: "10.0.0.9", Error: "down"}},
			status:  preflight.Fail,
		},
	})
}

func TestSize(t *testing.T) {
	n := func(k int) []Member { return members(k) }
	runCheckCases(t, IDSize, []checkCase{
		{name: "no members", status: preflight.Skip},
		{name: "1", members: n(1), status: preflight.Warn, msg: []string{"HA needs at least 3 hosts"}, remedy: []string{"join 2 more hosts"}},
		{name: "2", members: n(2), status: preflight.Warn, msg: []string{"HA needs at least 3 hosts"}, remedy: []string{"join 1 more host "}},
		{name: "3", members: n(3), status: preflight.Pass, msg: []string{"up to 1 offline"}},
		{name: "4", members: n(4), status: preflight.Warn, msg: []string{"an odd number of hosts is recommended", "with 4 hosts, losing 2 stops the cluster"}},
		{name: "5", members: n(5), status: preflight.Pass, msg: []string{"up to 2 offline"}},
		{name: "6", members: n(6), status: preflight.Warn, msg: []string{"with 6 hosts, losing 3"}},
		{name: "7", members: n(7), status: preflight.Pass, msg: []string{"up to 3 offline"}},
		{name: "8", members: n(8), status: preflight.Fail, msg: []string{"at most 7"}, remedy: []string{"1 member"}},
		{name: "9 is odd but too many", members: n(9), status: preflight.Fail, remedy: []string{"2 members"}},
		{name: "silent members count", members: append(n(2), silent("z", "down")), status: preflight.Pass},
		{name: "no HA minimum: 2 is even", members: n(2), lim: Limits{MaxHosts: 7}, status: preflight.Warn, msg: []string{"odd number"}},
		{name: "no limits: 1 is fine", members: n(1), lim: Limits{MaxTimeSkew: time.Second}, status: preflight.Pass},
		{name: "no maximum", members: n(9), lim: Limits{MinHAHosts: 3}, status: preflight.Pass},
	})
}

func TestOSFamily(t *testing.T) {
	deb := func(id string) func(*Member) { return family("debian", id) }
	rh := func(id string) func(*Member) { return family("rhel", id) }
	runCheckCases(t, IDOSFamily, []checkCase{
		{name: "no members", status: preflight.Skip},
		{name: "none answered", members: []Member{silent("a", "down")}, status: preflight.Skip},
		{name: "one member", members: []Member{mem("a", deb("ubuntu"))}, status: preflight.Pass, msg: []string{"debian-family"}},
		{
			name:    "one family, two distributions",
			members: []Member{mem("a", deb("ubuntu")), mem("b", deb("debian"))},
			status:  preflight.Pass,
			msg:     []string{"debian-family", "ubuntu", "debian"},
		},
		{name: "family case-insensitive", members: []Member{mem("a", rh("rocky")), mem("b", family("RHEL", "almalinux"))}, status: preflight.Pass},
		{
			name:    "mixed, a minority",
			members: []Member{mem("a", rh("almalinux")), mem("b", rh("rocky")), mem("c", deb("ubuntu"))},
			status:  preflight.Fail,
			msg:     []string{"rhel: a (almalinux), b (rocky)", "debian: c (ubuntu)"},
			remedy:  []string{"reinstall c with a rhel-family OS"},
		},
		{
			name:    "mixed, a tie",
			members: []Member{mem("a", rh("almalinux")), mem("b", deb("ubuntu"))},
			status:  preflight.Fail,
			remedy:  []string{"pick one OS family"},
		},
		{
			name:    "mixed with an unknown",
			members: []Member{mem("a", rh("almalinux")), mem("b", deb("ubuntu")), mem("c", family("", ""))},
			status:  preflight.Fail,
			msg:     []string{"unknown: c"},
		},
		{
			name:    "one unknown",
			members: []Member{mem("a", rh("almalinux")), mem("b", family("", "gentoo"))},
			status:  preflight.Warn,
			msg:     []string{"OS family unknown on b"},
			remedy:  []string{"/etc/os-release on b", "rhel, like the others"},
		},
		{
			name:    "all unknown",
			members: []Member{mem("a", family("", "")), mem("b", family(" ", ""))},
			status:  preflight.Warn,
			remedy:  []string{"debian or rhel"},
		},
		{
			name:    "silent members are left out",
			members: []Member{mem("a", rh("almalinux")), silent("b", "down")},
			status:  preflight.Pass,
		},
	})
}
