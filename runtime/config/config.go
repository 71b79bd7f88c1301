// Package config loads vmnode's configuration: built-in defaults, then
// /etc/vmnode/vmnode.yaml (or --config FILE), then VMNODE_* environment
// variables, then command-line flags. The file is decoded strictly first, so
// an unknown key or a wrong type names the file, the line and the key. One
// viper instance per load; the result is a plain struct passed by value.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"

	"github.com/vmnode/vmnode/profiles/strictyaml"
	"github.com/vmnode/vmnode/runtime/ha"
)

// DefaultFile is read when --config is not given; it may be absent.
const DefaultFile = "/etc/vmnode/vmnode.yaml"

// EnvPrefix prefixes environment overrides: VMNODE_NODE_ADDRESS sets node.address.
const EnvPrefix = "VMNODE"

// Config is vmnode's configuration.
type Config struct {
	Node      Node      `yaml:"node" mapstructure:"node"`
	Preflight Preflight `yaml:"preflight" mapstructure:"preflight"`
	Provision Provision `yaml:"provision" mapstructure:"provision"`
	Agent     Agent     `yaml:"agent" mapstructure:"agent"`
	Cluster   Cluster   `yaml:"cluster" mapstructure:"cluster"`
	VM        VM        `yaml:"vm" mapstructure:"vm"`
	HA        HA        `yaml:"ha" mapstructure:"ha"`
	Log       Log       `yaml:"log" mapstructure:"log"`

	File string `yaml:"-" mapstructure:"-"` // the file read, "" when none
}

// Node identifies this host in the cluster.
type Node struct {
	Name    string `yaml:"name" mapstructure:"name"`       // default: the hostname
	Address string `yaml:"address" mapstructure:"address"` // default: the default-route interface's address
}

// Preflight configures `vmnode preflight`.
type Preflight struct {
	Profile    string        `yaml:"profile" mapstructure:"profile"`
	Timeout    time.Duration `yaml:"timeout" mapstructure:"timeout"` // per check
	NTPServers []string      `yaml:"ntp_servers" mapstructure:"ntp_servers"`
	Offline    bool          `yaml:"offline" mapstructure:"offline"`
	Ignore     []Waiver      `yaml:"ignore" mapstructure:"-"` // file only: structured
}

// Waiver ignores a check's failure, optionally until a date, for a reason.
type Waiver struct {
	ID     string `yaml:"id"`
	Until  Date   `yaml:"until"`
	Reason string `yaml:"reason"`
}

// Provision configures `vmnode provision`.
type Provision struct {
	DNS            []string `yaml:"dns" mapstructure:"dns"`                         // resolvers, for the resolver step; never guessed
	NTPServers     []string `yaml:"ntp_servers" mapstructure:"ntp_servers"`         // chrony servers; default: the profile's time.servers
	FirewallPolicy string   `yaml:"firewall_policy" mapstructure:"firewall_policy"` // accept (default) or drop for unlisted inbound traffic
}

// Agent configures `vmnode agent`, the daemon.
type Agent struct {
	Bind           string        `yaml:"bind" mapstructure:"bind"`                       // gossip listen address, host:port
	Advertise      string        `yaml:"advertise" mapstructure:"advertise"`             // address others reach us at; default node.address, then discovered
	DataDir        string        `yaml:"data_dir" mapstructure:"data_dir"`               // state: keyring, known members
	Join           []string      `yaml:"join" mapstructure:"join"`                       // members to join at start, host or host:port
	Encrypt        bool          `yaml:"encrypt" mapstructure:"encrypt"`                 // gossip encryption; on unless explicitly off
	KeyFile        string        `yaml:"key_file" mapstructure:"key_file"`               // the initial gossip key, base64 (vmnode keygen)
	Socket         string        `yaml:"socket" mapstructure:"socket"`                   // the root-only control socket
	Role           string        `yaml:"role" mapstructure:"role"`                       // published to the cluster
	Gossip         string        `yaml:"gossip" mapstructure:"gossip"`                   // timing profile: lan (Serf defaults) or fast
	HealthInterval time.Duration `yaml:"health_interval" mapstructure:"health_interval"` // how often local checks re-run
}

// Cluster holds the limits every member enforces.
type Cluster struct {
	MaxHosts int `yaml:"max_hosts" mapstructure:"max_hosts"` // joins beyond this are refused
}

// VM configures how the agent runs VMs through libvirt.
type VM struct {
	LibvirtSocket string  `yaml:"libvirt_socket" mapstructure:"libvirt_socket"` // libvirtd's unix socket
	LibvirtURI    string  `yaml:"libvirt_uri" mapstructure:"libvirt_uri"`       // the driver behind it
	DomainType    string  `yaml:"domain_type" mapstructure:"domain_type"`       // auto (kvm when /dev/kvm is usable), kvm, or qemu (emulation)
	Network       string  `yaml:"network" mapstructure:"network"`               // libvirt network of NICs given no network= or bridge=
	VNCListen     string  `yaml:"vnc_listen" mapstructure:"vnc_listen"`         // consoles listen here; default: the agent's advertise address
	ReservedMiB   int     `yaml:"reserved_memory_mib" mapstructure:"reserved_memory_mib"`
	ReservedCPUs  int     `yaml:"reserved_cpus" mapstructure:"reserved_cpus"`
	CPUOvercommit float64 `yaml:"cpu_overcommit" mapstructure:"cpu_overcommit"` // vCPUs per thread left to VMs
	// MigrateURI is how this host's libvirtd reaches a target's for a
	// peer-to-peer migration; {address} is the target's node address.
	MigrateURI string `yaml:"migrate_uri" mapstructure:"migrate_uri"`
}

// HA are the High Availability timers (runtime/ha.Timers; the rules that
// bind them are checked at load).
type HA struct {
	FenceTimeout   time.Duration `yaml:"fence_timeout" mapstructure:"fence_timeout"`     // a host without quorum this long destroys its HA VMs
	FailoverDelay  time.Duration `yaml:"failover_delay" mapstructure:"failover_delay"`   // silence before the passive host takes over
	Skew           time.Duration `yaml:"skew" mapstructure:"skew"`                       // reports are exchanged twice per skew
	Watchdog       time.Duration `yaml:"watchdog" mapstructure:"watchdog"`               // watchdog timeout; 0: no watchdog
	WatchdogDevice string        `yaml:"watchdog_device" mapstructure:"watchdog_device"` // e.g. /dev/watchdog; "" none
	MaxRestarts    int           `yaml:"max_restarts" mapstructure:"max_restarts"`       // restarts in place before the passive takes over
}

// Log configures logging on stderr.
type Log struct {
	Level string `yaml:"level" mapstructure:"level"` // debug, info, warn, error
}

// Date is a calendar day written YYYY-MM-DD.
type Date struct{ time.Time }

// UnmarshalYAML accepts YYYY-MM-DD.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	t, err := time.Parse(time.DateOnly, n.Value)
	if err != nil {
		return strictyaml.At(n, fmt.Errorf("invalid date %q: want YYYY-MM-DD", n.Value))
	}
	d.Time = t
	return nil
}

// Defaults is the configuration with nothing set.
func Defaults() Config {
	return Config{
		Preflight: Preflight{Profile: "vmnode", Timeout: 5 * time.Second},
		Provision: Provision{FirewallPolicy: "accept"},
		Agent: Agent{
			Bind:           "0.0.0.0:7946",
			DataDir:        "/var/lib/vmnode",
			Encrypt:        true,
			KeyFile:        "/etc/vmnode/gossip.key",
			Socket:         "/run/vmnode/agent.sock",
			Role:           "hypervisor",
			Gossip:         "lan",
			HealthInterval: 5 * time.Minute,
		},
		Cluster: Cluster{MaxHosts: 7},
		VM: VM{
			LibvirtSocket: "/run/libvirt/libvirt-sock",
			LibvirtURI:    "qemu:///system",
			DomainType:    "auto",
			Network:       "default",
			ReservedMiB:   1024,
			ReservedCPUs:  1,
			CPUOvercommit: 4,
			MigrateURI:    "qemu+tls://{address}/system",
		},
		HA:  HA{FenceTimeout: 5 * time.Second, FailoverDelay: 11 * time.Second, Skew: time.Second, Watchdog: 3 * time.Second, MaxRestarts: 3},
		Log: Log{Level: "info"},
	}
}

// Options say where to read from.
type Options struct {
	File     string            // --config; "" means DefaultFile, which may be absent
	Flags    *pflag.FlagSet    // the command's flags
	Bindings map[string]string // config key -> flag name, e.g. "node.address": "address"
	// KnownChecks, when set, makes a waiver for an unknown check ID an error.
	KnownChecks []string
}

// Load reads the configuration.
func Load(o Options) (Config, error) {
	v := viper.New()
	def := Defaults()
	v.SetDefault("node.name", def.Node.Name)
	v.SetDefault("node.address", def.Node.Address)
	v.SetDefault("preflight.profile", def.Preflight.Profile)
	v.SetDefault("preflight.timeout", def.Preflight.Timeout)
	v.SetDefault("preflight.ntp_servers", def.Preflight.NTPServers)
	v.SetDefault("preflight.offline", def.Preflight.Offline)
	v.SetDefault("provision.dns", def.Provision.DNS)
	v.SetDefault("provision.ntp_servers", def.Provision.NTPServers)
	v.SetDefault("provision.firewall_policy", def.Provision.FirewallPolicy)
	v.SetDefault("agent.bind", def.Agent.Bind)
	v.SetDefault("agent.advertise", def.Agent.Advertise)
	v.SetDefault("agent.data_dir", def.Agent.DataDir)
	v.SetDefault("agent.join", def.Agent.Join)
	v.SetDefault("agent.encrypt", def.Agent.Encrypt)
	v.SetDefault("agent.key_file", def.Agent.KeyFile)
	v.SetDefault("agent.socket", def.Agent.Socket)
	v.SetDefault("agent.role", def.Agent.Role)
	v.SetDefault("agent.gossip", def.Agent.Gossip)
	v.SetDefault("agent.health_interval", def.Agent.HealthInterval)
	v.SetDefault("cluster.max_hosts", def.Cluster.MaxHosts)
	v.SetDefault("vm.libvirt_socket", def.VM.LibvirtSocket)
	v.SetDefault("vm.libvirt_uri", def.VM.LibvirtURI)
	v.SetDefault("vm.domain_type", def.VM.DomainType)
	v.SetDefault("vm.network", def.VM.Network)
	v.SetDefault("vm.vnc_listen", def.VM.VNCListen)
	v.SetDefault("vm.reserved_memory_mib", def.VM.ReservedMiB)
	v.SetDefault("vm.reserved_cpus", def.VM.ReservedCPUs)
	v.SetDefault("vm.cpu_overcommit", def.VM.CPUOvercommit)
	v.SetDefault("vm.migrate_uri", def.VM.MigrateURI)
	v.SetDefault("ha.fence_timeout", def.HA.FenceTimeout)
	v.SetDefault("ha.failover_delay", def.HA.FailoverDelay)
	v.SetDefault("ha.skew", def.HA.Skew)
	v.SetDefault("ha.watchdog", def.HA.Watchdog)
	v.SetDefault("ha.watchdog_device", def.HA.WatchdogDevice)
	v.SetDefault("ha.max_restarts", def.HA.MaxRestarts)
	v.SetDefault("log.level", def.Log.Level)

	file, data, err := readFile(o.File)
	if err != nil {
		return Config{}, err
	}
	var fromFile Config
	if data != nil && setsNothing(data) {
		data = []byte("{}") // empty or comments only, as the package ships it
	}
	if data != nil {
		if err := strictyaml.Decode(file, data, &fromFile); err != nil {
			return Config{}, err
		}
		if err := validate(file, data, fromFile, o.KnownChecks); err != nil {
			return Config{}, err
		}
		v.SetConfigType("yaml")
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return Config{}, fmt.Errorf("%s: %w", file, err)
		}
	}

	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_", "-", "_"))
	v.AutomaticEnv()
	for key, name := range o.Bindings {
		if o.Flags == nil {
			break
		}
		if f := o.Flags.Lookup(name); f != nil && f.Changed {
			if err := v.BindPFlag(key, f); err != nil {
				return Config{}, fmt.Errorf("bind --%s: %w", name, err)
			}
		}
	}

	cfg := def
	if err := v.Unmarshal(&cfg); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	cfg.Preflight.Ignore = fromFile.Preflight.Ignore
	cfg.File = file
	if data == nil {
		cfg.File = ""
	}
	return cfg, nil
}

// setsNothing reports whether a YAML file is empty or only comments.
func setsNothing(data []byte) bool {
	var n yaml.Node
	return yaml.Unmarshal(data, &n) == nil && len(n.Content) == 0
}

func readFile(explicit string) (string, []byte, error) {
	file := explicit
	if file == "" {
		file = DefaultFile
	}
	data, err := os.ReadFile(file)
	if err != nil {
		if explicit == "" && errors.Is(err, fs.ErrNotExist) {
			return file, nil, nil
		}
		return file, nil, fmt.Errorf("config %s: %w", file, err)
	}
	return file, data, nil
}

func validate(file string, data []byte, c Config, known []string) error {
	var errs strictyaml.Errors
	bad := func(key, format string, a ...any) {
		errs = append(errs, &strictyaml.Error{File: file, Line: strictyaml.LineOf(data, key), Key: key, Msg: fmt.Sprintf(format, a...)})
	}
	for i, w := range c.Preflight.Ignore {
		key := fmt.Sprintf("preflight.ignore.%d.id", i)
		switch {
		case w.ID == "":
			bad(fmt.Sprintf("preflight.ignore.%d", i), "a waiver needs an id (a check ID)")
		case known != nil && !slices.Contains(known, w.ID):
			bad(key, "unknown check ID %q (see `vmnode preflight --list-checks`)", w.ID)
		}
	}
	if c.Preflight.Timeout < 0 {
		bad("preflight.timeout", "timeout must be positive")
	}
	switch c.Provision.FirewallPolicy {
	case "", "accept", "drop":
	default:
		bad("provision.firewall_policy", "policy %q: want accept or drop", c.Provision.FirewallPolicy)
	}
	for i, d := range c.Provision.DNS {
		if _, err := netip.ParseAddr(d); err != nil {
			bad(fmt.Sprintf("provision.dns.%d", i), "%q is not an IP address", d)
		}
	}
	if c.Agent.Bind != "" {
		if _, _, err := net.SplitHostPort(c.Agent.Bind); err != nil {
			bad("agent.bind", "%q: want host:port, e.g. 0.0.0.0:7946", c.Agent.Bind)
		}
	}
	if a := c.Agent.Advertise; a != "" {
		if _, err := netip.ParseAddr(a); err != nil {
			bad("agent.advertise", "%q is not an IP address", a)
		}
	}
	for i, j := range c.Agent.Join {
		if _, err := JoinAddress(j); err != nil {
			bad(fmt.Sprintf("agent.join.%d", i), "%v", err)
		}
	}
	switch c.Agent.Gossip {
	case "", "lan", "fast":
	default:
		bad("agent.gossip", "gossip profile %q: want lan or fast", c.Agent.Gossip)
	}
	if c.Agent.HealthInterval < 0 {
		bad("agent.health_interval", "interval must be positive")
	}
	if c.Cluster.MaxHosts < 0 {
		bad("cluster.max_hosts", "max_hosts must be positive")
	}
	switch c.VM.DomainType {
	case "", "auto", "kvm", "qemu":
	default:
		bad("vm.domain_type", "domain type %q: want auto, kvm or qemu", c.VM.DomainType)
	}
	if a := c.VM.VNCListen; a != "" {
		if _, err := netip.ParseAddr(a); err != nil {
			bad("vm.vnc_listen", "%q is not an IP address", a)
		}
	}
	if c.VM.ReservedMiB < 0 {
		bad("vm.reserved_memory_mib", "must be 0 or more")
	}
	if c.VM.ReservedCPUs < 0 {
		bad("vm.reserved_cpus", "must be 0 or more")
	}
	if c.VM.CPUOvercommit < 0 {
		bad("vm.cpu_overcommit", "must be positive, e.g. 4 (vCPUs per thread)")
	}
	if u := c.VM.MigrateURI; u != "" && !strings.Contains(u, "{address}") {
		bad("vm.migrate_uri", "%q: want a libvirt URI with {address} for the target, e.g. qemu+tls://{address}/system", u)
	}
	if c.HA != (HA{}) {
		merged := Defaults().HA
		mergeHA(&merged, c.HA)
		if err := merged.Timers("lan").Validate(); err != nil {
			key := "ha"
			for _, k := range []string{"failover_delay", "fence_timeout", "watchdog", "skew", "max_restarts"} {
				if strictyaml.LineOf(data, "ha."+k) > 0 {
					key = "ha." + k
					break
				}
			}
			bad(key, "unsafe HA timers: %v", err)
		}
	}
	switch c.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		bad("log.level", "level %q: want debug, info, warn or error", c.Log.Level)
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errs
}

// mergeHA sets in dst what the file sets in src (a zero duration is unset;
// max_restarts 0 is taken only with the others, which is the usual case of
// a full ha: section).
func mergeHA(dst *HA, src HA) {
	for _, f := range []struct{ d, s *time.Duration }{{&dst.FenceTimeout, &src.FenceTimeout}, {&dst.FailoverDelay, &src.FailoverDelay}, {&dst.Skew, &src.Skew}, {&dst.Watchdog, &src.Watchdog}} {
		if *f.s != 0 {
			*f.d = *f.s
		}
	}
	if src.WatchdogDevice != "" {
		dst.WatchdogDevice = src.WatchdogDevice
	}
	if src.MaxRestarts != 0 {
		dst.MaxRestarts = src.MaxRestarts
	}
}

// Timers are the HA timers for a gossip profile (lan or fast), which sets
// how long failure detection takes. Without a watchdog device the watchdog
// timer is 0: nothing but the agent stops a hung agent's VMs, and the
// failover delay need not wait for one.
func (h HA) Timers(gossip string) ha.Timers {
	t := ha.Timers{Detection: ha.DefaultTimers().Detection, Skew: h.Skew, FenceTimeout: h.FenceTimeout,
		FailoverDelay: h.FailoverDelay, Watchdog: h.Watchdog, MaxRestarts: h.MaxRestarts}
	if gossip == "fast" {
		t.Detection = ha.Tuned().Detection
	}
	if h.WatchdogDevice == "" {
		t.Watchdog = 0
	}
	return t
}

// GossipPort is the Serf port members listen on unless told otherwise.
const GossipPort = 7946

// JoinAddress checks a join address, host or host:port, and returns it as
// host:port with the default gossip port filled in.
func JoinAddress(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port: a bare host name or address (IPv6 possibly in brackets).
		host, port = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), strconv.Itoa(GossipPort)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("join address %q: port %q is not a number from 1 to 65535", s, port)
	}
	if host == "" || strings.ContainsAny(host, " /\t") {
		return "", fmt.Errorf("join address %q: want HOST or HOST:PORT", s)
	}
	if strings.Contains(host, ":") {
		if _, err := netip.ParseAddr(host); err != nil {
			return "", fmt.Errorf("join address %q: want HOST or HOST:PORT (IPv6 as [ADDR]:PORT)", s)
		}
	}
	return net.JoinHostPort(host, port), nil
}
