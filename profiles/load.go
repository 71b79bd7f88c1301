// Package profiles holds the built-in cluster profiles (embedded YAML), the
// Profile type, and the strict loader that turns a name or a file into a
// validated Profile. It imports nothing of vmnode's but strictyaml.
package profiles

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vmnode/vmnode/profiles/strictyaml"
)

//go:embed builtin/*.yaml
var builtin embed.FS

// Default is the profile used when none is named.
const Default = "vmnode"

// LocalDir is where operators keep their own profiles, one NAME.yaml each.
const LocalDir = "/etc/vmnode/profiles.d"

// Options tune Load.
type Options struct {
	// LocalDir overrides LocalDir (tests). Empty means LocalDir.
	LocalDir string
	// KnownChecks, when set, makes an unknown ID in checks.disable an error.
	KnownChecks []string
}

// Info describes an available profile.
type Info struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Origin      string `json:"origin"` // "built-in" or the file it came from
}

// Load resolves ref and returns the validated profile. ref is a path (it
// contains a slash or ends in .yaml/.yml), the name of a file in the local
// directory, or the name of a built-in profile; a local profile shadows a
// built-in one of the same name.
func Load(ref string, opt Options) (*Profile, error) {
	file, data, err := read(ref, opt.localDir())
	if err != nil {
		return nil, err
	}
	return Parse(file, data, opt)
}

// Parse decodes and validates one profile document read from file.
func Parse(file string, data []byte, opt Options) (*Profile, error) {
	var p Profile
	if err := strictyaml.Decode(file, data, &p); err != nil {
		return nil, err
	}
	if errs := p.validate(opt.KnownChecks); len(errs) > 0 {
		var out strictyaml.Errors
		for _, e := range errs {
			out = append(out, &strictyaml.Error{File: file, Line: strictyaml.LineOf(data, e.key), Key: e.key, Msg: e.msg})
		}
		if len(out) == 1 {
			return nil, out[0]
		}
		return nil, out
	}
	return &p, nil
}

// Marshal renders p as YAML that Load accepts back.
func Marshal(p *Profile) ([]byte, error) { return yaml.Marshal(p) }

// List returns the built-in profiles and those in the local directory.
func List(opt Options) ([]Info, error) {
	byName := map[string]Info{}
	entries, err := fs.ReadDir(builtin, "builtin")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".yaml")
		p, err := Load(name, Options{LocalDir: "/nonexistent"})
		if err != nil {
			return nil, err
		}
		byName[name] = Info{Name: name, Description: p.Description, Origin: "built-in"}
	}
	local, _ := filepath.Glob(filepath.Join(opt.localDir(), "*.yaml"))
	for _, f := range local {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		info := Info{Name: name, Origin: f}
		if p, err := Load(f, opt); err == nil {
			info.Description = p.Description
		} else {
			info.Description = "invalid: " + err.Error()
		}
		byName[name] = info
	}
	out := make([]Info, 0, len(byName))
	for _, i := range byName {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out, nil
}

func (o Options) localDir() string {
	if o.LocalDir != "" {
		return o.LocalDir
	}
	return LocalDir
}

func read(ref, localDir string) (string, []byte, error) {
	if ref == "" {
		ref = Default
	}
	if strings.ContainsRune(ref, '/') || strings.HasSuffix(ref, ".yaml") || strings.HasSuffix(ref, ".yml") {
		data, err := os.ReadFile(ref)
		if err != nil {
			return ref, nil, fmt.Errorf("profile %s: %w", ref, err)
		}
		return ref, data, nil
	}
	local := filepath.Join(localDir, ref+".yaml")
	if data, err := os.ReadFile(local); err == nil {
		return local, data, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return local, nil, fmt.Errorf("profile %s: %w", local, err)
	}
	data, err := builtin.ReadFile("builtin/" + ref + ".yaml")
	if err != nil {
		names, _ := fs.Glob(builtin, "builtin/*.yaml")
		for i, n := range names {
			names[i] = strings.TrimSuffix(filepath.Base(n), ".yaml")
		}
		return ref, nil, fmt.Errorf("unknown profile %q: built-in profiles are %s; a local one goes in %s/%s.yaml, or pass a file path",
			ref, strings.Join(names, ", "), localDir, ref)
	}
	return "built-in:" + ref, data, nil
}

type fieldError struct{ key, msg string }

func (p *Profile) validate(known []string) []fieldError {
	var errs []fieldError
	add := func(key, format string, args ...any) {
		errs = append(errs, fieldError{key, fmt.Sprintf(format, args...)})
	}
	if p.Name == "" {
		add("name", "a profile needs a name")
	}
	if len(p.OS.Supported) == 0 {
		add("os.supported", "list at least one supported release (id and versions)")
	}
	for i, r := range p.OS.Supported {
		if r.ID == "" {
			add(fmt.Sprintf("os.supported.%d", i), "release needs an id (os-release ID, e.g. almalinux)")
		}
	}
	if f := p.OS.Family; f != "" && f != "rhel" && f != "debian" {
		add("os.family", "family %q: want rhel or debian", f)
	}
	rangeCheck(&errs, "cpu.cores", p.CPU.Cores)
	rangeCheck(&errs, "cpu.frequency", p.CPU.Frequency)
	rangeCheck(&errs, "memory", p.Memory)
	rangeCheck(&errs, "disk.root", p.Disk.Root)
	if p.Time.OffsetWarn > 0 && p.Time.OffsetFail > 0 && p.Time.OffsetWarn > p.Time.OffsetFail {
		add("time.offset_warn", "offset_warn (%s) is above offset_fail (%s)", p.Time.OffsetWarn, p.Time.OffsetFail)
	}
	switch p.SELinux {
	case "", "disabled", "any":
	default:
		add("selinux", "selinux %q: want disabled or any", p.SELinux)
	}
	for i, port := range p.Firewall.Ports {
		if port.Proto != "tcp" && port.Proto != "udp" {
			add(fmt.Sprintf("firewall.ports.%d.proto", i), "proto %q: want tcp or udp", port.Proto)
		}
		if port.Port.First == 0 {
			add(fmt.Sprintf("firewall.ports.%d.port", i), "port is required")
		}
	}
	if known != nil {
		for i, id := range p.Checks.Disable {
			if !slices.Contains(known, id) {
				add(fmt.Sprintf("checks.disable.%d", i), "unknown check ID %q (see `vmnode preflight --list-checks`)", id)
			}
		}
	}
	return errs
}

func rangeCheck[T ~uint64 | ~float64 | ~int](errs *[]fieldError, key string, r Range[T]) {
	if r.Recommended != 0 && r.Recommended < r.Min {
		*errs = append(*errs, fieldError{key + ".recommended", fmt.Sprintf("recommended (%v) is below min (%v)", r.Recommended, r.Min)})
	}
}
