package checktest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/profiles"
)

// Profile loads the built-in profile name, with no local profiles.
func Profile(t testing.TB, name string) *profiles.Profile {
	t.Helper()
	p, err := profiles.Load(name, profiles.Options{LocalDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Run runs the check id among checks against h. It fails the test when there
// is no such check, and checks the contract every check keeps: a warn or a
// fail says what was observed and how to fix it.
func Run(t testing.TB, checks []preflight.Check, id string, h *host.Host) preflight.Result {
	t.Helper()
	for _, c := range checks {
		if c.ID() != id {
			continue
		}
		r := c.Run(context.Background(), h)
		if (r.Status == preflight.Warn || r.Status == preflight.Fail) && (r.Observed == "" || r.Remediation == "") {
			t.Errorf("%s %s without Observed/Remediation: %+v", id, r.Status, r)
		}
		return r
	}
	t.Fatalf("no check %s", id)
	return preflight.Result{}
}

// RunOnly is Run for an area with a single check: checks must be exactly the
// check id, with a title.
func RunOnly(t testing.TB, checks []preflight.Check, id string, h *host.Host) preflight.Result {
	t.Helper()
	if len(checks) != 1 || checks[0].ID() != id || checks[0].Title() == "" {
		t.Fatalf("Checks = %v", checks)
	}
	return Run(t, checks, id, h)
}

// WriteTree writes files (path relative to the root: content) into a new
// temporary directory and returns it. A content "@target" makes a symlink to
// target instead.
func WriteTree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(content, "@"); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// MessageContains reports each of subs that r's message lacks.
func MessageContains(t testing.TB, r preflight.Result, subs []string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(r.Message, s) {
			t.Errorf("message %q does not contain %q", r.Message, s)
		}
	}
}
