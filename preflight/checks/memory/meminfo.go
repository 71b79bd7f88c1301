package memory

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MemInfo is the part of /proc/meminfo memory.total reads, in bytes.
type MemInfo struct {
	Total     uint64 // MemTotal: usable RAM, a little below the installed size
	Available uint64 // MemAvailable; 0 on kernels before 3.14
}

const gib = 1 << 30

// ParseMemInfo parses /proc/meminfo ("MemTotal:  24684092 kB"). MemTotal
// must be present and non-zero.
func ParseMemInfo(b []byte) (MemInfo, error) {
	var m MemInfo
	seen := false
	for n, line := range bytes.Split(b, []byte("\n")) {
		key, val, ok := strings.Cut(string(line), ":")
		if !ok || (key != "MemTotal" && key != "MemAvailable") {
			continue
		}
		v, err := parseKB(val)
		if err != nil {
			return MemInfo{}, fmt.Errorf("line %d: %s: %w", n+1, key, err)
		}
		if key == "MemTotal" {
			m.Total, seen = v, true
		} else {
			m.Available = v
		}
	}
	switch {
	case !seen:
		return MemInfo{}, errors.New("no MemTotal line")
	case m.Total == 0:
		return MemInfo{}, errors.New("MemTotal is 0")
	}
	return m, nil
}

// parseKB parses " 24684092 kB" into bytes.
func parseKB(s string) (uint64, error) {
	f := strings.Fields(s)
	if len(f) == 0 || len(f) > 2 || (len(f) == 2 && f[1] != "kB") {
		return 0, fmt.Errorf("%q is not a size in kB", strings.TrimSpace(s))
	}
	n, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil || n > math.MaxUint64/1024 {
		return 0, fmt.Errorf("%q is not a size in kB", strings.TrimSpace(s))
	}
	return n * 1024, nil
}

// parseBlockSize parses /sys/devices/system/memory/block_size_bytes, a hex
// number without 0x ("8000000" is 128 MiB).
func parseBlockSize(b []byte) (uint64, error) {
	s := strings.TrimSpace(string(b))
	n, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil || n == 0 || n&(n-1) != 0 {
		return 0, fmt.Errorf("%q is not a memory block size (a power of two in hex)", s)
	}
	return n, nil
}

// parseOnline reads a memory block's "online" file ("1" or "0") or its
// "state" file ("online", "offline", "going-offline").
func parseOnline(b []byte) (online bool, err error) {
	switch s := strings.TrimSpace(string(b)); s {
	case "1", "online":
		return true, nil
	case "0", "offline", "going-offline":
		return false, nil
	default:
		return false, fmt.Errorf("%q is neither online nor offline", s)
	}
}

// estimateInstalled estimates the installed size from MemTotal when sysfs
// cannot count the memory blocks.
//
// MemTotal is the RAM the kernel manages after firmware-reserved ranges, the
// kernel image, any crashkernel reservation and the page map (64 bytes of
// struct page per 4 KiB page: 1/64 of RAM) are taken out, so it sits 2-5%
// below what is installed: a real 8 GiB server shows 7.6-7.8 GiB, a 64 GiB
// one about 62.2 GiB. Installed memory comes in whole GiB, so MemTotal is
// rounded up to the next whole GiB; the page map is added back first
// (MemTotal × 64/63), otherwise every server from about 48 GiB up would be
// reported a GiB or more short. The page map cannot make a smaller machine
// look bigger than it is: MemTotal never exceeds 63/64 of the installed
// memory. The result is an estimate; the sysfs block count is preferred.
func estimateInstalled(memTotal uint64) uint64 {
	if memTotal > math.MaxUint64/128 {
		return memTotal
	}
	withMap := memTotal + memTotal/63
	return (withMap + gib - 1) / gib * gib
}

// human renders a memory size in binary units with at most two decimals.
func human(b uint64) string {
	switch {
	case b >= gib:
		return trim(float64(b)/gib) + " GiB"
	case b >= 1<<20:
		return trim(float64(b)/(1<<20)) + " MiB"
	}
	return strconv.FormatUint(b, 10) + " B"
}

func trim(f float64) string {
	s := strconv.FormatFloat(f, 'f', 2, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
