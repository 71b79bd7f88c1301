package cpu

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// CPUInfo is what /proc/cpuinfo says: one Processor per logical CPU the
// kernel has online.
type CPUInfo struct {
	Processors []Processor
	// Extra holds the lines outside any processor block (ARM kernels print
	// "Hardware", "Revision" and "Serial" after the last block).
	Extra map[string]string
}

// Processor is one "processor : N" block. Fields the kernel does not print
// for the architecture stay zero.
type Processor struct {
	Index      int
	VendorID   string   // x86: GenuineIntel, AuthenticAMD, ...
	ModelName  string   // x86: "Intel(R) Xeon(R) Gold 5115 CPU @ 2.40GHz"
	Flags      []string // x86 "flags"
	MHz        float64  // x86 "cpu MHz": the current speed, not the rated one
	PhysicalID string   // socket, x86 only
	Features   []string // ARM "Features"
	// ARM identification.
	Implementer     string // "0x41"
	CPUArchitecture string // "8" for ARMv8 (aarch64)
}

// HasFlag reports whether any processor lists flag.
func (c CPUInfo) HasFlag(flag string) bool {
	for _, p := range c.Processors {
		if slices.Contains(p.Flags, flag) {
			return true
		}
	}
	return false
}

// Vendor is the first vendor_id found, "" when none.
func (c CPUInfo) Vendor() string {
	for _, p := range c.Processors {
		if p.VendorID != "" {
			return p.VendorID
		}
	}
	return ""
}

// Model is the first model name found, "" when none.
func (c CPUInfo) Model() string {
	for _, p := range c.Processors {
		if p.ModelName != "" {
			return p.ModelName
		}
	}
	return ""
}

// Sockets counts distinct physical ids; 0 when the kernel does not print them.
func (c CPUInfo) Sockets() int {
	seen := map[string]bool{}
	for _, p := range c.Processors {
		if p.PhysicalID != "" {
			seen[p.PhysicalID] = true
		}
	}
	return len(seen)
}

// MaxMHz is the highest "cpu MHz" over all processors, 0 when absent.
func (c CPUInfo) MaxMHz() float64 {
	var m float64
	for _, p := range c.Processors {
		m = max(m, p.MHz)
	}
	return m
}

// Arch infers the `uname -m` machine name from the cpuinfo format: x86
// kernels print vendor_id and flags ("lm" means 64-bit), ARM kernels print
// "CPU implementer", "Features" and "CPU architecture". It returns "" when
// the format is neither.
func (c CPUInfo) Arch() string {
	for _, p := range c.Processors {
		switch {
		case p.Implementer != "" || p.CPUArchitecture != "" || len(p.Features) > 0:
			switch p.CPUArchitecture {
			case "8", "AArch64":
				return "aarch64"
			case "7":
				return "armv7l"
			}
			return "arm"
		case p.VendorID != "" || len(p.Flags) > 0:
			if c.HasFlag("lm") {
				return "x86_64"
			}
			return "i686"
		}
	}
	return ""
}

var errNoProcessors = errors.New("no \"processor\" entries")

// parseCPUInfo parses /proc/cpuinfo. It fails on a file without any
// processor entry (empty, truncated or not cpuinfo at all).
func parseCPUInfo(b []byte) (CPUInfo, error) {
	info := CPUInfo{Extra: map[string]string{}}
	var cur *Processor
	for n, line := range bytes.Split(b, []byte("\n")) {
		s := strings.TrimRight(string(line), "\r")
		if strings.TrimSpace(s) == "" {
			cur = nil // a blank line ends a processor block
			continue
		}
		key, val, ok := strings.Cut(s, ":")
		if !ok {
			continue // e.g. s390x headers; nothing we read
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if key == "processor" {
			i, err := strconv.Atoi(val)
			if err != nil || i < 0 {
				return CPUInfo{}, fmt.Errorf("line %d: processor %q is not a CPU number", n+1, val)
			}
			info.Processors = append(info.Processors, Processor{Index: i})
			cur = &info.Processors[len(info.Processors)-1]
			continue
		}
		if cur == nil {
			info.Extra[key] = val
			continue
		}
		switch key {
		case "vendor_id":
			cur.VendorID = val
		case "model name":
			cur.ModelName = val
		case "flags":
			cur.Flags = strings.Fields(val)
		case "Features":
			cur.Features = strings.Fields(val)
		case "cpu MHz":
			f, err := strconv.ParseFloat(val, 64)
			if err != nil || f < 0 || f > 1e6 {
				return CPUInfo{}, fmt.Errorf("line %d: cpu MHz %q is not a frequency", n+1, val)
			}
			cur.MHz = f
		case "physical id":
			cur.PhysicalID = val
		case "CPU implementer":
			cur.Implementer = val
		case "CPU architecture":
			cur.CPUArchitecture = val
		}
	}
	if len(info.Processors) == 0 {
		return CPUInfo{}, errNoProcessors
	}
	return info, nil
}

// ratedRE finds the rating Intel puts in the model name: "@ 2.40GHz".
var ratedRE = regexp.MustCompile(`@\s*([0-9]+(?:\.[0-9]+)?)\s*([GM])Hz`)

// ratedMHz is the rating in a model name, ok false when it has none (AMD
// names such as "AMD EPYC 7302P 16-Core Processor" carry no frequency).
func ratedMHz(model string) (mhz float64, ok bool) {
	m := ratedRE.FindStringSubmatch(model)
	if m == nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil || f <= 0 {
		return 0, false
	}
	if m[2] == "G" {
		f *= 1000
	}
	return f, true
}

// parseKHz parses a cpufreq value such as cpuinfo_max_freq ("2401000\n",
// in kHz) into MHz.
func parseKHz(b []byte) (float64, error) {
	s := strings.TrimSpace(string(b))
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a frequency in kHz", s)
	}
	return float64(n) / 1000, nil
}
