// Package e2e runs the built vmnode binary the way an operator does and
// checks what they would see: output, files and exit codes.
package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vmnode/vmnode/tests/lab"
)

var vmnodeBin string

func TestMain(m *testing.M) {
	bin, remove, err := lab.BuildVMNode()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	vmnodeBin = bin
	code := m.Run()
	remove()
	os.Exit(code)
}

func repoRoot() string { return lab.Root() }

// tree is the path of a fixture host tree.
func tree(name string) string {
	return filepath.Join(repoRoot(), "preflight", "checks", "testdata", "hosts", name)
}

type result struct {
	stdout, stderr string
	code           int
}

// vmnode runs the binary with args, an empty environment for VMNODE_*, and
// a config file that does not exist unless the test passes --config.
func vmnode(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(vmnodeBin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NO_COLOR=1"}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run vmnode %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}
