package profiles

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vmnode/vmnode/profiles/strictyaml"
)

// Bytes is a size written with a unit: "8GiB", "1TB", "512MiB".
// Decimal units (kB, MB, GB, TB) are powers of 1000, binary ones (KiB, MiB,
// GiB, TiB) powers of 1024.
type Bytes uint64

var byteUnits = []struct {
	suffix string
	mult   float64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3}, {"KB", 1e3}, {"B", 1},
}

// ParseBytes parses "8GiB", "1 TB" or a plain number of bytes.
func ParseBytes(s string) (Bytes, error) {
	t := strings.TrimSpace(s)
	for _, u := range byteUnits {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil || f < 0 || math.IsInf(f, 0) {
				return 0, fmt.Errorf("invalid size %q: want a number and a unit such as 8GiB or 1TB", s)
			}
			return Bytes(f * u.mult), nil
		}
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: want a number and a unit such as 8GiB or 1TB", s)
	}
	return Bytes(n), nil
}

// String renders the size the way people read it: binary units below a
// terabyte, decimal ones above (disks are sold in TB).
func (b Bytes) String() string {
	switch {
	case b >= 1e12:
		return trimFloat(float64(b)/1e12) + " TB"
	case b >= 1<<30:
		return trimFloat(float64(b)/(1<<30)) + " GiB"
	case b >= 1<<20:
		return trimFloat(float64(b)/(1<<20)) + " MiB"
	default:
		return strconv.FormatUint(uint64(b), 10) + " B"
	}
}

// UnmarshalYAML accepts "8GiB" or an integer.
func (b *Bytes) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseBytes(n.Value)
	if err != nil {
		return strictyaml.At(n, err)
	}
	*b = v
	return nil
}

// MarshalYAML writes the size back in a form UnmarshalYAML accepts.
func (b Bytes) MarshalYAML() (any, error) { return strings.ReplaceAll(b.String(), " ", ""), nil }

// MHz is a CPU frequency written "2.4GHz" or "2400MHz".
type MHz float64

// ParseMHz parses "2.4GHz", "2400MHz" or a plain number of MHz.
func ParseMHz(s string) (MHz, error) {
	t := strings.TrimSpace(s)
	mult := 1.0
	switch {
	case strings.HasSuffix(t, "GHz"):
		t, mult = strings.TrimSuffix(t, "GHz"), 1000
	case strings.HasSuffix(t, "MHz"):
		t = strings.TrimSuffix(t, "MHz")
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || f < 0 || math.IsInf(f, 0) {
		return 0, fmt.Errorf("invalid frequency %q: want a number and a unit such as 2.4GHz", s)
	}
	return MHz(f * mult), nil
}

func (m MHz) String() string {
	if m >= 1000 {
		return strconv.FormatFloat(float64(m)/1000, 'f', 2, 64) + " GHz"
	}
	return trimFloat(float64(m)) + " MHz"
}

// UnmarshalYAML accepts "2.4GHz" or a number of MHz.
func (m *MHz) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseMHz(n.Value)
	if err != nil {
		return strictyaml.At(n, err)
	}
	*m = v
	return nil
}

// MarshalYAML writes the frequency back in a form UnmarshalYAML accepts.
func (m MHz) MarshalYAML() (any, error) { return trimFloat(float64(m)) + "MHz", nil }

// Duration is a time.Duration written "100ms", "2s".
type Duration time.Duration

// UnmarshalYAML accepts a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return strictyaml.At(n, fmt.Errorf("invalid duration %q: want e.g. 100ms or 2s", n.Value))
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a Go duration string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

func (d Duration) String() string { return time.Duration(d).String() }

// trimFloat renders f with at most two decimals and no trailing zeros.
func trimFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', 2, 64)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}
