package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/vmnode/vmnode/preflight/cluster"
)

// Backend is what the agent provides to the API.
type Backend interface {
	Status(ctx context.Context) (Status, error)
	Members(ctx context.Context) ([]Member, error)
	Join(ctx context.Context, r JoinRequest) (JoinResponse, error)
	ForceLeave(ctx context.Context, r ForceLeaveRequest) error
	Keys(ctx context.Context, r KeyRequest) (KeyResponse, error)
	ClusterPreflight(ctx context.Context, r ClusterPreflightRequest) (*cluster.Report, error)
	Reload(ctx context.Context) error
	VM(ctx context.Context, r VMRequest) (VMResponse, error)
	Images(ctx context.Context) (ImagesResponse, error)
	Host(ctx context.Context, r HostRequest) (HostResponse, error)
	HA(ctx context.Context) (HAStatus, error)
}

// UserError marks a request the user got wrong (400) rather than a failure
// of the agent (500). Wrap with it: api.UserError{err}.
type UserError struct{ Err error }

func (e UserError) Error() string { return e.Err.Error() }
func (e UserError) Unwrap() error { return e.Err }

// Server serves a Backend on a unix socket.
type Server struct {
	path string
	http *http.Server
	ln   net.Listener
	log  *slog.Logger
}

// Listen creates the socket, root-only. A socket another agent still
// answers on is an error; a stale one is replaced. Requests wait in the
// socket's backlog until Serve: the agent listens first, to fail before
// it touches the cluster, and serves once it has one.
func Listen(path string, b Backend, log *slog.Logger) (*Server, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if _, err := os.Lstat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("another vmnode agent is already serving %s: stop it first (systemctl stop vmnode-agent)", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale control socket: %w", err)
		}
	}
	old := umask(0o177)
	ln, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	s := &Server{path: path, ln: ln}
	s.http = &http.Server{Handler: routes(b, log), ReadHeaderTimeout: 5 * time.Second, ConnContext: peerContext}
	s.log = log
	return s, nil
}

// Serve answers requests, in the background.
func (s *Server) Serve() {
	go func() {
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("control socket", "err", err)
		}
	}()
}

// Close stops serving and removes the socket.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	_ = os.Remove(s.path)
	return err
}

func routes(b Backend, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, fn func(r *http.Request) (any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if !rootPeer(r.Context()) {
				reply(w, http.StatusForbidden, Error{"the control socket is root-only"})
				return
			}
			v, err := fn(r)
			if err != nil {
				code := http.StatusInternalServerError
				var ue UserError
				if errors.As(err, &ue) {
					code = http.StatusBadRequest
				}
				log.Debug("api request failed", "path", r.URL.Path, "err", err)
				reply(w, code, Error{err.Error()})
				return
			}
			if v == nil {
				v = struct{}{}
			}
			reply(w, http.StatusOK, v)
		})
	}
	handle("GET /v1/status", func(r *http.Request) (any, error) { return b.Status(r.Context()) })
	handle("GET /v1/members", func(r *http.Request) (any, error) { return b.Members(r.Context()) })
	handle("POST /v1/join", func(r *http.Request) (any, error) {
		var req JoinRequest
		if err := decode(r.Body, &req); err != nil {
			return nil, err
		}
		return b.Join(r.Context(), req)
	})
	handle("POST /v1/force-leave", func(r *http.Request) (any, error) {
		var req ForceLeaveRequest
		if err := decode(r.Body, &req); err != nil {
			return nil, err
		}
		return nil, b.ForceLeave(r.Context(), req)
	})
	handle("POST /v1/keys", func(r *http.Request) (any, error) {
		var req KeyRequest
		if err := decode(r.Body, &req); err != nil {
			return nil, err
		}
		return b.Keys(r.Context(), req)
	})
	handle("POST /v1/preflight/cluster", func(r *http.Request) (any, error) {
		var req ClusterPreflightRequest
		if err := decode(r.Body, &req); err != nil {
			return nil, err
		}
		return b.ClusterPreflight(r.Context(), req)
	})
	handle("POST /v1/reload", func(r *http.Request) (any, error) { return nil, b.Reload(r.Context()) })
	handle("POST /v1/vm", func(r *http.Request) (any, error) {
		var req VMRequest
		if err := decode(r.Body, &req); err != nil {
			return nil, err
		}
		return b.VM(r.Context(), req)
	})
	handle("GET /v1/images", func(r *http.Request) (any, error) { return b.Images(r.Context()) })
	handle("POST /v1/host", func(r *http.Request) (any, error) {
		var req HostRequest
		if err := decode(r.Body, &req); err != nil {
			return nil, err
		}
		return b.Host(r.Context(), req)
	})
	handle("GET /v1/ha", func(r *http.Request) (any, error) { return b.HA(r.Context()) })
	return mux
}

func decode(body io.Reader, v any) error {
	dec := json.NewDecoder(io.LimitReader(body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return UserError{fmt.Errorf("bad request: %w", err)}
	}
	return nil
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
