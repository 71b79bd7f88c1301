package packaging

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// build is one build of the packages.
type build struct {
	Version string
	Deb     string // path of the .deb
	RPM     string // path of the .rpm
}

// The two builds the tests install, upgrade from and to. The second ships a
// different default configuration, so an upgrade over an edited one has a
// new default to save beside it.
const (
	versionA = "0.1.0"
	versionB = "0.1.1"
)

var (
	buildOnce sync.Once
	builds    [2]build
	buildErr  error
	distDir   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if distDir != "" {
		os.RemoveAll(distDir)
	}
	os.Exit(code)
}

// packages builds both versions once per test binary with packaging/build.sh,
// as `make packages` does.
func packages(t testing.TB) (a, b build) {
	t.Helper()
	buildOnce.Do(func() {
		distDir, buildErr = os.MkdirTemp("", "vmnode-packages")
		if buildErr != nil {
			return
		}
		changed := filepath.Join(distDir, "vmnode.yaml")
		def, err := os.ReadFile(filepath.Join(repoRoot(t), "packaging", "vmnode.yaml"))
		if err != nil {
			buildErr = err
			return
		}
		def = append(def, "\n# "+versionB+": a changed default, for the upgrade tests.\n"...)
		if buildErr = os.WriteFile(changed, def, 0o644); buildErr != nil {
			return
		}
		for i, v := range []string{versionA, versionB} {
			var env []string
			if v == versionB {
				env = []string{"VMNODE_DEFAULT_CONFIG=" + changed}
			}
			if builds[i], buildErr = buildPackages(t, filepath.Join(distDir, v), v, env...); buildErr != nil {
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatalf("build the packages: %v", buildErr)
	}
	return builds[0], builds[1]
}

// buildPackages runs packaging/build.sh -o dir -v version.
func buildPackages(t testing.TB, dir, version string, env ...string) (build, error) {
	start := time.Now()
	// sh -x: when it fails, the trace says which step did.
	cmd := exec.Command("sh", "-x", filepath.Join(repoRoot(t), "packaging", "build.sh"), "-o", dir, "-v", version)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return build{}, fmt.Errorf("packaging/build.sh -v %s: %w\n%s", version, err, tail(stderr.String(), 40))
	}
	b := build{Version: version}
	for _, f := range strings.Fields(stdout.String()) {
		switch filepath.Ext(f) {
		case ".deb":
			b.Deb = f
		case ".rpm":
			b.RPM = f
		}
	}
	if b.Deb == "" || b.RPM == "" {
		return b, fmt.Errorf("packaging/build.sh -v %s printed %q: want the .deb and the .rpm", version, stdout.String())
	}
	t.Logf("built %s and %s in %s", filepath.Base(b.Deb), filepath.Base(b.RPM), time.Since(start).Round(time.Millisecond))
	return b, nil
}

// run runs a command on this machine and returns its standard output.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := runErr(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func runErr(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// runCombined runs a command and returns its standard output and error together.
func runCombined(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return string(out), nil
}

func requireTool(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found; run tests/install-deps.sh", tool)
		}
	}
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
