package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func write(t *testing.T, doc string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "vmnode.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrecedenceDefaultsFileEnvFlags(t *testing.T) {
	file := write(t, `
node:
  address: 10.0.0.1
preflight:
  profile: vmmanager-kvm
  timeout: 3s
  ntp_servers: [127.0.0.1:11123]
  ignore:
    - {id: cpu.arch, until: 2026-12-31, reason: lab box}
`)
	flags := pflag.NewFlagSet("t", pflag.ContinueOnError)
	flags.String("address", "", "")
	flags.String("profile", "vmnode", "")
	flags.Duration("timeout", 5*time.Second, "")
	bind := map[string]string{"node.address": "address", "preflight.profile": "profile", "preflight.timeout": "timeout"}
	t.Setenv("VMNODE_NODE_ADDRESS", "10.0.0.2")
	t.Setenv("VMNODE_LOG_LEVEL", "debug")
	t.Setenv("VMNODE_PREFLIGHT_NTP_SERVERS", "a:1,b:2")
	if err := flags.Parse([]string{"--timeout=9s"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(Options{File: file, Flags: flags, Bindings: bind})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Node.Address != "10.0.0.2" {
		t.Errorf("env should beat file: address %q", cfg.Node.Address)
	}
	if cfg.Preflight.Profile != "vmmanager-kvm" {
		t.Errorf("file should beat an unset flag's default: profile %q", cfg.Preflight.Profile)
	}
	if cfg.Preflight.Timeout != 9*time.Second {
		t.Errorf("a set flag should beat the file: timeout %s", cfg.Preflight.Timeout)
	}
	if cfg.Log.Level != "debug" || strings.Join(cfg.Preflight.NTPServers, " ") != "a:1 b:2" {
		t.Errorf("env: level %q servers %q", cfg.Log.Level, cfg.Preflight.NTPServers)
	}
	if len(cfg.Preflight.Ignore) != 1 || cfg.Preflight.Ignore[0].Until.Format(time.DateOnly) != "2026-12-31" {
		t.Errorf("waivers: %+v", cfg.Preflight.Ignore)
	}

	if err := flags.Parse([]string{"--address=10.0.0.3"}); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load(Options{File: file, Flags: flags, Bindings: bind})
	if err != nil || cfg.Node.Address != "10.0.0.3" {
		t.Errorf("flag should beat env: %q, %v", cfg.Node.Address, err)
	}
}

func TestDefaultsWithoutFile(t *testing.T) {
	cfg, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, statErr := os.Stat(DefaultFile); statErr == nil {
		t.Skip(DefaultFile + " exists on this machine")
	}
	if cfg.Preflight.Profile != "vmnode" || cfg.Preflight.Timeout != 5*time.Second || cfg.File != "" {
		t.Errorf("defaults: %+v", cfg)
	}
}

func TestBadConfigNamesFileLineKey(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"unknown key", "node:\n  adress: 10.0.0.1\n", `vmnode.yaml:2: key "node.adress": unknown key "adress"`},
		{"wrong type", "preflight:\n  timeout: soon\n", `vmnode.yaml:2: key "preflight.timeout"`},
		{"bad date", "preflight:\n  ignore:\n    - id: cpu.arch\n      until: next week\n", `vmnode.yaml:4: key "preflight.ignore.0.until": invalid date`},
		{"unknown check", "preflight:\n  ignore:\n    - id: cpu.warp\n", `vmnode.yaml:3: key "preflight.ignore.0.id": unknown check ID "cpu.warp"`},
		{"bad level", "log:\n  level: loud\n", `vmnode.yaml:2: key "log.level"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(Options{File: write(t, c.doc), KnownChecks: []string{"cpu.arch"}})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, c.want)
			}
		})
	}
	if _, err := Load(Options{File: "/nonexistent/vmnode.yaml"}); err == nil || !strings.Contains(err.Error(), "/nonexistent/vmnode.yaml") {
		t.Errorf("missing explicit file: %v", err)
	}
}

func TestHATimers(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, err := Load(Options{File: write("ha:\n  fence_timeout: 1s\n  skew: 250ms\n  failover_delay: 2500ms\n  watchdog: 1s\n  watchdog_device: /dev/watchdog\n")})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.HA.Timers("fast"); got.Predict() != 2750*time.Millisecond || got.Watchdog != time.Second {
		t.Fatalf("tuned timers: %+v (predict %v)", got, got.Predict())
	}
	if got := Defaults().HA.Timers("lan"); got.Validate() != nil || got.Predict() != 12*time.Second || got.Watchdog != 0 {
		t.Fatalf("default timers: %+v", got)
	}
	_, err = Load(Options{File: write("vm:\n  cpu_overcommit: 2\nha:\n  fence_timeout: 10s\n")})
	if err == nil || !strings.Contains(err.Error(), "c.yaml:4") || !strings.Contains(err.Error(), "ha.fence_timeout") || !strings.Contains(err.Error(), "failover_delay") {
		t.Fatalf("unsafe timers: want an error at c.yaml:4 naming ha.fence_timeout, got %v", err)
	}
}
