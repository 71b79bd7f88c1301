package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// VF is an SR-IOV virtual function of a network interface.
type VF struct {
	PF      string // the physical function's interface, e.g. enp3s0f0
	Index   int    // N of virtfnN
	Address string // its PCI address, DDDD:BB:SS.F (lower case)
}

var pciRE = regexp.MustCompile(`^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$`)

// VFs lists the host's SR-IOV virtual functions: the
// sys/class/net/IF/device/virtfnN symlinks under sysRoot ("/" on a host,
// a fixture tree in tests), each pointing at the VF's PCI device. They are
// sorted by PF and index.
func VFs(sysRoot string) ([]VF, error) {
	netDir := filepath.Join(sysRoot, "sys", "class", "net")
	if _, err := os.Stat(netDir); err != nil {
		return nil, fmt.Errorf("list SR-IOV virtual functions: %w", err)
	}
	links, err := filepath.Glob(filepath.Join(netDir, "*", "device", "virtfn*"))
	if err != nil {
		return nil, err
	}
	var vfs []VF
	for _, l := range links {
		idx, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(l), "virtfn"))
		if err != nil {
			continue
		}
		target, err := os.Readlink(l)
		if err != nil {
			return nil, fmt.Errorf("list SR-IOV virtual functions: %w", err)
		}
		addr := strings.ToLower(filepath.Base(target))
		if !pciRE.MatchString(addr) {
			return nil, fmt.Errorf("list SR-IOV virtual functions: %s points to %s, not a PCI device", l, target)
		}
		pf := filepath.Base(filepath.Dir(filepath.Dir(l)))
		vfs = append(vfs, VF{PF: pf, Index: idx, Address: addr})
	}
	sort.Slice(vfs, func(i, j int) bool {
		if vfs[i].PF != vfs[j].PF {
			return vfs[i].PF < vfs[j].PF
		}
		return vfs[i].Index < vfs[j].Index
	})
	return vfs, nil
}

// FreeVF picks the first VF not in used (PCI addresses, any case), on
// interface pf or, when pf is "", on any interface.
func FreeVF(vfs []VF, used []string, pf string) (VF, error) {
	inUse := map[string]bool{}
	for _, u := range used {
		inUse[strings.ToLower(u)] = true
	}
	var candidates int
	pfs := map[string]bool{}
	for _, v := range vfs {
		pfs[v.PF] = true
		if pf != "" && v.PF != pf {
			continue
		}
		candidates++
		if !inUse[v.Address] {
			return v, nil
		}
	}
	switch {
	case len(vfs) == 0:
		return VF{}, errors.New("no SR-IOV virtual function on this host: no network interface has VFs enabled (echo N > /sys/class/net/IF/device/sriov_numvfs)")
	case candidates == 0:
		names := make([]string, 0, len(pfs))
		for n := range pfs {
			names = append(names, n)
		}
		sort.Strings(names)
		return VF{}, fmt.Errorf("no SR-IOV virtual function on interface %s: it has no VFs enabled (echo N > /sys/class/net/%s/device/sriov_numvfs); interfaces with VFs: %s",
			pf, pf, strings.Join(names, ", "))
	case pf != "":
		return VF{}, fmt.Errorf("all %d SR-IOV virtual functions of %s are in use: free one, or enable more (echo N > /sys/class/net/%s/device/sriov_numvfs)", candidates, pf, pf)
	default:
		return VF{}, fmt.Errorf("all %d SR-IOV virtual functions on this host are in use: free one, or enable more (echo N > /sys/class/net/IF/device/sriov_numvfs)", candidates)
	}
}
