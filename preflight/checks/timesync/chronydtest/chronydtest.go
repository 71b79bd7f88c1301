// Package chronydtest runs NTP servers on loopback for tests: a real chronyd
// (optionally under faketime, for a skewed clock) and a tiny in-process
// responder that answers with a chosen offset. Nothing listens or sends
// anywhere but 127.0.0.1.
package chronydtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Querier is what Chronyd polls to learn the server answers: host.NTPClient
// in practice (the package cannot import host's tests).
type Querier func(ctx context.Context, server string) (time.Duration, error)

// Options for Chronyd.
type Options struct {
	Skew  string  // faketime offset such as "+30s"; "" runs chronyd on the real clock
	Query Querier // polled until the server answers validly
}

// Chronyd starts `chronyd -x -d` serving NTP on a free loopback port and
// returns "127.0.0.1:PORT" once a query through opt.Query succeeds. It skips
// the test when chronyd (or faketime, for a skew) is not installed, and stops
// the daemon when the test ends.
func Chronyd(t testing.TB, opt Options) string {
	t.Helper()
	chronyd, err := lookPath("chronyd", "/usr/sbin/chronyd", "/sbin/chronyd")
	if err != nil {
		t.Skip("chronyd not installed (apt-get install -y chrony; `make test` installs it)")
	}
	argv := []string{chronyd}
	if opt.Skew != "" {
		faketime, err := exec.LookPath("faketime")
		if err != nil {
			t.Skip("faketime not installed (apt-get install -y faketime; `make test` installs it)")
		}
		argv = append([]string{faketime, "-f", opt.Skew}, argv...)
	}
	dir := t.TempDir()
	port := freeUDPPort(t)
	conf := filepath.Join(dir, "chrony.conf")
	cfg := fmt.Sprintf(`# test server: loopback only, no upstream sources, no command port
port %d
bindaddress 127.0.0.1
allow 127.0.0.1
local stratum 8
cmdport 0
pidfile %s
driftfile %s
`, port, filepath.Join(dir, "chronyd.pid"), filepath.Join(dir, "drift"))
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	argv = append(argv, "-x", "-d", "-u", "root", "-f", conf)
	var logs bytes.Buffer
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	// Its own process group: faketime runs chronyd as a child, and both
	// must go when the test ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chronyd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var lastErr error
	for ctx.Err() == nil {
		select {
		case err := <-exited:
			t.Fatalf("chronyd exited: %v\n%s", err, logs.String())
		default:
		}
		qctx, qcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_, lastErr = opt.Query(qctx, addr)
		qcancel()
		if lastErr == nil {
			return addr
		}
	}
	t.Fatalf("chronyd on %s never answered validly: %v\n%s", addr, lastErr, logs.String())
	return ""
}

func lookPath(name string, fallbacks ...string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, p := range fallbacks {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// Responder is an in-process SNTP server on loopback whose clock runs
// Offset ahead of the real one (behind when negative).
type Responder struct {
	Addr   string // "127.0.0.1:PORT"
	conn   net.PacketConn
	offset time.Duration
}

// Respond starts a Responder; it stops when the test ends.
func Respond(t testing.TB, offset time.Duration) *Responder {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Responder{Addr: c.LocalAddr().String(), conn: c, offset: offset}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.serve()
	}()
	t.Cleanup(func() {
		c.Close()
		<-done
	})
	return r
}

var ntpEpoch = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

func ntpTime(t time.Time) uint64 {
	d := t.Sub(ntpEpoch)
	sec := uint64(d / time.Second)
	frac := uint64(d%time.Second) << 32 / uint64(time.Second)
	return sec<<32 | frac
}

func (r *Responder) serve() {
	buf := make([]byte, 512)
	for {
		n, from, err := r.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if n < 48 {
			continue
		}
		recv := time.Now().Add(r.offset)
		resp := make([]byte, 48)
		resp[0] = 0<<6 | 4<<3 | 4                        // leap 0 (synchronised), version 4, mode 4 (server)
		resp[1] = 2                                      // stratum
		resp[2] = buf[2]                                 // poll
		resp[3] = 0xEC                                   // precision 2^-20
		binary.BigEndian.PutUint32(resp[4:], 1<<16/1000) // root delay 1ms
		binary.BigEndian.PutUint32(resp[8:], 1<<16/1000) // root dispersion 1ms
		copy(resp[12:16], "TEST")                        // reference ID
		binary.BigEndian.PutUint64(resp[16:], ntpTime(recv.Add(-time.Second)))
		copy(resp[24:32], buf[40:48]) // origin = the client's transmit timestamp
		binary.BigEndian.PutUint64(resp[32:], ntpTime(recv))
		binary.BigEndian.PutUint64(resp[40:], ntpTime(time.Now().Add(r.offset)))
		_, _ = r.conn.WriteTo(resp, from)
	}
}
