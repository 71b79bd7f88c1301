package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmnode/vmnode/tests/lab"
)

// TestAgentUnderSystemd runs the agent as packaging/vmnode-agent.service
// under real systemd (PID 1 of a systemd-nspawn container): READY and
// STATUS reach systemd, the watchdog is armed and fed, a hung agent is
// restarted by it, reload and stop work.
func TestAgentUnderSystemd(t *testing.T) {
	root := lab.Rootfs(t)
	install := func(rel string, data []byte, mode os.FileMode) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
	}
	bin, err := os.ReadFile(vmnodeBin)
	if err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile(filepath.Join(repoRoot(), "packaging", "vmnode-agent.service"))
	if err != nil {
		t.Fatal(err)
	}
	install("usr/bin/vmnode", bin, 0o755)
	install("etc/systemd/system/vmnode-agent.service", unit, 0o644)
	// A short watchdog, so the test sees it fire.
	install("etc/systemd/system/vmnode-agent.service.d/test.conf", []byte("[Service]\nWatchdogSec=2s\nRestartSec=100ms\n"), 0o644)
	install("etc/vmnode/vmnode.yaml", []byte("node:\n  name: ct1\npreflight:\n  offline: true\nagent:\n  bind: 127.0.0.1:7946\n"), 0o644)
	install("etc/vmnode/gossip.key", []byte(vmnode(t, "keygen").stdout), 0o600)

	c := lab.Boot(t, root)
	show := func() map[string]string {
		t.Helper()
		out, err := c.Exec("systemctl", "show", "-p", "ActiveState,SubState,StatusText,NRestarts,WatchdogUSec,MainPID,Result", "vmnode-agent.service")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			k, v, _ := strings.Cut(l, "=")
			m[k] = v
		}
		return m
	}
	start := time.Now()
	if out, err := c.Exec("systemctl", "start", "vmnode-agent.service"); err != nil {
		journal, _ := c.Exec("journalctl", "-u", "vmnode-agent", "--no-pager")
		t.Fatalf("start: %v %s\n%s", err, out, journal)
	}
	// Type=notify: start returns after READY=1.
	t.Logf("systemctl start (to READY) took %s", time.Since(start).Round(time.Millisecond))
	st := show()
	if st["ActiveState"] != "active" || st["WatchdogUSec"] != "2s" {
		t.Fatalf("after start: %v", st)
	}
	waitFor(t, "STATUS= with the quorum", 10*time.Second, func() bool {
		return strings.Contains(show()["StatusText"], "1/1 hosts alive, quorum; health")
	})

	// Four watchdog periods later it is still the same process: the pings
	// come through.
	pid := st["MainPID"]
	time.Sleep(8 * time.Second)
	if st := show(); st["ActiveState"] != "active" || st["NRestarts"] != "0" || st["MainPID"] != pid {
		t.Fatalf("the watchdog killed a healthy agent: %v", st)
	}
	if out, err := c.Exec("vmnode", "status"); err != nil || !strings.Contains(out, "Quorum:   yes (1/1 seen") {
		t.Fatalf("vmnode status in the container: %v\n%s", err, out)
	}

	// Reload goes through ExecReload (SIGHUP).
	if _, err := c.Exec("systemctl", "reload", "vmnode-agent.service"); err != nil {
		j, _ := c.Exec("journalctl", "-u", "vmnode-agent", "--no-pager")
		t.Fatalf("%v\n%s", err, j)
	}
	waitFor(t, "the reload in the journal", 10*time.Second, func() bool {
		j, _ := c.Exec("journalctl", "-u", "vmnode-agent", "--no-pager")
		return strings.Contains(j, "configuration reloaded")
	})

	// A hung agent stops feeding the watchdog: systemd kills and restarts it.
	if _, err := c.Exec("systemctl", "kill", "--signal=SIGSTOP", "--kill-whom=main", "vmnode-agent.service"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watchdog to restart the hung agent", 15*time.Second, func() bool {
		st := show()
		return st["NRestarts"] == "1" && st["ActiveState"] == "active" && st["MainPID"] != pid
	})

	// Stop: a graceful leave, a clean exit.
	if _, err := c.Exec("systemctl", "stop", "vmnode-agent.service"); err != nil {
		t.Fatal(err)
	}
	if st := show(); st["ActiveState"] != "inactive" || st["Result"] != "success" {
		t.Fatalf("after stop: %v", st)
	}
	if j, _ := c.Exec("journalctl", "-u", "vmnode-agent", "--no-pager"); !strings.Contains(j, "leaving the cluster") {
		t.Fatalf("no graceful leave in the journal:\n%s", j)
	}
}
