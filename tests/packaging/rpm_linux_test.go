package packaging

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmnode/vmnode/tests/lab"
)

// TestRPMRoot installs the .rpm with rpm --root --nodeps into a copy of a
// root (no RPM-based root is reachable here; Debian's rpm stands in),
// upgrades it over an edited configuration and erases it. The scriptlets
// run, chrooted, and succeed; without systemd they change nothing.
func TestRPMRoot(t *testing.T) {
	requireTool(t, "rpm")
	a, b := packages(t)
	root := lab.Rootfs(t)
	scriptlets := func(out string, nevra string, names ...string) {
		t.Helper()
		for _, s := range names {
			if !strings.Contains(out, "D: %"+s+"("+nevra+"): scriptlet start") {
				t.Errorf("%%%s of %s did not run", s, nevra)
			}
		}
		if strings.Contains(out, "scriptlet failed") {
			t.Errorf("a scriptlet failed:\n%s", out)
		}
	}
	nevra := func(b build) string { return "vmnode-" + b.Version + "-1.x86_64" }
	run(t, "rpm", "--root", root, "--initdb")

	scriptlets(rpmOut(t, root, "-ivh", a.RPM), nevra(a), "post")
	for path, mode := range wantFiles {
		fi, err := os.Lstat(filepath.Join(root, path))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if got := fi.Mode().String(); got != mode {
			t.Errorf("%s: %s, want %s", path, got, mode)
		}
	}
	if _, err := os.Lstat(filepath.Join(root, "etc/systemd/system/multi-user.target.wants", unit)); err == nil {
		t.Error("the post scriptlet enabled the agent where systemd is not running")
	}

	conf := filepath.Join(root, "etc/vmnode/vmnode.yaml")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\n# Local settings (tests/packaging).\nnode:\n  address: 127.0.0.1\n")
	f.Close()
	edited, _ := os.ReadFile(conf)

	out := rpmOut(t, root, "-Uvh", b.RPM)
	scriptlets(out, nevra(b), "post")
	scriptlets(out, nevra(a), "preun", "postun")
	if got, _ := os.ReadFile(conf); string(got) != string(edited) {
		t.Errorf("the upgrade replaced the edited vmnode.yaml:\n%s", got)
	}
	if got, err := os.ReadFile(conf + ".rpmnew"); err != nil || !strings.Contains(string(got), b.Version+": a changed default") {
		t.Errorf("the new default is not beside it as vmnode.yaml.rpmnew: %v", err)
	}
	if got := strings.TrimSpace(run(t, "rpm", "--root", root, "-q", "vmnode")); !strings.HasSuffix(got, nevra(b)) {
		t.Errorf("rpm -q vmnode: %s", got)
	}

	scriptlets(rpmOut(t, root, "-e", "vmnode"), nevra(b), "preun", "postun")
	for _, p := range []string{"usr/bin/vmnode", "usr/lib/systemd/system/vmnode-agent.service"} {
		if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
			t.Errorf("/%s is left after rpm -e", p)
		}
	}
	if got, _ := os.ReadFile(conf + ".rpmsave"); string(got) != string(edited) {
		t.Errorf("rpm -e did not save the edited configuration as vmnode.yaml.rpmsave")
	}
}

// rpmOut runs rpm --root ROOT -vv --nodeps --force-debian args and returns
// its output with the debug lines: -vv logs each scriptlet's start and exit.
func rpmOut(t *testing.T, root string, args ...string) string {
	t.Helper()
	out, err := runCombined("rpm", append([]string{"--root", root, "-vv", "--nodeps", "--force-debian"}, args...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, tail(out, 30))
	}
	return out
}

// TestRPMUnderSystemd installs the .rpm (with Debian's rpm, --nodeps) in a
// booted container: the agent is enabled, not started; an upgrade keeps an
// edited config, saves the new default as .rpmnew and restarts a running
// agent; erasing it stops and disables the agent.
func TestRPMUnderSystemd(t *testing.T) {
	t.Parallel()
	requireTool(t, "rpm")
	a, b := packages(t)
	root := lab.Rootfs(t)
	rpmDebs := debCache(t, root, "rpm", "rpm")
	stage(t, root, "", a.RPM, b.RPM)
	stageDebs(t, root, "rpm", rpmDebs)
	x := box{t, lab.Boot(t, root)}
	x.sh(apt + "./rpm/*.deb && rpm --initdb")
	const rpm = "rpm --nodeps --force-debian "

	x.sh(rpm + "-ivh ./" + filepath.Base(a.RPM))
	if got := strings.TrimSpace(x.sh("systemctl is-enabled " + unit)); got != "enabled" {
		t.Errorf("after install the agent is %s, want enabled", got)
	}
	if got := x.show("ActiveState"); got != "inactive" {
		t.Errorf("after install the agent is %s, want inactive", got)
	}

	agent := x.hasAgent()
	if agent {
		x.configureAgent()
		wall, ready := x.startAgent()
		t.Logf("systemctl start: %s; exec to READY=1: %s", wall.Round(time.Millisecond), ready.Round(time.Millisecond))
	} else {
		x.editConfig()
		t.Log("this vmnode has no agent command yet: the restart on upgrade is not checked")
	}
	edited := x.sh("cat /etc/vmnode/vmnode.yaml")
	before := x.show("MainPID")

	x.sh(rpm + "-Uvh ./" + filepath.Base(b.RPM))
	if got := x.sh("cat /etc/vmnode/vmnode.yaml"); got != edited {
		t.Errorf("the upgrade replaced the edited vmnode.yaml")
	}
	if _, err := x.try("grep -q '" + b.Version + ": a changed default' /etc/vmnode/vmnode.yaml.rpmnew"); err != nil {
		t.Errorf("no vmnode.yaml.rpmnew with the new default: %v", err)
	}
	if got := strings.TrimSpace(x.sh("systemctl is-enabled " + unit)); got != "enabled" {
		t.Errorf("after the upgrade the agent is %s, want enabled", got)
	}
	if agent {
		waitFor(t, "the agent restarted", 30*time.Second, func() bool {
			return x.show("ActiveState") == "active" && x.show("MainPID") != before
		})
	} else if got := x.show("ActiveState"); got != "inactive" {
		t.Errorf("the upgrade started a stopped agent: %s", got)
	}

	x.sh("rpm -e vmnode")
	if got := x.show("ActiveState"); got != "inactive" {
		t.Errorf("after rpm -e the agent is %s, want inactive", got)
	}
	if _, err := x.try("test ! -e /etc/systemd/system/multi-user.target.wants/" + unit + " && test ! -L /etc/systemd/system/multi-user.target.wants/" + unit); err != nil {
		t.Errorf("after rpm -e the agent is still enabled")
	}
	if _, err := x.try("test -f /etc/vmnode/vmnode.yaml.rpmsave"); err != nil {
		t.Errorf("rpm -e did not keep the edited config as vmnode.yaml.rpmsave")
	}
}
