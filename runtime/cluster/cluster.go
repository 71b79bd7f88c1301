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
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"

	"github.com/vmnode/vmnode/runtime/config"
)

// Config is what the Serf agent needs.
type Config struct {
	Name      string
	Bind      netip.AddrPort // listen address
	Advertise netip.AddrPort // what the others dial
	DataDir   string         // keyring, snapshot and remembered hosts live under DataDir/serf
	Encrypt   bool
	KeyFile   string // the initial key when DataDir holds no keyring yet
	Gossip    string // timing profile: "lan" (Serf's defaults) or "fast"
	Limits    Limits
	Tags      Tags
	Log       *slog.Logger
	// Query answers vmnode's queries (names starting "vmnode."); it runs on its
	// own goroutine and must respond before the query's deadline.
	Query func(q *serf.Query)
	// Changed is called after every membership or quorum change, from the
	// event goroutine.
	Changed func()
}

// Cluster runs this host's Serf agent. New does no I/O; Start brings it up.
type Cluster struct {
	cfg    Config
	log    *slog.Logger
	events chan serf.Event

	mu         sync.Mutex
	serf       *serf.Serf
	view       []Member // a copy for the merge delegate, refreshed on every event
	tags       Tags
	quorum     Quorum
	remembered *remembered
	seed       netip.AddrPort // the member a Join is contacting
	refusal    error          // why the last contacted member was refused
	done       chan struct{}
	publish    chan struct{} // tags changed
	shutdown   bool
}

// New validates cfg.
func New(cfg Config) (*Cluster, error) {
	if cfg.Name == "" {
		return nil, errors.New("cluster: node name is empty")
	}
	if !cfg.Bind.IsValid() || !cfg.Advertise.IsValid() {
		return nil, errors.New("cluster: bind and advertise addresses are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	switch cfg.Gossip {
	case "", "lan", "fast":
	default:
		return nil, fmt.Errorf("cluster: gossip profile %q: want lan or fast", cfg.Gossip)
	}
	cfg.Tags.MaxHosts = cfg.Limits.MaxHosts
	return &Cluster{cfg: cfg, log: cfg.Log.With("component", "cluster"), tags: cfg.Tags, done: make(chan struct{}), publish: make(chan struct{}, 1)}, nil
}

func (c *Cluster) dir() string { return filepath.Join(c.cfg.DataDir, "serf") }

// Start creates the Serf agent: it listens, and rejoins the members of its
// snapshot if it has one.
func (c *Cluster) Start() error {
	if err := os.MkdirAll(c.dir(), 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	rem, err := loadRemembered(filepath.Join(c.dir(), "hosts.json"))
	if err != nil {
		return err
	}
	conf, err := c.serfConfig()
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.remembered = rem
	c.view = []Member{{Name: c.cfg.Name, Addr: c.cfg.Advertise.Addr(), Port: c.cfg.Advertise.Port(), Status: Alive, Tags: c.tags}}
	c.quorum = QuorumOf(c.view, rem.names)
	c.tags.Quorate = c.quorum.Has()
	c.mu.Unlock()
	if conf.Tags, err = c.tags.Encode(); err != nil {
		return err
	}
	s, err := serf.Create(conf)
	if err != nil {
		return fmt.Errorf("start gossip on %s: %w", c.cfg.Bind, err)
	}
	c.mu.Lock()
	c.serf = s
	c.mu.Unlock()
	go c.loop()
	go c.publisher(s)
	return nil
}

func (c *Cluster) serfConfig() (*serf.Config, error) {
	conf := serf.DefaultConfig()
	conf.Init()
	conf.NodeName = c.cfg.Name
	ml := memberlist.DefaultLANConfig()
	if c.cfg.Gossip == "fast" {
		tuneFast(conf, ml)
	}
	ml.Name = c.cfg.Name
	ml.BindAddr, ml.BindPort = c.cfg.Bind.Addr().String(), int(c.cfg.Bind.Port())
	ml.AdvertiseAddr, ml.AdvertisePort = c.cfg.Advertise.Addr().String(), int(c.cfg.Advertise.Port())
	conf.MemberlistConfig = ml
	if c.cfg.Encrypt {
		kr, err := LoadKeyring(filepath.Join(c.dir(), "keyring"), c.cfg.KeyFile)
		if err != nil {
			return nil, err
		}
		ml.Keyring = kr
		conf.KeyringFile = filepath.Join(c.dir(), "keyring")
	}
	conf.SnapshotPath = filepath.Join(c.dir(), "snapshot")
	conf.RejoinAfterLeave = true
	conf.Merge = (*mergeDelegate)(c)
	c.events = make(chan serf.Event, 256)
	conf.EventCh = c.events
	// A member's preflight report travels in a query response, sent straight
	// back (not gossiped). Queries themselves are gossiped in UDP packets:
	// they keep Serf's default 1 KiB limit.
	conf.QueryResponseSizeLimit = 48 << 10
	logger := newSerfLogger(c.log)
	conf.Logger, ml.Logger = logger, logger
	conf.LogOutput, ml.LogOutput = nil, nil
	return conf, nil
}

// tuneFast shortens the failure detector for a small, quiet LAN: probes
// every 200 ms, suspicion for 2 rounds, reconnects to failed members every
// 2 s. See the benchmarks for what it buys.
func tuneFast(conf *serf.Config, ml *memberlist.Config) {
	ml.ProbeInterval = 200 * time.Millisecond
	ml.ProbeTimeout = 100 * time.Millisecond
	ml.GossipInterval = 50 * time.Millisecond
	ml.SuspicionMult = 2
	ml.TCPTimeout = 3 * time.Second
	conf.ReconnectInterval = 2 * time.Second
	conf.ReapInterval = 5 * time.Second
}

// loop is the one goroutine that drains Serf's events.
func (c *Cluster) loop() {
	defer close(c.done)
	c.mu.Lock()
	s := c.serf
	c.mu.Unlock()
	for {
		select {
		case e := <-c.events:
			switch e := e.(type) {
			case serf.MemberEvent:
				var reaped []string
				for _, m := range e.Members {
					c.log.Info("member "+strings.TrimPrefix(e.EventType().String(), "member-"), "node", m.Name, "addr", m.Addr)
					if e.EventType() == serf.EventMemberReap {
						reaped = append(reaped, m.Name)
					}
				}
				c.refresh(reaped)
			case *serf.Query:
				if strings.HasPrefix(e.Name, "vmnode.") && c.cfg.Query != nil {
					go c.cfg.Query(e)
				}
			case serf.UserEvent:
				c.log.Debug("user event ignored", "name", e.Name)
			}
		case <-s.ShutdownCh():
			return
		}
	}
}

// refresh recomputes the view and the quorum after a membership change and
// publishes the quorum flag when it flips.
func (c *Cluster) refresh(reaped []string) {
	members := c.Members()
	c.mu.Lock()
	if _, err := c.remembered.sync(members, reaped); err != nil {
		c.log.Warn("cannot save the known hosts", "err", err)
	}
	c.view = members
	old := c.quorum
	c.quorum = QuorumOf(members, c.remembered.names)
	flipped := old.Has() != c.quorum.Has()
	q := c.quorum
	c.mu.Unlock()
	if flipped {
		c.log.Warn("quorum changed", "quorum", q.String())
		_ = c.SetTags(func(t *Tags) { t.Quorate = q.Has() })
	}
	if c.cfg.Changed != nil {
		c.cfg.Changed()
	}
}

// Join contacts each address in turn ("host" or "host:port") and reports how
// many it joined through. A refusal by the admission rules is a
// *RefusedError naming the reason.
func (c *Cluster) Join(ctx context.Context, addrs []string) (int, error) {
	var errs []error
	joined := 0
	for _, a := range addrs {
		if err := ctx.Err(); err != nil {
			return joined, err
		}
		n, err := c.joinOne(a)
		joined += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	if joined > 0 {
		c.prune()
		return joined, nil
	}
	return 0, errors.Join(errs...)
}

func (c *Cluster) joinOne(addr string) (int, error) {
	ap, err := resolve(addr)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	s := c.serf
	c.seed, c.refusal = ap, nil
	c.mu.Unlock()
	n, err := s.Join([]string{ap.String()}, true)
	c.mu.Lock()
	refusal := c.refusal
	c.seed, c.refusal = netip.AddrPort{}, nil
	c.mu.Unlock()
	switch {
	case refusal != nil:
		return 0, fmt.Errorf("%s: %w", addr, refusal)
	case err != nil:
		return 0, fmt.Errorf("cannot join %s: %s (is a vmnode agent listening there, the port open, and the gossip key the same on both hosts?)", addr, strings.TrimSpace(unwrapMulti(err)))
	}
	return n, nil
}

// prune forgets remembered hosts the cluster no longer knows at all (reaped
// while this host was away): after a join the view is the cluster's.
func (c *Cluster) prune() {
	members := c.Members()
	c.mu.Lock()
	defer c.mu.Unlock()
	var gone []string
	for _, n := range c.remembered.names {
		if !hasName(members, n) {
			gone = append(gone, n)
		}
	}
	if len(gone) > 0 {
		_, _ = c.remembered.sync(members, gone)
		c.quorum = QuorumOf(members, c.remembered.names)
	}
}

func hasName(ms []Member, name string) bool {
	for _, m := range ms {
		if m.Name == name {
			return true
		}
	}
	return false
}

func resolve(addr string) (netip.AddrPort, error) {
	hostPort, err := config.JoinAddress(addr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	tcp, err := net.ResolveTCPAddr("tcp", hostPort)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("join address %s: %w", addr, err)
	}
	ap := tcp.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

func unwrapMulti(err error) string {
	s := err.Error()
	if i := strings.Index(s, "failed to join "); i >= 0 {
		s = s[i:]
		if j := strings.Index(s, ": "); j >= 0 {
			s = s[j+2:]
		}
	}
	return strings.TrimRight(s, "\n\t ")
}

// Members is every member Serf knows, this one included, sorted by name.
func (c *Cluster) Members() []Member {
	c.mu.Lock()
	s := c.serf
	c.mu.Unlock()
	if s == nil {
		return nil
	}
	sm := s.Members()
	out := make([]Member, 0, len(sm))
	for _, m := range sm {
		out = append(out, fromSerf(m))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Remembered are the names of the hosts this member has seen in the cluster
// and that have not left or been removed, itself included, sorted: the
// hosts a majority is counted over, gossip's view or not.
func (c *Cluster) Remembered() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.remembered.names)
}

// Quorum is the current majority count.
func (c *Cluster) Quorum() Quorum {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.quorum
}

// Tags are the tags this member publishes.
func (c *Cluster) Tags() Tags {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tags
}

// SetTags changes this member's tags; a background publisher gossips them,
// since Serf waits for the broadcast to leave, and that can take seconds
// when the other members are unreachable.
func (c *Cluster) SetTags(change func(*Tags)) error {
	c.mu.Lock()
	t := c.tags
	change(&t)
	if _, err := t.Encode(); err != nil {
		c.mu.Unlock()
		return err
	}
	c.tags = t
	c.mu.Unlock()
	select {
	case c.publish <- struct{}{}:
	default: // a publish is pending; it will take the latest tags
	}
	return nil
}

// publisher gossips the latest tags whenever SetTags changed them.
func (c *Cluster) publisher(s *serf.Serf) {
	for {
		select {
		case <-c.publish:
			enc, err := c.Tags().Encode()
			if err == nil {
				err = s.SetTags(enc)
			}
			if err != nil && s.State() == serf.SerfAlive {
				c.log.Warn("cannot publish tags", "err", err)
			}
		case <-s.ShutdownCh():
			return
		}
	}
}

// SetLimits changes the limits this member enforces and publishes.
func (c *Cluster) SetLimits(l Limits) {
	c.mu.Lock()
	c.cfg.Limits = l
	c.mu.Unlock()
	_ = c.SetTags(func(t *Tags) { t.MaxHosts = l.MaxHosts })
}

// Serf is the running agent, for queries and key management.
func (c *Cluster) Serf() *serf.Serf {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.serf
}

// ForceLeave marks a failed member as left, so it stops counting.
func (c *Cluster) ForceLeave(name string) error {
	for _, m := range c.Members() {
		if m.Name != name {
			continue
		}
		if m.Status == Alive {
			return fmt.Errorf("%s is alive: only a failed member can be removed; stop its agent (it then leaves by itself)", name)
		}
		if err := c.Serf().RemoveFailedNodePrune(name); err != nil {
			return fmt.Errorf("force-leave %s: %w", name, err)
		}
		c.refresh([]string{name})
		return nil
	}
	return fmt.Errorf("no member named %s", name)
}

// Leave announces a graceful departure and waits for it to spread.
func (c *Cluster) Leave() error {
	s := c.Serf()
	if s == nil || s.State() != serf.SerfAlive {
		return nil
	}
	if err := s.Leave(); err != nil {
		return fmt.Errorf("leave: %w", err)
	}
	return nil
}

// Shutdown stops Serf without leaving; calling it again does nothing.
func (c *Cluster) Shutdown() error {
	c.mu.Lock()
	s, already := c.serf, c.shutdown
	c.shutdown = true
	c.mu.Unlock()
	if s == nil || already {
		return nil
	}
	err := s.Shutdown()
	<-c.done
	return err
}
