package virt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/digitalocean/go-libvirt"
)

// Defaults for Options.
const (
	DefaultSocket     = "/run/libvirt/libvirt-sock"
	DefaultURI        = "qemu:///system"
	DefaultMinBackoff = 250 * time.Millisecond
	DefaultMaxBackoff = 10 * time.Second
)

const (
	// connectTimeout bounds one connection attempt (dial, auth, open,
	// event subscription) when the caller's context has no deadline.
	connectTimeout = 15 * time.Second
	// closeTimeout bounds a polite goodbye to libvirtd; after it the
	// socket is closed anyway.
	closeTimeout = 2 * time.Second
)

// Options configure a Conn. The zero value connects to the system QEMU
// driver through the default socket and logs nowhere.
type Options struct {
	// Socket is libvirtd's unix socket (default /run/libvirt/libvirt-sock).
	Socket string
	// URI is the driver to open (default "qemu:///system"; tests use
	// "test:///default", whose state is private to each connection).
	URI string
	// Log receives connection state changes (warn/info) and reconnect
	// attempts (debug). Default: discarded.
	Log *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between reconnect attempts,
	// doubling from min to max (defaults 250ms and 10s).
	MinBackoff, MaxBackoff time.Duration
}

func (o Options) withDefaults() Options {
	if o.Socket == "" {
		o.Socket = DefaultSocket
	}
	if o.URI == "" {
		o.URI = DefaultURI
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	return o
}

// Conn is a connection to libvirtd that survives libvirtd restarts (with
// Run). It is safe for concurrent use.
type Conn struct {
	opts Options
	log  *slog.Logger
	now  func() time.Time

	// ctx is cancelled by Close; everything the Conn started stops on it.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	sess    *session // nil while disconnected
	closed  bool
	running bool // a Run is active

	lost      chan struct{} // a session was lost (cap 1): wakes Run
	closeOnce sync.Once

	hub hub // events: queue, channel, waiters
}

// session is one connection to libvirtd. A go-libvirt client is never
// reconnected: reusing one for a second connection races inside
// go-libvirt (its disconnected channel is replaced without a lock), so
// every reconnect makes a new session.
type session struct {
	l      *libvirt.Libvirt
	d      *dialer
	events <-chan libvirt.DomainEventLifecycleMsg
	stop   context.CancelFunc // ends the event subscription
	fwd    chan struct{}      // closed when the forwarder returns
	start  sync.Once
}

// Dial connects to libvirtd once and subscribes to lifecycle events. It
// fails with a message that says what to do when libvirtd is not there.
// Call Run to keep the connection across libvirtd restarts.
func Dial(ctx context.Context, o Options) (*Conn, error) {
	o = o.withDefaults()
	base, cancel := context.WithCancel(context.Background())
	c := &Conn{
		opts:   o,
		log:    o.Log.With("component", "virt", "uri", o.URI),
		now:    time.Now,
		ctx:    base,
		cancel: cancel,
		lost:   make(chan struct{}, 1),
	}
	c.hub.init()
	s, err := c.connect(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	c.mu.Lock()
	c.sess = s
	c.mu.Unlock()
	go c.hub.pump(base.Done())
	go c.watch(s)
	c.forward(s)
	c.log.Debug("connected to libvirtd", "socket", o.Socket)
	return c, nil
}

// dialer is go-libvirt's socket.Dialer with a context and a way to cut
// the connection from outside: go-libvirt's calls cannot be cancelled, so
// closing the socket is how a hung handshake or goodbye is ended.
type dialer struct {
	path string
	ctx  context.Context

	mu      sync.Mutex
	conn    net.Conn
	aborted bool
}

func (d *dialer) Dial() (net.Conn, error) {
	var nd net.Dialer
	conn, err := nd.DialContext(d.ctx, "unix", d.path)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.aborted {
		conn.Close()
		return nil, net.ErrClosed
	}
	d.conn = conn
	return conn, nil
}

func (d *dialer) dialed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conn != nil
}

// abort closes the socket (idempotent); pending calls then fail.
func (d *dialer) abort() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.aborted = true
	if d.conn != nil {
		d.conn.Close()
	}
}

// connect makes one session: dial, open the URI, subscribe to lifecycle
// events. Events are not forwarded until forward is called, so a caller
// can emit EventResync first.
func (c *Conn) connect(ctx context.Context) (*session, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, connectTimeout)
		defer cancel()
	}
	d := &dialer{path: c.opts.Socket, ctx: ctx}
	l := libvirt.NewWithDialer(d)
	s := &session{l: l, d: d, fwd: make(chan struct{})}

	done := make(chan error, 1)
	go func() {
		if err := l.ConnectToURI(libvirt.ConnectURI(c.opts.URI)); err != nil {
			done <- c.connectError(err)
			return
		}
		evctx, stop := context.WithCancel(c.ctx)
		events, err := l.LifecycleEvents(evctx)
		if err != nil {
			stop()
			d.abort()
			done <- fmt.Errorf("subscribe to lifecycle events on %s: %w", c.opts.Socket, err)
			return
		}
		s.events, s.stop = events, stop
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			return nil, err
		}
		return s, nil
	case <-ctx.Done():
		d.abort() // unblocks the handshake
		if err := <-done; err == nil {
			s.stop()
			go func() { // go-libvirt closes it once the subscription ends
				for range s.events {
				}
			}()
		}
		if d.dialed() {
			return nil, fmt.Errorf("libvirtd on %s accepted the connection but did not answer: %w", c.opts.Socket, ctx.Err())
		}
		return nil, fmt.Errorf("connect to libvirtd on %s: %w", c.opts.Socket, ctx.Err())
	}
}

// connectError explains a failed connection attempt.
func (c *Conn) connectError(err error) error {
	sock := c.opts.Socket
	var le libvirt.Error
	switch {
	case errors.As(err, &le):
		return fmt.Errorf("libvirtd on %s refused to open %s: %w", sock, c.opts.URI, &Error{Code: int(le.Code), Message: le.Message})
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		return fmt.Errorf("libvirtd socket %s: %w (run as root or as a member of the libvirt group)", sock, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("libvirtd is not answering on %s: %w (is it hung? check its log)", sock, err)
	case isConnLoss(err):
		return fmt.Errorf("libvirtd on %s closed the connection during the handshake: %w", sock, err)
	default:
		return fmt.Errorf("libvirtd is not answering on %s: %w (is libvirtd running? systemctl start libvirtd)", sock, err)
	}
}

// forward starts relaying the session's lifecycle events to the hub.
func (c *Conn) forward(s *session) {
	s.start.Do(func() {
		go func() {
			defer close(s.fwd)
			for m := range s.events {
				c.hub.emit(lifecycleEvent(m, c.now()))
			}
		}()
	})
}

// teardown ends a session: stops the subscription, says goodbye to
// libvirtd (bounded), closes the socket and waits for the forwarder.
func (s *session) teardown() {
	s.stop()
	bye := make(chan struct{})
	go func() {
		_ = s.l.Disconnect()
		close(bye)
	}()
	select {
	case <-bye:
	case <-time.After(closeTimeout):
	}
	s.d.abort()
	// Start the forwarder if nobody did so that it drains and returns:
	// go-libvirt closes the event channel once the subscription ends.
	s.start.Do(func() {
		go func() {
			defer close(s.fwd)
			for range s.events {
			}
		}()
	})
	<-s.fwd
}

// watch waits for a session to be lost and reports it once.
func (c *Conn) watch(s *session) {
	select {
	case <-s.l.Disconnected():
	case <-c.ctx.Done():
		return
	}
	c.mu.Lock()
	current := c.sess == s && !c.closed
	if current {
		c.sess = nil
	}
	c.mu.Unlock()
	if !current {
		return
	}
	c.log.Warn("lost the connection to libvirtd; operations fail with ErrDisconnected until it is back", "socket", c.opts.Socket)
	c.hub.emit(Event{Kind: EventDisconnected, Detail: "connection to libvirtd lost", At: c.now()})
	select {
	case c.lost <- struct{}{}:
	default:
	}
	s.teardown()
}

// Run keeps the connection until ctx is done or the Conn is closed: when
// libvirtd goes away it reconnects with exponential backoff, re-subscribes
// to events, and emits an EventResync so the caller can re-list. It never
// touches a domain. Only one Run may be active at a time; after Close it
// returns at once.
func (c *Conn) Run(ctx context.Context) {
	c.mu.Lock()
	if c.running || c.closed {
		running := c.running
		c.mu.Unlock()
		if running {
			c.log.Error("virt.Conn.Run called while another Run is active; this one returns")
		}
		return
	}
	c.running = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.running = false
		c.mu.Unlock()
	}()
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	defer context.AfterFunc(c.ctx, stop)()

	for {
		if c.session() != nil {
			select {
			case <-ctx.Done():
				return
			case <-c.lost:
				continue // re-check: the signal may be stale
			}
		}
		if !c.reconnect(ctx) {
			return
		}
	}
}

// reconnect dials until it succeeds (true) or ctx ends (false).
func (c *Conn) reconnect(ctx context.Context) bool {
	began := c.now()
	wait := c.opts.MinBackoff
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, connectTimeout)
		s, err := c.connect(actx)
		cancel()
		if err == nil {
			c.mu.Lock()
			closed := c.closed
			if !closed {
				c.sess = s
			}
			c.mu.Unlock()
			if closed {
				s.teardown()
				return false
			}
			go c.watch(s)
			c.log.Info("reconnected to libvirtd", "socket", c.opts.Socket, "attempts", attempt, "outage", c.now().Sub(began).Round(time.Millisecond))
			c.hub.emit(Event{Kind: EventResync, Detail: "reconnected to libvirtd: list domains again", At: c.now()})
			c.forward(s)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		c.log.Debug("reconnect to libvirtd failed", "attempt", attempt, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		wait = min(2*wait, c.opts.MaxBackoff)
	}
}

func (c *Conn) session() *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

// Connected reports whether libvirtd is reachable right now.
func (c *Conn) Connected() bool {
	s := c.session()
	return s != nil && s.l.IsConnected()
}

// Close ends the connection and the event channel (which is closed).
// It does not touch any domain. It is idempotent.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		s := c.sess
		c.sess = nil
		c.mu.Unlock()
		c.cancel()
		if s != nil {
			s.teardown()
		}
	})
	return nil
}

// client returns the live go-libvirt client or a clear error at once.
func (c *Conn) client() (*libvirt.Libvirt, error) {
	c.mu.Lock()
	s, closed, running := c.sess, c.closed, c.running
	c.mu.Unlock()
	switch {
	case closed:
		return nil, ErrClosed
	case (s == nil || !s.l.IsConnected()) && running:
		return nil, fmt.Errorf("%w on %s (reconnecting)", ErrDisconnected, c.opts.Socket)
	case s == nil || !s.l.IsConnected():
		return nil, fmt.Errorf("%w on %s (nothing reconnects: Run is not running)", ErrDisconnected, c.opts.Socket)
	}
	return s.l, nil
}

// do runs fn on the live client. go-libvirt's calls take no context, so
// fn runs on its own goroutine and do returns when ctx ends; fn itself
// then finishes in the background (libvirt may still complete it).
func (c *Conn) do(ctx context.Context, fn func(l *libvirt.Libvirt) error) error {
	l, err := c.client()
	if err != nil {
		return err
	}
	if ctx.Done() == nil {
		return c.translate(l, fn(l))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	res := make(chan error, 1)
	go func() { res <- fn(l) }()
	select {
	case err := <-res:
		return c.translate(l, err)
	case <-ctx.Done():
		return ctx.Err()
	}
}
