// Command packages benchmarks the vmnode packages (make bench): it builds
// the .deb and the .rpm with packaging/build.sh and prints their sizes
// against the target (.deb under 15 MB), then, as root, has
// tests/packaging's TestBenchInstall install the .deb in a booted Debian 12
// systemd-nspawn container and prints the install, install-to-active and
// agent start-to-READY times. Timing never fails the run; a failed build or
// measurement does.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

const debTarget = 15 << 20

// measurement mirrors tests/packaging.Measurement.
type measurement struct {
	Deps                int             `json:"deps"`
	Agent               bool            `json:"agent"`
	InstallWithDeps     time.Duration   `json:"install_with_deps"`
	InstallToActiveDeps time.Duration   `json:"install_to_active_deps"`
	Install             time.Duration   `json:"install"`
	InstallToActive     time.Duration   `json:"install_to_active"`
	StartWall           []time.Duration `json:"start_wall"`
	ExecToReady         []time.Duration `json:"exec_to_ready"`
}

func main() {
	runs := flag.Int("runs", 5, "agent restarts for the start-to-READY figures")
	flag.Parse()
	if err := run(*runs); err != nil {
		fmt.Fprintln(os.Stderr, "bench/packages:", err)
		os.Exit(1)
	}
}

func run(runs int) error {
	repo, err := repoRoot()
	if err != nil {
		return err
	}
	dist, err := os.MkdirTemp("", "vmnode-bench-packages")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dist)

	start := time.Now()
	build := exec.Command(filepath.Join(repo, "packaging", "build.sh"), "-o", dist)
	build.Stderr = os.Stderr
	out, err := build.Output()
	if err != nil {
		return fmt.Errorf("packaging/build.sh: %w", err)
	}
	buildTime := time.Since(start)
	var deb, rpm string
	for _, f := range strings.Fields(string(out)) {
		switch filepath.Ext(f) {
		case ".deb":
			deb = f
		case ".rpm":
			rpm = f
		}
	}

	fmt.Printf("vmnode packages (built in %s)\n", buildTime.Round(100*time.Millisecond))
	for _, f := range []string{deb, rpm} {
		fi, err := os.Stat(f)
		if err != nil {
			return err
		}
		verdict := ""
		if f == deb {
			verdict = "target < 15 MB: ok"
			if fi.Size() >= debTarget {
				verdict = "target < 15 MB: OVER"
			}
		}
		fmt.Printf("  %-44s %6.1f MB  %s\n", filepath.Base(f), mb(fi.Size()), verdict)
	}

	if os.Geteuid() != 0 {
		fmt.Println("install and start times: skipped (the container needs root)")
		return nil
	}
	result := filepath.Join(dist, "measurement.json")
	test := exec.Command("go", "test", "-count=1", "-run", "^TestBenchInstall$", "-timeout", "15m", "./tests/packaging")
	test.Dir = repo
	test.Env = append(os.Environ(), "VMNODE_BENCH_OUT="+result, "VMNODE_BENCH_DEB="+deb, "VMNODE_BENCH_RUNS="+strconv.Itoa(runs))
	if out, err := test.CombinedOutput(); err != nil {
		return fmt.Errorf("measure in a container (go test -run TestBenchInstall ./tests/packaging): %w\n%s", err, out)
	}
	b, err := os.ReadFile(result)
	if err != nil {
		return fmt.Errorf("no measurement (was the test skipped?): %w", err)
	}
	var m measurement
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}

	fmt.Printf("install in a Debian 12 container under systemd (%d dependencies, from local files)\n", m.Deps)
	fmt.Printf("  %-44s %8s\n", "install with dependencies", sec(m.InstallWithDeps))
	if m.Agent {
		fmt.Printf("  %-44s %8s\n", "install-to-active with dependencies", sec(m.InstallToActiveDeps))
	}
	fmt.Printf("  %-44s %8s\n", "install, dependencies present", sec(m.Install))
	if !m.Agent {
		fmt.Println("  install-to-active, start-to-READY: skipped (this vmnode has no agent command)")
		return nil
	}
	fmt.Printf("  %-44s %8s\n", "install-to-active, dependencies present", sec(m.InstallToActive))
	fmt.Printf("agent start-to-READY (median of %d starts)\n", len(m.StartWall))
	fmt.Printf("  %-44s %8s\n", "systemctl start (returns on READY=1)", ms(median(m.StartWall)))
	fmt.Printf("  %-44s %8s\n", "exec to READY=1, as systemd recorded it", ms(median(m.ExecToReady)))
	return nil
}

// repoRoot is the directory holding nfpm.yaml, from the working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "nfpm.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no nfpm.yaml in the working directory or above: run from the repository")
		}
		dir = parent
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func mb(n int64) float64         { return float64(n) / (1 << 20) }
func sec(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }
func ms(d time.Duration) string  { return fmt.Sprintf("%d ms", d.Milliseconds()) }
