package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUpdateKeepsCommentsAndOtherKeys(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "vmnode.yaml")
	orig := "# vmnode configuration\nnode:\n  name: h1 # this host\nagent:\n  # where to gossip\n  bind: 10.0.0.1:7946\n  join: [10.0.0.9]\n"
	if err := os.WriteFile(file, []byte(orig), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Update(file, map[string]any{"agent.join": []string{"10.0.0.2", "10.0.0.3:7947"}, "cluster.max_hosts": 5}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(file)
	for _, want := range []string{"# vmnode configuration", "name: h1 # this host", "# where to gossip", "bind: 10.0.0.1:7946", "- 10.0.0.2", "- 10.0.0.3:7947", "max_hosts: 5"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(string(got), "10.0.0.9") {
		t.Errorf("old join list kept:\n%s", got)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	cfg, err := Load(Options{File: file})
	if err != nil || len(cfg.Agent.Join) != 2 || cfg.Cluster.MaxHosts != 5 || cfg.Node.Name != "h1" {
		t.Fatalf("reloaded: %+v %v", cfg.Agent, err)
	}
}

func TestUpdateCreatesAndRefusesBreakage(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "new.yaml")
	if err := Update(file, map[string]any{"agent.join": []string{"h2"}}); err != nil {
		t.Fatal(err)
	}
	if cfg, err := Load(Options{File: file}); err != nil || cfg.Agent.Join[0] != "h2" {
		t.Fatalf("created file: %+v %v", cfg.Agent, err)
	}
	// A comments-only file (as the package ships it) loads, and gets a mapping.
	commented := filepath.Join(dir, "commented.yaml")
	os.WriteFile(commented, []byte("# all defaults\n# agent:\n#   join: []\n"), 0o644)
	if cfg, err := Load(Options{File: commented}); err != nil || cfg.Agent.Bind != Defaults().Agent.Bind {
		t.Fatalf("comments-only file: %+v %v", cfg.Agent, err)
	}
	if err := Update(commented, map[string]any{"agent.join": []string{"h3"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(commented); !strings.Contains(string(got), "# all defaults") || !strings.Contains(string(got), "- h3") {
		t.Fatalf("commented file:\n%s", got)
	}
	before, _ := os.ReadFile(file)
	if err := Update(file, map[string]any{"agent.no_such_key": 1}); err == nil || !strings.Contains(err.Error(), "no_such_key") {
		t.Fatalf("unknown key written: %v", err)
	}
	if after, _ := os.ReadFile(file); string(after) != string(before) {
		t.Fatal("a refused edit changed the file")
	}
}

func TestJoinAddress(t *testing.T) {
	for in, want := range map[string]string{"10.0.0.1": "10.0.0.1:7946", "10.0.0.1:8000": "10.0.0.1:8000", "h1": "h1:7946", "[fd00::1]:7946": "[fd00::1]:7946", "fd00::1": "[fd00::1]:7946"} {
		if got, err := JoinAddress(in); err != nil || got != want {
			t.Errorf("JoinAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "10.0.0.1:", "10.0.0.1:99999", "10.0.0.1:ssh", "a b", ":7946", "gg::1"} {
		if _, err := JoinAddress(bad); err == nil {
			t.Errorf("JoinAddress(%q) accepted", bad)
		}
	}
}
