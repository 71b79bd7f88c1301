package api

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/preflight/cluster"
)

type fake struct{ joined []string }

func (f *fake) Status(context.Context) (Status, error) {
	return Status{Node: "h1", Quorum: Quorum{Seen: 2, Needed: 2, Hosts: 3, Has: true}}, nil
}
func (f *fake) Members(context.Context) ([]Member, error) { return []Member{{Name: "h1"}}, nil }
func (f *fake) Join(_ context.Context, r JoinRequest) (JoinResponse, error) {
	if r.Addrs[0] == "full" {
		return JoinResponse{}, UserError{errors.New("join refused: the cluster would grow to 8 hosts")}
	}
	f.joined = r.Addrs
	return JoinResponse{Joined: 1, Members: 2}, nil
}
func (f *fake) ForceLeave(context.Context, ForceLeaveRequest) error { return errors.New("boom") }
func (f *fake) Keys(context.Context, KeyRequest) (KeyResponse, error) {
	return KeyResponse{Keys: map[string]int{"k": 3}}, nil
}
func (f *fake) ClusterPreflight(context.Context, ClusterPreflightRequest) (*cluster.Report, error) {
	return &cluster.Report{Profile: "vmnode"}, nil
}
func (f *fake) Reload(context.Context) error { return nil }
func (f *fake) VM(_ context.Context, r VMRequest) (VMResponse, error) {
	if r.Name == "" {
		return VMResponse{}, UserError{errors.New("which VM? give its name")}
	}
	return VMResponse{VM: &VM{Name: r.Name, State: "running"}}, nil
}
func (f *fake) Images(context.Context) (ImagesResponse, error)          { return ImagesResponse{}, nil }
func (f *fake) Host(context.Context, HostRequest) (HostResponse, error) { return HostResponse{}, nil }
func (f *fake) HA(context.Context) (HAStatus, error)                    { return HAStatus{}, nil }

func TestSocketRoundTripAndErrors(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the API serves root only")
	}
	dir := filepath.Join(t.TempDir(), "run")
	path := filepath.Join(dir, "agent.sock")
	// A stale socket file from a crashed agent is replaced.
	os.MkdirAll(dir, 0o700)
	os.WriteFile(path, nil, 0o600)
	f := &fake{}
	srv, err := Listen(path, f, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	defer srv.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want 0600", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket dir mode %v, want 0700", fi.Mode().Perm())
	}
	// A second server on the same socket is refused; the first keeps serving.
	if _, err := Listen(path, f, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "already serving") {
		t.Fatalf("second listen: %v", err)
	}

	c := NewClient(path)
	ctx := context.Background()
	st, err := c.Status(ctx)
	if err != nil || st.Node != "h1" || !st.Quorum.Has {
		t.Fatalf("status: %+v %v", st, err)
	}
	if r, err := c.Join(ctx, JoinRequest{Addrs: []string{"10.0.0.1:7946"}}); err != nil || r.Joined != 1 || f.joined[0] != "10.0.0.1:7946" {
		t.Fatalf("join: %+v %v", r, err)
	}
	// Errors come back as the backend's message, nothing else.
	if _, err := c.Join(ctx, JoinRequest{Addrs: []string{"full"}}); err == nil || err.Error() != "join refused: the cluster would grow to 8 hosts" {
		t.Fatalf("refused join: %v", err)
	}
	if err := c.ForceLeave(ctx, ForceLeaveRequest{Node: "x"}); err == nil || err.Error() != "boom" {
		t.Fatalf("force-leave: %v", err)
	}
	if rep, err := c.ClusterPreflight(ctx, ClusterPreflightRequest{}); err != nil || rep.Profile != "vmnode" {
		t.Fatalf("cluster preflight: %+v %v", rep, err)
	}

	srv.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("socket left behind after Close")
	}
	if _, err := c.Status(ctx); !errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), "systemctl start vmnode-agent") {
		t.Fatalf("no agent: %v", err)
	}
}
