package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// These tests run real Serf agents on loopback addresses.

type node struct {
	*Cluster
	dir string
}

func freePort(t *testing.T, ip string) uint16 {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if u, err := net.ListenPacket("udp", fmt.Sprintf("%s:%d", ip, port)); err == nil {
			u.Close()
			return uint16(port)
		}
	}
	t.Fatal("no free port")
	return 0
}

func writeKey(t *testing.T, key string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gossip.key")
	if err := os.WriteFile(p, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func start(t *testing.T, name, ip, keyFile string, mod func(*Config)) *node {
	t.Helper()
	ap := netip.AddrPortFrom(netip.MustParseAddr(ip), freePort(t, ip))
	dir := t.TempDir()
	cfg := Config{Name: name, Bind: ap, Advertise: ap, DataDir: dir, Encrypt: keyFile != "", KeyFile: keyFile,
		Gossip: "fast", Limits: Limits{MaxHosts: 7}, Tags: Tags{Role: "hypervisor", OSFamily: "debian"},
		Log: slog.New(slog.DiscardHandler)}
	if testing.Verbose() {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("node", name)
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Shutdown() })
	return &node{Cluster: c, dir: dir}
}

func (n *node) addr() string { return n.cfg.Advertise.String() }

// waitFor polls until cond holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func alive(n *node) int {
	k := 0
	for _, m := range n.Members() {
		if m.Status == Alive {
			k++
		}
	}
	return k
}

func TestJoinEncryptedAndLeave(t *testing.T) {
	key, _ := GenerateKey()
	kf := writeKey(t, key)
	a := start(t, "a", "127.0.0.1", kf, nil)
	b := start(t, "b", "127.0.0.2", kf, nil)
	c := start(t, "c", "127.0.0.3", kf, nil)
	for _, n := range []*node{b, c} {
		if got, err := n.Join(context.Background(), []string{a.addr()}); err != nil || got != 1 {
			t.Fatalf("%s join: %d %v", n.cfg.Name, got, err)
		}
	}
	for _, n := range []*node{a, b, c} {
		waitFor(t, n.cfg.Name+" to see 3 alive", 5*time.Second, func() bool { return alive(n) == 3 })
		waitFor(t, n.cfg.Name+" to count a quorum of 3", 5*time.Second, func() bool {
			q := n.Quorum()
			return q.Seen == 3 && q.Hosts == 3 && q.Has()
		})
	}
	// Tags travel.
	if m := a.Members(); m[1].Tags.OSFamily != "debian" || !m[1].Tags.Quorate {
		t.Fatalf("b's tags as a sees them: %+v", m[1].Tags)
	}
	// The keyring was persisted for restarts, 0600.
	if fi, err := os.Stat(filepath.Join(a.dir, "serf", "keyring")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keyring file: %v %v", fi, err)
	}

	// A graceful leave: the others see "left", and it no longer counts.
	if err := c.Leave(); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
	waitFor(t, "a to see c left", 5*time.Second, func() bool {
		for _, m := range a.Members() {
			if m.Name == "c" {
				return m.Status == Left
			}
		}
		return false
	})
	waitFor(t, "a to count 2 hosts", 5*time.Second, func() bool { q := a.Quorum(); return q.Hosts == 2 && q.Has() })
}

func TestWrongKeyCannotJoin(t *testing.T) {
	k1, _ := GenerateKey()
	k2, _ := GenerateKey()
	a := start(t, "a", "127.0.0.1", writeKey(t, k1), nil)
	intruder := start(t, "x", "127.0.0.2", writeKey(t, k2), nil)
	plain := start(t, "p", "127.0.0.3", "", nil)
	for _, n := range []*node{intruder, plain} {
		_, err := n.Join(context.Background(), []string{a.addr()})
		if err == nil || !strings.Contains(err.Error(), "gossip key") {
			t.Fatalf("%s joined an encrypted cluster it has no key for: %v", n.cfg.Name, err)
		}
	}
	time.Sleep(300 * time.Millisecond) // a few probe rounds: nobody sneaks in by gossip
	if got := len(a.Members()); got != 1 {
		t.Fatalf("a has %d members: %+v", got, a.Members())
	}
}

func TestAdmissionRefusalsOverGossip(t *testing.T) {
	key, _ := GenerateKey()
	kf := writeKey(t, key)
	limit2 := func(c *Config) { c.Limits.MaxHosts = 2 }
	a := start(t, "a", "127.0.0.1", kf, limit2)
	b := start(t, "b", "127.0.0.2", kf, limit2)
	if _, err := b.Join(context.Background(), []string{a.addr()}); err != nil {
		t.Fatal(err)
	}
	// Admission judges what the contacted member knows: let it learn b first.
	waitFor(t, "a to count b", 5*time.Second, func() bool { return alive(a) == 2 })
	tests := []struct {
		name, ip, family, want string
	}{
		{"c", "127.0.0.3", "debian", "would grow to 3 hosts, over its limit of 2"},
		{"b", "127.0.0.4", "debian", "a host named b is already a member"},
	}
	for _, tt := range tests {
		n := start(t, tt.name, tt.ip, kf, func(c *Config) { c.Tags.OSFamily = tt.family })
		_, err := n.Join(context.Background(), []string{a.addr()})
		var r *RefusedError
		if !errors.As(err, &r) || !strings.Contains(err.Error(), tt.want) {
			t.Fatalf("%s: got %v, want refusal %q", tt.name, err, tt.want)
		}
		if got := len(n.Members()); got != 1 {
			t.Fatalf("refused %s still merged %d members", tt.name, got)
		}
	}
	// A different OS family is refused even with room.
	d := start(t, "d", "127.0.0.5", kf, func(c *Config) { c.Tags.OSFamily = "rhel"; c.Limits.MaxHosts = 7 })
	if _, err := d.Join(context.Background(), []string{a.addr()}); err == nil || !strings.Contains(err.Error(), "mixed OS families") {
		t.Fatalf("rhel host joined a debian cluster: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	if got := len(a.Members()); got != 2 {
		t.Fatalf("the cluster took in a refused host: %+v", a.Members())
	}
}

func TestUnreachableSeed(t *testing.T) {
	a := start(t, "a", "127.0.0.1", "", nil)
	port := freePort(t, "127.0.0.9")
	_, err := a.Join(context.Background(), []string{fmt.Sprintf("127.0.0.9:%d", port)})
	if err == nil || !strings.Contains(err.Error(), "cannot join 127.0.0.9") {
		t.Fatalf("join of a dead address: %v", err)
	}
	// No port: the default gossip port (nothing listens on it here).
	if _, err := a.Join(context.Background(), []string{"127.0.0.9"}); err == nil || !strings.Contains(err.Error(), "cannot join 127.0.0.9") {
		t.Fatalf("join without a port: %v", err)
	}
	// A malformed address fails before any lookup (a name would query the
	// machine's resolver: tests send nothing off loopback).
	if _, err := a.Join(context.Background(), []string{"127.0.0.9:notaport"}); err == nil || !strings.Contains(err.Error(), "127.0.0.9:notaport") {
		t.Fatalf("join of a malformed address: %v", err)
	}
}
