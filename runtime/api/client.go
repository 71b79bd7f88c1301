package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"syscall"

	"github.com/vmnode/vmnode/preflight/cluster"
)

// Client talks to the agent over its socket.
type Client struct {
	path string
	http *http.Client
}

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	return &Client{path: path, http: &http.Client{Transport: tr}}
}

// ErrNotRunning is returned when no agent listens on the socket.
var ErrNotRunning = errors.New("the vmnode agent is not running")

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://agent"+path, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
			return fmt.Errorf("%w (nothing answers on %s): start it with `systemctl start vmnode-agent` or `vmnode agent`", ErrNotRunning, c.path)
		case errors.Is(err, fs.ErrPermission):
			return fmt.Errorf("the control socket %s is root-only: run this as root", c.path)
		}
		return fmt.Errorf("agent at %s: %w", c.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("agent at %s: %w", c.path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e Error
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return fmt.Errorf("agent at %s: %s", c.path, resp.Status)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("agent at %s: bad response: %w", c.path, err)
	}
	return nil
}

// Status asks for the agent's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	return s, c.do(ctx, http.MethodGet, "/v1/status", nil, &s)
}

// Members lists the cluster's members.
func (c *Client) Members(ctx context.Context) ([]Member, error) {
	var m []Member
	return m, c.do(ctx, http.MethodGet, "/v1/members", nil, &m)
}

// Join asks the agent to join through addrs.
func (c *Client) Join(ctx context.Context, r JoinRequest) (JoinResponse, error) {
	var out JoinResponse
	return out, c.do(ctx, http.MethodPost, "/v1/join", r, &out)
}

// ForceLeave removes a failed member.
func (c *Client) ForceLeave(ctx context.Context, r ForceLeaveRequest) error {
	return c.do(ctx, http.MethodPost, "/v1/force-leave", r, nil)
}

// Keys manages the gossip keyring.
func (c *Client) Keys(ctx context.Context, r KeyRequest) (KeyResponse, error) {
	var out KeyResponse
	return out, c.do(ctx, http.MethodPost, "/v1/keys", r, &out)
}

// ClusterPreflight collects every member's preflight report.
func (c *Client) ClusterPreflight(ctx context.Context, r ClusterPreflightRequest) (*cluster.Report, error) {
	var out cluster.Report
	return &out, c.do(ctx, http.MethodPost, "/v1/preflight/cluster", r, &out)
}

// Reload asks the agent to re-read its configuration.
func (c *Client) Reload(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/reload", nil, nil)
}

// Running reports whether an agent answers on the socket.
func (c *Client) Running(ctx context.Context) bool {
	_, err := c.Status(ctx)
	return err == nil
}
