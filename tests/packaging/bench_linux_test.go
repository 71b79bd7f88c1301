package packaging

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vmnode/vmnode/tests/lab"
)

// Measurement is what TestBenchInstall reports to tests/bench/packages.
type Measurement struct {
	Deps                int             `json:"deps"`                   // dependencies installed with vmnode
	Agent               bool            `json:"agent"`                  // the agent could be started
	InstallWithDeps     time.Duration   `json:"install_with_deps"`      // apt-get install vmnode and its dependencies
	InstallToActiveDeps time.Duration   `json:"install_to_active_deps"` // the same, then configure and start: active
	Install             time.Duration   `json:"install"`                // apt-get install vmnode, dependencies present
	InstallToActive     time.Duration   `json:"install_to_active"`      // the same, then configure and start: active
	StartWall           []time.Duration `json:"start_wall"`             // systemctl start, which returns on READY=1
	ExecToReady         []time.Duration `json:"exec_to_ready"`          // exec of the agent to READY=1, as systemd saw it
}

// TestBenchInstall measures installing and starting the .deb named by
// VMNODE_BENCH_DEB in a booted Debian 12 container, and writes the
// Measurement as JSON to VMNODE_BENCH_OUT. It is run by tests/bench/packages
// (make bench) and skips otherwise. VMNODE_BENCH_RUNS (default 5) is how
// many times the agent is restarted for the start-to-READY figures.
func TestBenchInstall(t *testing.T) {
	outFile, deb := os.Getenv("VMNODE_BENCH_OUT"), os.Getenv("VMNODE_BENCH_DEB")
	if outFile == "" || deb == "" {
		t.Skip("run by tests/bench/packages (make bench): needs VMNODE_BENCH_OUT and VMNODE_BENCH_DEB")
	}
	runs := 5
	if n, err := strconv.Atoi(os.Getenv("VMNODE_BENCH_RUNS")); err == nil && n > 0 {
		runs = n
	}
	root := lab.Rootfs(t)
	deps := debCache(t, root, "vmnode-deps", deb)
	stage(t, root, "", deb)
	stageDebs(t, root, "deps", deps)
	x := box{t, lab.Boot(t, root)}
	var m Measurement
	debs, _ := filepath.Glob(filepath.Join(deps, "*.deb"))
	m.Deps = len(debs)
	install := apt + "./" + filepath.Base(deb)

	// toActive configures and starts the agent, when this vmnode has one.
	toActive := func() bool {
		if !x.hasAgent() {
			return false
		}
		x.configureAgent()
		x.startAgent()
		return true
	}

	start := time.Now()
	x.sh(install + " ./deps/*.deb")
	m.InstallWithDeps = time.Since(start)
	m.Agent = toActive()
	if m.Agent {
		m.InstallToActiveDeps = time.Since(start)
	}

	x.sh("dpkg --purge vmnode")
	start = time.Now()
	x.sh(install)
	m.Install = time.Since(start)
	if toActive() {
		m.InstallToActive = time.Since(start)
		for range runs {
			x.sh("systemctl stop " + unit)
			wall, ready := x.startAgent()
			m.StartWall = append(m.StartWall, wall)
			m.ExecToReady = append(m.ExecToReady, ready)
		}
	}

	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
