package packaging

import (
	"path/filepath"
	"runtime"
	"testing"
)

// repoRoot is the top of the repository (where nfpm.yaml is).
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}
