package virt

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proxy relays a unix socket to libvirtd's. cut drops every connection
// and stops listening, as a libvirtd restart does; listen resumes.
type proxy struct {
	t            *testing.T
	path, target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, path: filepath.Join(t.TempDir(), "libvirt-sock"), target: target, conns: map[net.Conn]struct{}{}}
	p.listen()
	t.Cleanup(func() { p.cut(); p.wg.Wait() })
	return p
}

func (p *proxy) listen() {
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("unix", p.target)
			if err != nil {
				in.Close()
				continue
			}
			if !p.track(in, out) {
				return
			}
			for _, pair := range [][2]net.Conn{{in, out}, {out, in}} {
				p.wg.Add(1)
				go func() {
					defer p.wg.Done()
					_, _ = io.Copy(pair[0], pair[1])
					pair[0].Close()
					pair[1].Close()
				}()
			}
		}
	}()
}

func (p *proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil { // cut meanwhile
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// cut closes the listener (removing the socket file) and every relayed
// connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// libvirtd goes away under a running TCG guest and comes back: the Conn
// notices, fails fast meanwhile, reconnects by itself, says Resync, gets
// events again — and the guest was not touched.
func TestReconnect(t *testing.T) {
	sock := requireLibvirtd(t)
	p := newProxy(t, sock)
	logs := &logRecorder{t: t}
	c := dial(t, qemuURI, p.path, slog.New(logs))
	ctx := testCtx(t)
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan struct{})
	go func() { c.Run(runCtx); close(runDone) }()
	t.Cleanup(func() { stopRun(); <-runDone })

	name := testName("reconnect")
	removeQEMUDomain(t, name)
	must(t, c.Define(ctx, tcgDomainXML(name)))
	must(t, c.Start(ctx, name))
	waitEvent(t, c, "started", domainEvent(name, EventStarted))
	pid := qemuPid(t, name)

	p.cut()
	waitEvent(t, c, "disconnected", func(ev Event) bool { return ev.Kind == EventDisconnected })
	if c.Connected() {
		t.Error("Connected() after the connection was cut")
	}
	t0 := time.Now()
	_, err := c.Get(ctx, name)
	if !errors.Is(err, ErrDisconnected) {
		t.Errorf("Get while disconnected = %v, want ErrDisconnected", err)
	}
	if err := c.Destroy(ctx, name); !errors.Is(err, ErrDisconnected) {
		t.Errorf("Destroy while disconnected = %v, want ErrDisconnected", err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("operations took %s to fail while disconnected", d)
	}
	// Run keeps trying (debug log per attempt) while nothing listens.
	pollUntil(t, "two failed reconnect attempts", 10*time.Second, func() bool { return logs.count("reconnect to libvirtd failed") >= 2 })
	if c.Connected() {
		t.Error("connected while the proxy does not listen")
	}

	p.listen()
	ev := waitEvent(t, c, "resync", func(ev Event) bool { return ev.Kind == EventResync })
	if ev.Domain != "" {
		t.Errorf("resync event names a domain: %v", ev)
	}
	if !c.Connected() {
		t.Error("not Connected() after Resync")
	}
	if logs.count("lost the connection") != 1 || logs.count("reconnected to libvirtd") != 1 {
		t.Errorf("logs do not report the outage and the recovery once each: %q", logs.all())
	}

	// The guest ran through it all, untouched.
	d, err := c.Get(ctx, name)
	must(t, err)
	if d.State != StateRunning || d.Reason != "booted" {
		t.Errorf("guest after reconnect: %s/%s, want running/booted", d.State, d.Reason)
	}
	if got := qemuPid(t, name); got != pid || syscall.Kill(pid, 0) != nil {
		t.Errorf("QEMU pid %d before, %d after the reconnect", pid, got)
	}

	// Events flow on the new connection.
	must(t, c.Destroy(ctx, name))
	ev = waitEvent(t, c, "stopped after reconnect", domainEvent(name, EventStopped))
	if ev.Detail != "destroyed" {
		t.Errorf("event after reconnect = %v", ev)
	}

	// A second outage works the same.
	p.cut()
	waitEvent(t, c, "second disconnect", func(ev Event) bool { return ev.Kind == EventDisconnected })
	p.listen()
	waitEvent(t, c, "second resync", func(ev Event) bool { return ev.Kind == EventResync })
	must(t, c.Undefine(ctx, name))
	waitEvent(t, c, "undefined", domainEvent(name, EventUndefined))
}

// Without Run a lost connection stays lost, and says so.
func TestDisconnectWithoutRun(t *testing.T) {
	p := newProxy(t, requireLibvirtd(t))
	c := dial(t, testURI, p.path, nil)
	ctx := testCtx(t)
	p.cut()
	waitEvent(t, c, "disconnected", func(ev Event) bool { return ev.Kind == EventDisconnected })
	p.listen()
	if _, err := c.List(ctx); !errors.Is(err, ErrDisconnected) || !strings.Contains(err.Error(), "Run is not running") {
		t.Errorf("List = %v, want ErrDisconnected saying nothing reconnects", err)
	}
	// Run picks it up later.
	go c.Run(ctx)
	waitEvent(t, c, "resync", func(ev Event) bool { return ev.Kind == EventResync })
	if _, err := c.List(ctx); err != nil {
		t.Errorf("List after Run reconnected: %v", err)
	}
	must(t, c.Close()) // ends Run
}
