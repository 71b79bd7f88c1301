// Package demo is `make demo`: a 3-host cluster in the lab (network
// namespaces on a private bridge, nothing leaves this machine), driven with
// the CLI the way an operator would, printed as it goes.
package demo

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vmnode/vmnode/tests/lab"
)

func TestDemo(t *testing.T) {
	if os.Getenv("VMNODE_DEMO") == "" {
		t.Skip("run with `make demo`")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "vmnode")
	_, file, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-o", bin, "./cmd/vmnode")
	build.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	run := func(config string, args ...string) {
		shown := append([]string{"vmnode"}, args...)
		fmt.Printf("\n$ %s\n", strings.Join(shown, " "))
		cmd := exec.Command(bin, append([]string{"--config", config}, args...)...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
		_ = cmd.Run()
	}

	net := lab.NewNet(t, 3)
	key, _ := exec.Command(bin, "keygen").Output()
	keyFile := filepath.Join(dir, "gossip.key")
	os.WriteFile(keyFile, key, 0o600)
	fmt.Printf("lab: 3 hosts on %s, one gossip key (vmnode keygen)\n", net.Prefix())

	var configs []string
	var hosts []*lab.Host
	for i, h := range net.Hosts() {
		d := filepath.Join(dir, h.Name)
		os.MkdirAll(d, 0o700)
		cfg := filepath.Join(d, "vmnode.yaml")
		os.WriteFile(cfg, []byte(fmt.Sprintf("node: {name: node%d}\npreflight: {offline: true}\nagent:\n  bind: %s:7946\n  data_dir: %s\n  key_file: %s\n  socket: %s/agent.sock\n  gossip: fast\n", i+1, h.Addr, d, keyFile, d)), 0o600)
		h.Start(t, bin, "agent", "--config", cfg)
		configs, hosts = append(configs, cfg), append(hosts, h)
	}
	time.Sleep(500 * time.Millisecond)
	for i := 1; i < 3; i++ {
		run(configs[i], "join", "--skip-provision", "--offline", "--ignore-preflight-errors", "all", hosts[0].Addr.String())
	}
	time.Sleep(500 * time.Millisecond)
	run(configs[0], "members")
	run(configs[0], "status")
	run(configs[0], "preflight", "--cluster")

	fmt.Printf("\n# node3 dies (its agent is killed and its link cut)\n")
	hosts[2].Kill()
	net.Cut(hosts[2])
	time.Sleep(2 * time.Second)
	run(configs[0], "members")
	run(configs[0], "status")

	fmt.Printf("\n# node1 is cut off too: it sees 1 host of 3 and loses quorum\n")
	net.Cut(hosts[0])
	time.Sleep(2 * time.Second)
	run(configs[0], "status")
	net.Restore(hosts[0])
	time.Sleep(3 * time.Second)
	fmt.Printf("\n# node1's link is back\n")
	run(configs[0], "status")
}
