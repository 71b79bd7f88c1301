package sched

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Host is what the scheduler knows about one member of the cluster.
type Host struct {
	Name        string
	Alive       bool   // alive in gossip
	Health      string // the agent's local checks: pass, warn, fail, error, "" (not yet run)
	Libvirt     bool   // the agent is connected to its libvirtd
	Maintenance bool   // drained: no new placements
	CPUs        int    // threads
	MemoryMiB   int    // total
	UsedMiB     int    // reserved by the VMs running on it
	UsedVCPUs   int    // vCPUs of the VMs running on it
	Images      []string
	FreeVFs     int // SR-IOV virtual functions not yet given to a VM
}

// Request is the VM to place.
type Request struct {
	VCPUs     int
	MemoryMiB int
	Image     string // "" none; else the host must have it
	VFs       int    // SR-IOV NICs
}

// Policy is what each host keeps for itself.
type Policy struct {
	ReservedMiB   int     // memory kept for the host
	ReservedCPUs  int     // CPU threads kept for the host (seed 000: at least one)
	CPUOvercommit float64 // vCPUs per remaining thread
}

// DefaultPolicy keeps 1 GiB and one thread for the host and allows four
// vCPUs per remaining thread.
func DefaultPolicy() Policy {
	return Policy{ReservedMiB: 1024, ReservedCPUs: 1, CPUOvercommit: 4}
}

// Rejection is a host the VM could not go to, and why.
type Rejection struct {
	Host   string `json:"host"`
	Reason string `json:"reason"`
}

// Choice is where the VM goes and why.
type Choice struct {
	Host     string      `json:"host"`
	Reason   string      `json:"reason"`
	Rejected []Rejection `json:"rejected,omitempty"`
}

// NoFitError says that no host can take the VM, and why not for each.
type NoFitError struct {
	Rejected []Rejection
}

func (e *NoFitError) Error() string {
	if len(e.Rejected) == 0 {
		return "no host can run the VM: the cluster has no members"
	}
	var b strings.Builder
	b.WriteString("no host can run the VM:")
	for _, r := range e.Rejected {
		fmt.Fprintf(&b, "\n  %s: %s", r.Host, r.Reason)
	}
	return b.String()
}

// Fits tells whether h can take the VM now, and if not, why.
func Fits(r Request, h Host, p Policy) (bool, string) {
	freeMiB := h.MemoryMiB - p.ReservedMiB - h.UsedMiB
	threads := h.CPUs - p.ReservedCPUs
	vcpuCap := int(float64(threads) * p.CPUOvercommit)
	switch {
	case !h.Alive:
		return false, "not alive in the cluster"
	case h.Maintenance:
		return false, "in maintenance (vmnode host resume " + h.Name + " ends it)"
	case !h.Libvirt:
		return false, "its agent is not connected to libvirtd"
	case h.Health == "fail" || h.Health == "error":
		return false, "unhealthy: its local checks " + h.Health
	case r.Image != "" && !slices.Contains(h.Images, r.Image):
		return false, fmt.Sprintf("does not have image %q (vmnode image import on it)", r.Image)
	case r.VFs > h.FreeVFs:
		if h.FreeVFs == 0 {
			return false, "has no free SR-IOV virtual function"
		}
		return false, fmt.Sprintf("has %d free SR-IOV virtual functions, the VM needs %d", h.FreeVFs, r.VFs)
	case r.MemoryMiB > freeMiB:
		return false, fmt.Sprintf("not enough memory: %d MiB free after reservations (%d total, %d used by VMs, %d kept for the host), the VM needs %d",
			max(freeMiB, 0), h.MemoryMiB, h.UsedMiB, p.ReservedMiB, r.MemoryMiB)
	case r.VCPUs > threads:
		return false, fmt.Sprintf("not enough CPU: %d threads (%d kept for the host), the VM wants %d vCPUs", max(threads, 0), p.ReservedCPUs, r.VCPUs)
	case h.UsedVCPUs+r.VCPUs > vcpuCap:
		return false, fmt.Sprintf("CPU overcommitted: %d of %d vCPUs allocated (%d threads x %g), the VM wants %d",
			h.UsedVCPUs, vcpuCap, threads, p.CPUOvercommit, r.VCPUs)
	}
	return true, ""
}

// Place chooses the host with the most free memory after placing the VM,
// then the one with the fewest vCPUs per thread, then by name, so that the
// load spreads and the same state gives the same choice.
func Place(r Request, hosts []Host, p Policy) (Choice, error) {
	var fit []Host
	var rejected []Rejection
	for _, h := range hosts {
		if ok, why := Fits(r, h, p); ok {
			fit = append(fit, h)
		} else {
			rejected = append(rejected, Rejection{Host: h.Name, Reason: why})
		}
	}
	slices.SortFunc(rejected, func(a, b Rejection) int { return cmp.Compare(a.Host, b.Host) })
	if len(fit) == 0 {
		return Choice{}, &NoFitError{Rejected: rejected}
	}
	free := func(h Host) int { return h.MemoryMiB - p.ReservedMiB - h.UsedMiB - r.MemoryMiB }
	load := func(h Host) float64 { return float64(h.UsedVCPUs+r.VCPUs) / float64(max(h.CPUs-p.ReservedCPUs, 1)) }
	slices.SortFunc(fit, func(a, b Host) int {
		return cmp.Or(cmp.Compare(free(b), free(a)), cmp.Compare(load(a), load(b)), cmp.Compare(a.Name, b.Name))
	})
	best := fit[0]
	reason := fmt.Sprintf("most free memory after placement: %d MiB of %d", free(best), best.MemoryMiB)
	if len(fit) > 1 && free(fit[1]) == free(best) {
		reason = fmt.Sprintf("%d MiB free after placement, as much as %s, and the lighter CPU load (%.2f vCPUs per thread against %.2f)", free(best), fit[1].Name, load(best), load(fit[1]))
		if load(fit[1]) == load(best) {
			reason = fmt.Sprintf("%d MiB free after placement and %.2f vCPUs per thread, as %s: the first by name", free(best), load(best), fit[1].Name)
		}
	}
	if len(fit) == 1 {
		reason = fmt.Sprintf("the only host that fits (%d MiB free after placement)", free(best))
	}
	return Choice{Host: best.Name, Reason: reason, Rejected: rejected}, nil
}

// Feasible tells whether some host could ever take the VM, empty: whether
// its size is within the largest host's capacity and, for SR-IOV, some host
// has virtual functions free. It catches `vm create`
// requests that no start could satisfy.
func Feasible(r Request, hosts []Host, p Policy) error {
	var rejected []Rejection
	for _, h := range hosts {
		empty := h
		empty.UsedMiB, empty.UsedVCPUs, empty.Maintenance, empty.Alive, empty.Libvirt, empty.Health = 0, 0, false, true, true, ""
		empty.Images = []string{r.Image} // images can be imported; VFs are hardware
		if ok, why := Fits(r, empty, p); !ok {
			rejected = append(rejected, Rejection{Host: h.Name, Reason: why})
		}
	}
	if len(hosts) > 0 && len(rejected) == len(hosts) {
		slices.SortFunc(rejected, func(a, b Rejection) int { return cmp.Compare(a.Host, b.Host) })
		return &NoFitError{Rejected: rejected}
	}
	return nil
}
