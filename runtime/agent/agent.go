package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/preflight/netconf"
	"github.com/vmnode/vmnode/profiles"
	"github.com/vmnode/vmnode/runtime/api"
	"github.com/vmnode/vmnode/runtime/cluster"
	"github.com/vmnode/vmnode/runtime/config"
	"github.com/vmnode/vmnode/runtime/virt"
)

// libvirtWait is how long Start waits for libvirtd before going on without
// it (it keeps trying in the background).
const libvirtWait = 5 * time.Second

// Options are what the agent gets besides its configuration.
type Options struct {
	Version  string
	Log      *slog.Logger
	Level    *slog.LevelVar // the log level, changed on reload
	Notifier Notifier       // nil: sd_notify
	// Reload re-reads the configuration on SIGHUP; nil disables reloading.
	Reload func() (config.Config, error)
	// LeaveTimeout bounds the graceful leave on SIGTERM.
	LeaveTimeout time.Duration
}

// Agent is the daemon.
type Agent struct {
	opts      Options
	log       *slog.Logger
	notify    Notifier
	host      *host.Host
	advertise netip.AddrPort
	bind      netip.AddrPort

	mu      sync.Mutex
	cfg     config.Config
	prof    *profiles.Profile
	health  api.Health
	started time.Time

	cluster  *cluster.Cluster
	vms      *virt.Manager // nil until libvirtd first answered (under mu)
	stopVirt context.CancelFunc
	api      *api.Server
	checking sync.Mutex // one health run at a time
	stop     chan struct{}
	stopOnce sync.Once
	shutOnce sync.Once

	// High Availability and migrations (ha.go, exchange.go, migrate.go).
	haMu   sync.Mutex
	peers  map[string]*peer
	haVMs  map[string]*haLocal
	jobs   map[string]*api.Migration
	haKick chan struct{}
}

// New checks the configuration and resolves the addresses; it does no I/O
// beyond reading the host's files.
func New(cfg config.Config, o Options) (*Agent, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Notifier == nil {
		o.Notifier = Systemd{}
	}
	if o.LeaveTimeout == 0 {
		o.LeaveTimeout = 10 * time.Second
	}
	prof, err := profiles.Load(cfg.Preflight.Profile, profiles.Options{})
	if err != nil {
		return nil, err
	}
	h, err := host.Open(host.Options{Offline: cfg.Preflight.Offline, NTPServers: cfg.Preflight.NTPServers, NTPTimeout: cfg.Preflight.Timeout})
	if err != nil {
		return nil, err
	}
	if cfg.Node.Name == "" {
		cfg.Node.Name = h.Hostname
	}
	if cfg.Node.Name == "" {
		return nil, errors.New("no node name: set node.name")
	}
	bind, adv, err := addresses(cfg, h)
	if err != nil {
		return nil, err
	}
	h.Address, h.AddressSource = adv.Addr(), "agent.advertise"
	return &Agent{
		opts: o, log: o.Log.With("component", "agent"), notify: o.Notifier, host: h,
		advertise: adv, bind: bind, cfg: cfg, prof: prof, stop: make(chan struct{}),
		peers: map[string]*peer{}, haVMs: map[string]*haLocal{}, jobs: map[string]*api.Migration{}, haKick: make(chan struct{}, 1),
	}, nil
}

// addresses resolves the gossip bind and advertise addresses: advertise is
// agent.advertise, else node.address, else the bind address when it is
// specific, else the host's primary address.
func addresses(cfg config.Config, h *host.Host) (bind, adv netip.AddrPort, err error) {
	hostPart, portPart, err := net.SplitHostPort(cfg.Agent.Bind)
	if err != nil {
		return bind, adv, fmt.Errorf("agent.bind %q: want host:port", cfg.Agent.Bind)
	}
	port, err := strconv.ParseUint(portPart, 10, 16)
	if err != nil {
		return bind, adv, fmt.Errorf("agent.bind %q: bad port", cfg.Agent.Bind)
	}
	ip := netip.IPv4Unspecified()
	if hostPart != "" {
		if ip, err = netip.ParseAddr(hostPart); err != nil {
			return bind, adv, fmt.Errorf("agent.bind %q: %q is not an IP address", cfg.Agent.Bind, hostPart)
		}
	}
	bind = netip.AddrPortFrom(ip, uint16(port))
	var a netip.Addr
	switch {
	case cfg.Agent.Advertise != "":
		a, err = netip.ParseAddr(cfg.Agent.Advertise)
	case cfg.Node.Address != "":
		a, err = netip.ParseAddr(cfg.Node.Address)
	case !ip.IsUnspecified():
		a = ip
	default:
		a, _, err = netconf.Discover(h)
		if err != nil {
			err = fmt.Errorf("cannot tell which address the others should reach this host at (%v): set agent.advertise or node.address", err)
		}
	}
	if err != nil {
		return bind, adv, err
	}
	return bind, netip.AddrPortFrom(a, uint16(port)), nil
}

// Config is the configuration in force.
func (a *Agent) Config() config.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg
}

// Start opens the control socket, starts gossip and makes the first join
// attempt, then reports READY. A second agent fails here, on the socket,
// before it touches the cluster.
func (a *Agent) Start(ctx context.Context) error {
	cfg := a.Config()
	srv, err := api.Listen(cfg.Agent.Socket, backend{a}, a.log)
	if err != nil {
		return err
	}
	a.api = srv
	tags := cluster.Tags{Role: cfg.Agent.Role, Profile: a.prof.Name, Version: a.opts.Version, Maintenance: inMaintenance(cfg.Agent.DataDir)}
	facts(ctx, a.host, &tags)
	c, err := cluster.New(cluster.Config{
		Name: cfg.Node.Name, Bind: a.bind, Advertise: a.advertise, DataDir: cfg.Agent.DataDir,
		Encrypt: cfg.Agent.Encrypt, KeyFile: cfg.Agent.KeyFile, Gossip: cfg.Agent.Gossip,
		Limits: cluster.Limits{MaxHosts: cfg.Cluster.MaxHosts}, Tags: tags, Log: a.opts.Log,
		Query: a.answer, Changed: a.status,
	})
	if err == nil {
		a.cluster = c
		err = c.Start()
	}
	if err != nil {
		_ = srv.Close()
		return err
	}
	a.started = time.Now()
	srv.Serve()
	a.log.Info("agent started", "node", cfg.Node.Name, "gossip", a.advertise, "encrypted", cfg.Agent.Encrypt, "socket", cfg.Agent.Socket, "version", a.opts.Version)
	if len(cfg.Agent.Join) > 0 {
		if err := a.join(ctx, cfg.Agent.Join); err != nil {
			a.log.Error("join at start failed; retrying in the background", "err", err)
			go a.retryJoin(cfg.Agent.Join, err)
		}
	}
	go a.checkHealth(context.WithoutCancel(ctx))
	vctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.stopVirt = cancel
	a.connectLibvirt(vctx, libvirtWait)
	go a.runHA(vctx)
	a.notify.Notify("READY=1")
	a.status()
	return nil
}

func (a *Agent) join(ctx context.Context, addrs []string) error {
	n, err := a.cluster.Join(ctx, addrs)
	if err == nil {
		a.log.Info("joined the cluster", "through", n, "members", len(a.cluster.Members()))
	}
	return err
}

// retryJoin keeps trying the configured join addresses with backoff, as
// long as they are unreachable; a refusal is final.
func (a *Agent) retryJoin(addrs []string, err error) {
	delay := time.Second
	for {
		var refused *cluster.RefusedError
		if errors.As(err, &refused) && !refused.Transient {
			a.log.Error("the cluster refused this host; not retrying", "reason", refused.Reason)
			return
		}
		select {
		case <-a.stop:
			return
		case <-time.After(delay):
		}
		if err = a.join(context.Background(), addrs); err == nil {
			return
		}
		a.log.Warn("join failed", "err", err, "retry_in", min(delay*2, 30*time.Second))
		delay = min(delay*2, 30*time.Second)
	}
}

// status publishes the one-line state to the service manager.
func (a *Agent) status() {
	if a.cluster == nil {
		return
	}
	q := a.cluster.Quorum()
	a.mu.Lock()
	h := a.health.Status
	a.mu.Unlock()
	if h == "" {
		h = "not checked yet"
	}
	verdict := "quorum"
	if !q.Has() {
		verdict = "NO QUORUM"
	}
	a.notify.Notify(fmt.Sprintf("STATUS=%d/%d hosts alive, %s; health %s", q.Seen, q.Hosts, verdict, h))
}

// Run serves until ctx ends or a signal stops it: SIGHUP reloads, SIGTERM or
// SIGINT leave the cluster gracefully (a second one exits at once).
func (a *Agent) Run(ctx context.Context, signals <-chan os.Signal) error {
	watchdog := a.notify.Watchdog()
	var dog <-chan time.Time
	if watchdog > 0 {
		t := time.NewTicker(watchdog)
		defer t.Stop()
		dog = t.C
		a.notify.Notify("WATCHDOG=1")
	}
	interval := a.Config().Agent.HealthInterval
	health := time.NewTicker(max(interval, time.Second))
	defer health.Stop()
	for {
		select {
		case <-ctx.Done():
			return a.leaveAndShutdown(signals)
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				if err := a.Reload(); err != nil {
					a.log.Error("reload failed; keeping the running configuration", "err", err)
				}
				if iv := a.Config().Agent.HealthInterval; iv != interval {
					interval = iv
					health.Reset(max(interval, time.Second))
				}
				continue
			}
			a.log.Info("signal received: leaving the cluster", "signal", sig)
			return a.leaveAndShutdown(signals)
		case <-health.C:
			go a.checkHealth(ctx)
		case <-dog:
			// Pinged from this loop: if it hangs, systemd restarts the agent.
			a.notify.Notify("WATCHDOG=1")
		}
	}
}

// leaveAndShutdown leaves gracefully within the leave timeout; a second
// signal cuts it short.
func (a *Agent) leaveAndShutdown(signals <-chan os.Signal) error {
	a.notify.Notify("STOPPING=1")
	done := make(chan error, 1)
	go func() { done <- a.Leave() }()
	var err error
	select {
	case err = <-done:
	case sig := <-signals:
		a.log.Warn("second signal: exiting without waiting for the leave", "signal", sig)
	case <-time.After(a.opts.LeaveTimeout):
		a.log.Warn("leave timed out", "timeout", a.opts.LeaveTimeout)
	}
	return errors.Join(err, a.Shutdown())
}

// Leave announces a graceful departure, after moving this host's running
// HA VMs to their passive hosts; those that cannot move are stopped, since
// the others will take over once this host is silent.
func (a *Agent) Leave() error {
	if a.cluster == nil {
		return nil
	}
	a.evacuate(a.opts.LeaveTimeout * 2 / 3)
	return a.cluster.Leave()
}

// Shutdown stops everything; calling it again does nothing.
func (a *Agent) Shutdown() error {
	var err error
	a.shutOnce.Do(func() {
		a.stopOnce.Do(func() { close(a.stop) })
		if a.api != nil {
			err = a.api.Close()
		}
		if a.stopVirt != nil {
			a.stopVirt()
		}
		if m, merr := a.manager(); merr == nil {
			err = errors.Join(err, m.Conn().Close())
		}
		if a.cluster != nil {
			err = errors.Join(err, a.cluster.Shutdown())
		}
		a.log.Info("agent stopped")
	})
	return err
}

// Reload re-reads the configuration and applies what can change while
// running: log level, profile, role, health interval, cluster limits. An
// invalid configuration changes nothing.
func (a *Agent) Reload() error {
	if a.opts.Reload == nil {
		return errors.New("reload is not supported here")
	}
	cfg, err := a.opts.Reload()
	if err != nil {
		return err
	}
	prof, err := profiles.Load(cfg.Preflight.Profile, profiles.Options{})
	if err != nil {
		return err
	}
	old := a.Config()
	if cfg.Node.Name == "" {
		cfg.Node.Name = old.Node.Name
	}
	for key, changed := range map[string]bool{
		"node.name": cfg.Node.Name != old.Node.Name, "agent.bind": cfg.Agent.Bind != old.Agent.Bind,
		"agent.advertise": cfg.Agent.Advertise != old.Agent.Advertise, "agent.encrypt": cfg.Agent.Encrypt != old.Agent.Encrypt,
		"agent.socket": cfg.Agent.Socket != old.Agent.Socket, "agent.data_dir": cfg.Agent.DataDir != old.Agent.DataDir,
		"agent.gossip": cfg.Agent.Gossip != old.Agent.Gossip,
	} {
		if changed {
			a.log.Warn("changing this key needs a restart; keeping the running value", "key", key)
		}
	}
	cfg.Node, cfg.Agent.Bind, cfg.Agent.Advertise, cfg.Agent.Encrypt = old.Node, old.Agent.Bind, old.Agent.Advertise, old.Agent.Encrypt
	cfg.Agent.Socket, cfg.Agent.DataDir, cfg.Agent.Gossip = old.Agent.Socket, old.Agent.DataDir, old.Agent.Gossip
	if a.opts.Level != nil {
		var l slog.Level
		if l.UnmarshalText([]byte(cfg.Log.Level)) == nil {
			a.opts.Level.Set(l)
		}
	}
	a.mu.Lock()
	a.cfg, a.prof = cfg, prof
	a.mu.Unlock()
	if a.cluster != nil {
		a.cluster.SetLimits(cluster.Limits{MaxHosts: cfg.Cluster.MaxHosts})
		if err := a.cluster.SetTags(func(t *cluster.Tags) { t.Role, t.Profile = cfg.Agent.Role, prof.Name }); err != nil {
			return err
		}
	}
	a.log.Info("configuration reloaded", "profile", prof.Name, "role", cfg.Agent.Role, "max_hosts", cfg.Cluster.MaxHosts, "health_interval", cfg.Agent.HealthInterval)
	go a.checkHealth(context.Background())
	return nil
}
