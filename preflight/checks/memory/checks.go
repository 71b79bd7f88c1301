package memory

import (
	"context"
	"fmt"
	"path"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/profiles"
)

// IDTotal is the stable ID of the installed memory check.
const IDTotal = "memory.total"

const (
	meminfoPath   = "/proc/meminfo"
	memoryDir     = "/sys/devices/system/memory"
	blockSizePath = memoryDir + "/block_size_bytes"
)

// Checks returns the memory checks with the profile's thresholds. It does no
// I/O.
func Checks(p *profiles.Profile) []preflight.Check {
	r := p.Memory
	return []preflight.Check{
		preflight.Func{CheckID: IDTotal, CheckTitle: "Installed memory", Fn: func(ctx context.Context, h *host.Host) preflight.Result {
			return total(ctx, h, r)
		}},
	}
}

// Installed is the installed memory and how it was found.
type Installed struct {
	Bytes uint64
	How   string // for people: "192 online memory blocks of 128 MiB"
}

// blocks counts the online memory blocks in sysfs. ok is false when the
// tree is absent (older kernels, a --root tree without sys/).
func blocks(ctx context.Context, h *host.Host) (size uint64, online, offline int, ok bool, err error) {
	if !h.Exists(blockSizePath) {
		return 0, 0, 0, false, nil
	}
	b, err := h.ReadFile(blockSizePath)
	if err != nil {
		return 0, 0, 0, false, err
	}
	size, err = parseBlockSize(b)
	if err != nil {
		return 0, 0, 0, false, fmt.Errorf("%s: %w", blockSizePath, err)
	}
	dirs, err := h.Glob(memoryDir + "/memory[0-9]*")
	if err != nil {
		return 0, 0, 0, false, fmt.Errorf("list %s: %w", memoryDir, err)
	}
	for i, d := range dirs {
		if i%256 == 0 && ctx.Err() != nil {
			return 0, 0, 0, false, ctx.Err()
		}
		var st []byte
		if st, err = h.ReadFile(path.Join(d, "online")); err != nil {
			if st, err = h.ReadFile(path.Join(d, "state")); err != nil {
				continue // neither file: not a block we can judge
			}
		}
		on, err := parseOnline(st)
		if err != nil {
			return 0, 0, 0, false, fmt.Errorf("%s: %w", d, err)
		}
		if on {
			online++
		} else {
			offline++
		}
	}
	return size, online, offline, online > 0, nil
}

func total(ctx context.Context, h *host.Host, r profiles.Range[profiles.Bytes]) preflight.Result {
	want := expect(r)
	var mi *MemInfo
	miErr := error(nil)
	if b, err := h.ReadFile(meminfoPath); err != nil {
		miErr = err
	} else if m, err := ParseMemInfo(b); err != nil {
		// Present but garbage: something is wrong with the host view.
		return preflight.Errorf("%s is not what the kernel writes: %v", meminfoPath, err).
			Saw("unparsable", want).
			Remedy("check that /proc is the kernel's procfs; under --root, capture proc/meminfo again with `cat /proc/meminfo`")
	} else {
		mi = &m
	}

	size, online, offline, ok, err := blocks(ctx, h)
	if err != nil {
		return preflight.Errorf("could not count the memory blocks: %v", err).Saw("unknown", want)
	}
	var in Installed
	switch {
	case ok:
		in = Installed{Bytes: size * uint64(online), How: fmt.Sprintf("%d online memory blocks of %s, as lsmem counts them", online, human(size))}
		if offline > 0 {
			in.How += fmt.Sprintf("; %d more blocks are offline", offline)
		}
		if mi != nil {
			in.How += fmt.Sprintf("; MemTotal %s", human(mi.Total))
		}
	case mi != nil:
		in = Installed{Bytes: estimateInstalled(mi.Total), How: fmt.Sprintf("estimated from MemTotal %s, rounded up to a whole GiB: the kernel keeps part of the installed memory for itself", human(mi.Total))}
	default:
		return preflight.Errorf("could not read the memory size: %v", miErr).
			Saw("unknown", want).
			Remedy("check that /proc is mounted (or, under --root, that the tree holds proc/meminfo captured from the server)")
	}
	return judge(in, offline, r)
}

func expect(r profiles.Range[profiles.Bytes]) string {
	switch {
	case r.Min > 0 && r.Recommended > 0:
		return fmt.Sprintf(">= %s (recommended >= %s)", r.Min, r.Recommended)
	case r.Min > 0:
		return fmt.Sprintf(">= %s", r.Min)
	case r.Recommended > 0:
		return fmt.Sprintf("recommended >= %s", r.Recommended)
	}
	return "no requirement"
}

// judge decides memory.total.
func judge(in Installed, offline int, r profiles.Range[profiles.Bytes]) preflight.Result {
	want := expect(r)
	got := human(in.Bytes)
	fix := "check `dmidecode -t memory` for empty slots or modules the firmware did not map"
	if offline > 0 {
		fix = "bring the offline memory online (`chmem -e <size>` or `echo online > /sys/devices/system/memory/memoryN/state`), or " + fix
	}
	switch {
	case r.Min > 0 && in.Bytes < uint64(r.Min):
		return preflight.Failf("%s of memory installed (%s); the profile requires at least %s", got, in.How, r.Min).
			Saw(got, want).Remedy("install at least %s of RAM; %s", r.Min, fix)
	case r.Recommended > 0 && in.Bytes < uint64(r.Recommended):
		return preflight.Warnf("%s of memory installed (%s); %s or more is recommended", got, in.How, r.Recommended).
			Saw(got, want).Remedy("install %s or more of RAM for room to run VMs; %s", r.Recommended, fix)
	}
	return preflight.Passf("%s of memory installed (%s)", got, in.How).Saw(got, want)
}
