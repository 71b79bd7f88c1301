package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Root is the repository's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// BuildVMNode builds the vmnode binary (static, CGO off) into a temporary
// directory, for a TestMain; remove deletes it.
func BuildVMNode() (bin string, remove func(), err error) {
	dir, err := os.MkdirTemp("", "vmnode-bin")
	if err != nil {
		return "", nil, err
	}
	bin = filepath.Join(dir, "vmnode")
	build := exec.Command("go", "build", "-o", bin, "./cmd/vmnode")
	build.Dir = Root()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("build vmnode: %w\n%s", err, out)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}
