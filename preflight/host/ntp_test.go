package host_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vmnode/vmnode/preflight/checks/timesync/chronydtest"
	"github.com/vmnode/vmnode/preflight/host"
)

var _ host.TimeSource = host.NTPClient{}

func query(ctx context.Context, server string) (time.Duration, error) {
	return host.NTPClient{Timeout: time.Second}.Offset(ctx, server)
}

// A real chronyd on loopback, on the same clock as the test: the offset is
// tiny.
func TestNTPClientAgainstChronyd(t *testing.T) {
	addr := chronydtest.Chronyd(t, chronydtest.Options{Query: query})
	off, err := query(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if off.Abs() > 50*time.Millisecond {
		t.Errorf("offset against chronyd on the same clock = %v, want about 0", off)
	}
}

// chronyd under faketime +30s: the server is 30 s ahead, so the local clock's
// offset is +30 s.
func TestNTPClientAgainstSkewedChronyd(t *testing.T) {
	addr := chronydtest.Chronyd(t, chronydtest.Options{Skew: "+30s", Query: query})
	off, err := query(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if d := off - 30*time.Second; d.Abs() > time.Second {
		t.Errorf("offset against chronyd at +30s = %v, want about +30s", off)
	}
}

func TestNTPClientAgainstResponder(t *testing.T) {
	for _, want := range []time.Duration{-5 * time.Second, 0, 250 * time.Millisecond, 30 * time.Second} {
		r := chronydtest.Respond(t, want)
		off, err := query(context.Background(), r.Addr)
		if err != nil {
			t.Fatal(err)
		}
		if d := off - want; d.Abs() > 50*time.Millisecond {
			t.Errorf("offset = %v, want about %v", off, want)
		}
	}
}

// Nothing answers on a closed loopback port: the error comes back before
// the context's deadline, and it names the server.
func TestNTPClientUnreachable(t *testing.T) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close() // the port is now closed: ICMP port unreachable, or silence

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = host.NTPClient{Timeout: 10 * time.Second}.Offset(ctx, addr)
	if err == nil {
		t.Fatal("no error from a closed port")
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v; the context allowed 300ms", el)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name %s", err, addr)
	}
}

// A cancelled context stops a query that would otherwise wait for its
// timeout: a silent server (a UDP socket that never answers).
func TestNTPClientHonoursCancel(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err = host.NTPClient{Timeout: 10 * time.Second}.Offset(ctx, silent.LocalAddr().String())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v after cancel at 100ms", el)
	}
}

// The default port is 123: a query to "127.0.0.1" goes to 127.0.0.1:123.
// Nothing listens there in the test (or, if chronyd does, it answers), so
// only the address in the error is checked.
func TestNTPClientDefaultPort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := host.NTPClient{}.Offset(ctx, "127.0.0.1")
	if err == nil {
		t.Skip("something answers NTP on 127.0.0.1:123")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:123") {
		t.Errorf("error %q: want the default port 123 in the address", err)
	}
}
