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
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"

	"github.com/vmnode/vmnode/profiles/strictyaml"
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
		Log:       Log{Level: "info"},
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
	v.SetDefault("log.level", def.Log.Level)

	file, data, err := readFile(o.File)
	if err != nil {
		return Config{}, err
	}
	var fromFile Config
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
