package firewall

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmnode/vmnode/profiles"
)

const dialTimeout = 300 * time.Millisecond

// lab is two namespaces joined by a veth pair: the node (where the
// firewall is applied and servers listen) and a client.
type lab struct {
	node, client *netNS
	addrs        []string // the node's addresses, one IPv4 and one IPv6
}

func newLab(t *testing.T) *lab {
	t.Helper()
	l := &lab{node: newNetNS(t), client: newNetNS(t)}
	// The peer is created straight inside the client namespace: nothing of
	// this touches the initial namespace.
	l.node.ip(t, "link", "add", "fw0", "type", "veth", "peer", "name", "fw1", "netns", l.client.name)
	for _, side := range []struct {
		ns     *netNS
		dev    string
		v4, v6 string
	}{{l.node, "fw0", "10.213.7.1/24", "fd00:213:7::1/64"}, {l.client, "fw1", "10.213.7.2/24", "fd00:213:7::2/64"}} {
		side.ns.ip(t, "addr", "add", side.v4, "dev", side.dev)
		side.ns.ip(t, "addr", "add", side.v6, "dev", side.dev, "nodad")
		side.ns.ip(t, "link", "set", side.dev, "up")
	}
	l.addrs = []string{"10.213.7.1", "fd00:213:7::1"}
	return l
}

// listen serves an echo on every port, in the node namespace, until the
// test ends.
func (l *lab) listen(t *testing.T, ports ...int) {
	t.Helper()
	for _, p := range ports {
		var ln net.Listener
		var err error
		l.node.do(t, func() { ln, err = net.Listen("tcp", fmt.Sprintf(":%d", p)) })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
			}
		}()
	}
}

// dial connects from the client namespace.
func (l *lab) dial(t *testing.T, addr string, port int) (net.Conn, error) {
	t.Helper()
	var c net.Conn
	var err error
	l.client.do(t, func() {
		c, err = net.DialTimeout("tcp", net.JoinHostPort(addr, fmt.Sprint(port)), dialTimeout)
	})
	return c, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// reach reports "open", "filtered" (timed out: the SYN was dropped) or the
// error (e.g. refused: nothing listens but packets pass).
func (l *lab) reach(t *testing.T, addr string, port int) string {
	t.Helper()
	c, err := l.dial(t, addr, port)
	switch {
	case err == nil:
		c.Close()
		return "open"
	case isTimeout(err):
		return "filtered"
	}
	return err.Error()
}

func echo(c net.Conn) error {
	if err := c.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		return err
	}
	buf := make([]byte, 4)
	_, err := io.ReadFull(c, buf)
	return err
}

func applyStep(t *testing.T, ns *netNS, rs Ruleset) {
	t.Helper()
	s := NewStep(rs, StepConfig{NetNS: ns.fd})
	if err := s.Apply(context.Background(), mustPlan(t, s)); err != nil {
		t.Fatal(err)
	}
}

// TestTrafficPolicy sends real TCP over IPv4 and IPv6 (so neighbour
// discovery must pass the firewall) to the node.
func TestTrafficPolicy(t *testing.T) {
	l := newLab(t)
	l.listen(t, 22, 7946, 9999)
	// A profile that forgets SSH: 22 must stay open anyway.
	ports := []profiles.Port{{Port: profiles.PortRange{First: 7946, Last: 7946}, Proto: "tcp"}}

	// Before any table, and with policy accept, everything is reachable.
	applyStep(t, l.node, desired(t, ports, PolicyAccept))
	for _, addr := range l.addrs {
		for _, p := range []int{22, 7946, 9999} {
			if got := l.reach(t, addr, p); got != "open" {
				t.Errorf("policy accept: %s port %d: %s, want open", addr, p, got)
			}
		}
	}
	// A session to a port the next policy closes.
	est, err := l.dial(t, l.addrs[0], 9999)
	if err != nil {
		t.Fatal(err)
	}
	defer est.Close()

	applyStep(t, l.node, desired(t, ports, PolicyDrop))
	for _, addr := range l.addrs {
		for p, want := range map[int]string{22: "open", 7946: "open", 9999: "filtered"} {
			if got := l.reach(t, addr, p); got != want {
				t.Errorf("policy drop: %s port %d: %s, want %s", addr, p, got, want)
			}
		}
	}
	if err := echo(est); err != nil {
		t.Errorf("an established session was cut by the new policy: %v", err)
	}
}

// TestSSHNeverClosed replaces the table over and over while a client opens
// new SSH connections: with one atomic batch not a single SYN is dropped.
func TestSSHNeverClosed(t *testing.T) {
	l := newLab(t)
	l.listen(t, 22)
	a := desired(t, profilePorts(t, "vmnode"), PolicyDrop)
	b := desired(t, profilePorts(t, "vmmanager-kvm"), PolicyDrop)
	conn := l.node.conn(t)
	if _, err := Apply(conn, a); err != nil {
		t.Fatal(err)
	}

	var stop atomic.Bool
	var dials, failures atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := l.client.run(func() {
			for !stop.Load() {
				c, err := net.DialTimeout("tcp", "10.213.7.1:22", dialTimeout)
				dials.Add(1)
				if err != nil {
					failures.Add(1)
					once.Do(func() { firstErr = err })
					continue
				}
				c.Close()
			}
		})
		if err != nil {
			failures.Add(1)
			once.Do(func() { firstErr = err })
		}
	}()
	applies := 0
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline) || dials.Load() < 50; applies++ {
		rs := a
		if applies%2 == 1 {
			rs = b
		}
		if _, err := Apply(conn, rs); err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d table replacements, %d SSH connections", applies, dials.Load())
	if failures.Load() > 0 {
		t.Errorf("%d of %d SSH connections failed during %d table replacements; first: %v", failures.Load(), dials.Load(), applies, firstErr)
	}
}
