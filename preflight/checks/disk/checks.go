package disk

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/profiles"
)

// IDRoot is the stable ID of the root filesystem size check.
const IDRoot = "disk.root"

// overhead is the share of a disk's sold size a filesystem may not show:
// partition table, /boot and EFI partitions, LVM metadata and the
// filesystem's own structures. A "1 TB" disk yields a / of 930-980 GB, which
// must still meet a 1 TB requirement.
const overhead = 0.05

// Checks returns the disk checks with the profile's thresholds. It does no
// I/O.
func Checks(p *profiles.Profile) []preflight.Check {
	r := p.Disk.Root
	return []preflight.Check{
		preflight.Func{CheckID: IDRoot, CheckTitle: "Size of the root filesystem", Fn: func(_ context.Context, h *host.Host) preflight.Result {
			return root(h, r)
		}},
	}
}

func root(h *host.Host, r profiles.Range[profiles.Bytes]) preflight.Result {
	if !h.Live {
		return preflight.Skipf("the size of / can only be measured on the live host, not under --root").
			Saw("not checked (--root)", expect(r))
	}
	size, err := h.Kernel.FilesystemSize("/")
	switch {
	case errors.Is(err, host.ErrNotLive):
		return preflight.Skipf("the size of / can only be measured on the live host").Saw("not checked", expect(r))
	case err != nil:
		return preflight.Errorf("could not measure the filesystem holding /: %v", err).Saw("unknown", expect(r))
	case size == 0:
		return preflight.Errorf("the filesystem holding / reports a size of 0 bytes").Saw("0 B", expect(r))
	}
	return judge(size, r)
}

// allowed is the smallest filesystem that meets a requirement of t.
func allowed(t profiles.Bytes) uint64 { return uint64(float64(t) * (1 - overhead)) }

func expect(r profiles.Range[profiles.Bytes]) string {
	pct := strconv.Itoa(int(overhead*100)) + "%"
	at := func(t profiles.Bytes) string {
		return fmt.Sprintf("%s (a filesystem of %s or more, allowing %s filesystem overhead)", human(uint64(t)), human(allowed(t)), pct)
	}
	switch {
	case r.Min > 0 && r.Recommended > 0:
		return fmt.Sprintf(">= %s; recommended >= %s", at(r.Min), at(r.Recommended))
	case r.Min > 0:
		return ">= " + at(r.Min)
	case r.Recommended > 0:
		return "recommended >= " + at(r.Recommended)
	}
	return "no requirement"
}

// judge decides disk.root for a root filesystem of size bytes.
func judge(size uint64, r profiles.Range[profiles.Bytes]) preflight.Result {
	want := expect(r)
	got := human(size)
	grow := "give / as much of the disk as possible (seed: \"allocate as much space as possible for /\"): " +
		"the EL installer puts most of a large disk in a separate /home; merge it into / " +
		"(back up /home, `umount /home`, `lvremove <vg>/home`, `lvextend -r -l +100%FREE <vg>/root`, remove /home from /etc/fstab) " +
		"or reinstall with a single large /; `df -h /` and `lsblk` show the layout"
	switch {
	case r.Min > 0 && size < allowed(r.Min):
		return preflight.Failf("/ is on a filesystem of %s; the profile requires at least %s (%s with filesystem overhead)", got, human(uint64(r.Min)), human(allowed(r.Min))).
			Saw(got, want).Remedy("use a disk of at least %s and %s", human(uint64(r.Min)), grow)
	case r.Recommended > 0 && size < allowed(r.Recommended):
		return preflight.Warnf("/ is on a filesystem of %s; %s or more is recommended for VM images", got, human(uint64(r.Recommended))).
			Saw(got, want).Remedy("use a disk of %s or more and %s", human(uint64(r.Recommended)), grow)
	}
	return preflight.Passf("/ is on a filesystem of %s", got).Saw(got, want)
}

// human renders a disk size in decimal units, as disks are sold.
func human(b uint64) string {
	units := []struct {
		s string
		v float64
	}{{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3}}
	for _, u := range units {
		if float64(b) >= u.v {
			s := strconv.FormatFloat(float64(b)/u.v, 'f', 2, 64)
			s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
			return s + " " + u.s
		}
	}
	return strconv.FormatUint(b, 10) + " B"
}
