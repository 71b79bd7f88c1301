package virt

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/vmnode/vmnode/runtime/virt/domain"
	"github.com/vmnode/vmnode/runtime/virt/storage"
)

// ManagerOptions configure the VMs of this host.
type ManagerOptions struct {
	Node       string // this host: the owner written into new VMs
	Store      *storage.Store
	DomainType string // kvm or qemu
	Network    string // libvirt network for NICs given none
	VNCListen  string // "" no console
	SysRoot    string // where /sys is found ("" = /): SR-IOV VFs
	Log        *slog.Logger
	// OnEvent, if set, is told every lifecycle event after the view is updated.
	OnEvent func(Event)
}

// VM is a domain of this host as vmnode sees it.
type VM struct {
	Spec    domain.Spec
	UUID    string
	State   State
	Reason  string
	VNCPort int
	Last    *Event // the last lifecycle event seen, nil before any
}

// Running tells whether the VM holds its memory and CPUs on the host.
func (v VM) Running() bool {
	return v.State == StateRunning || v.State == StatePaused || v.State == StateBlocked || v.State == StateShutdown || v.State == StatePMSuspended
}

// CreateRequest is a VM to define on this host.
type CreateRequest struct {
	Name      string
	VCPUs     int
	MemoryMiB int
	DiskBytes int64
	Image     string
	NICs      []NICRequest
	CloudInit *storage.CloudInit
	Created   time.Time // zero: now
	Start     bool      // start it too; if that fails, nothing is left defined
}

// NICRequest is a NIC to give the VM; for SR-IOV, PF picks the card whose
// virtual function it gets ("" any).
type NICRequest struct {
	domain.NIC
	PF string
}

// Manager runs this host's VMs: it keeps a view of them current from
// libvirt's lifecycle events (no polling) and creates and removes them with
// their disks, never leaving half a VM behind.
type Manager struct {
	conn *Conn
	o    ManagerOptions
	log  *slog.Logger

	mu  sync.Mutex
	vms map[string]VM
	ops sync.Mutex // one create or delete at a time: names and VFs are checked then taken
}

// NewManager returns a manager over an open connection.
func NewManager(c *Conn, o ManagerOptions) *Manager {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Manager{conn: c, o: o, log: o.Log.With("component", "vms"), vms: map[string]VM{}}
}

// Conn is the libvirt connection.
func (m *Manager) Conn() *Conn { return m.conn }

// Run keeps the view current until ctx ends: a full sync first and after
// every reconnect, then one domain per event.
func (m *Manager) Run(ctx context.Context) {
	if err := m.Sync(ctx); err != nil {
		m.log.Warn("cannot list the VMs", "err", err)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-m.conn.Events():
			m.apply(ctx, ev)
		}
	}
}

func (m *Manager) apply(ctx context.Context, ev Event) {
	switch ev.Kind {
	case EventResync:
		if err := m.Sync(ctx); err != nil {
			m.log.Warn("cannot list the VMs after reconnecting", "err", err)
		}
	case EventDisconnected:
	case EventUndefined:
		m.mu.Lock()
		delete(m.vms, ev.Domain)
		m.mu.Unlock()
	default:
		m.refresh(ctx, ev.Domain, &ev)
	}
	if ev.Unexpected {
		m.log.Error("VM died unexpectedly", "vm", ev.Domain, "event", ev.Kind, "detail", ev.Detail)
	} else if ev.Domain != "" {
		m.log.Info("VM event", "vm", ev.Domain, "event", ev.Kind, "detail", ev.Detail)
	}
	if m.o.OnEvent != nil {
		m.o.OnEvent(ev)
	}
}

// Sync re-reads every domain.
func (m *Manager) Sync(ctx context.Context) error {
	doms, err := m.conn.List(ctx)
	if err != nil {
		return err
	}
	fresh := make(map[string]VM, len(doms))
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range doms {
		v := m.fromDomain(d)
		if old, ok := m.vms[d.Name]; ok {
			v.Last = old.Last
		}
		fresh[d.Name] = v
	}
	m.vms = fresh
	return nil
}

// Refresh re-reads one VM, after a change libvirt sends no lifecycle event
// for (its metadata).
func (m *Manager) Refresh(ctx context.Context, name string) { m.refresh(ctx, name, nil) }

func (m *Manager) refresh(ctx context.Context, name string, ev *Event) {
	d, err := m.conn.Get(ctx, name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if errors.Is(err, ErrNotFound) {
		delete(m.vms, name)
		return
	}
	if err != nil {
		m.log.Warn("cannot read VM after an event", "vm", name, "err", err)
		return
	}
	v := m.fromDomain(d)
	if ev != nil {
		e := *ev
		v.Last = &e
	} else if old, ok := m.vms[name]; ok {
		v.Last = old.Last
	}
	m.vms[name] = v
}

func (m *Manager) fromDomain(d Domain) VM {
	v := VM{Spec: domain.Spec{Name: d.Name}, UUID: d.UUID, State: d.State, Reason: d.Reason}
	if p, err := domain.Parse(d.XML); err == nil {
		v.Spec, v.VNCPort = p.Spec, p.VNCPort
	} else {
		m.log.Warn("unreadable domain XML", "vm", d.Name, "err", err)
	}
	return v
}

// VMs is the current view, sorted by name.
func (m *Manager) VMs() []VM {
	m.mu.Lock()
	out := make([]VM, 0, len(m.vms))
	for _, v := range m.vms {
		out = append(out, v)
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b VM) int { return cmp.Compare(a.Spec.Name, b.Spec.Name) })
	return out
}

// VM is one VM of the view.
func (m *Manager) VM(name string) (VM, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.vms[name]
	return v, ok
}

// Create defines a VM here with its disks and seed, and starts it when
// asked. On any failure everything it made is removed again.
func (m *Manager) Create(ctx context.Context, r CreateRequest) (v VM, err error) {
	m.ops.Lock()
	defer m.ops.Unlock()
	if _, err := m.conn.Get(ctx, r.Name); err == nil {
		return VM{}, fmt.Errorf("a VM named %q is already defined on %s", r.Name, m.o.Node)
	} else if !errors.Is(err, ErrNotFound) {
		return VM{}, err
	}
	created := r.Created
	if created.IsZero() {
		created = time.Now().UTC().Truncate(time.Second)
	}
	s := domain.Spec{
		Name: r.Name, VCPUs: r.VCPUs, MemoryMiB: r.MemoryMiB, Type: m.o.DomainType,
		Meta: domain.Meta{Owner: m.o.Node, Created: created, Image: r.Image, Epoch: 1},
	}
	if s.NICs, err = m.nics(r.NICs); err != nil {
		return VM{}, err
	}
	if m.o.VNCListen != "" {
		s.VNC = domain.VNC{Listen: m.o.VNCListen, Password: password()}
	}
	// Check everything that needs no disk before making one.
	if err := domain.Validate(s); err != nil {
		return VM{}, err
	}
	if s.Disks, err = m.o.Store.PrepareDisks(ctx, r.Name, r.Image, r.DiskBytes); err != nil {
		return VM{}, err
	}
	defined := false
	defer func() {
		if err == nil {
			return
		}
		if defined {
			if uerr := m.conn.Undefine(context.WithoutCancel(ctx), r.Name); uerr != nil && !errors.Is(uerr, ErrNotFound) {
				m.log.Error("cannot undefine a VM whose creation failed", "vm", r.Name, "err", uerr)
			}
		}
		if rerr := m.o.Store.RemoveVM(r.Name); rerr != nil {
			m.log.Error("cannot remove the disks of a VM whose creation failed", "vm", r.Name, "err", rerr)
		}
	}()
	if r.CloudInit != nil {
		if s.Seed, err = m.o.Store.WriteSeed(r.Name, *r.CloudInit); err != nil {
			return VM{}, err
		}
	}
	xml, err := domain.XML(s)
	if err != nil {
		return VM{}, err
	}
	if err := m.conn.Define(ctx, xml); err != nil {
		return VM{}, err
	}
	defined = true
	if r.Start {
		if err := m.conn.Start(ctx, r.Name); err != nil {
			return VM{}, err
		}
	}
	m.refresh(ctx, r.Name, nil)
	v, _ = m.VM(r.Name)
	return v, nil
}

// nics fills in the default network and gives each SR-IOV NIC a free
// virtual function of this host.
func (m *Manager) nics(in []NICRequest) ([]domain.NIC, error) {
	out := make([]domain.NIC, len(in))
	for i, n := range in {
		out[i] = n.NIC
	}
	var used []string
	for _, v := range m.VMs() {
		for _, n := range v.Spec.NICs {
			if n.VF != "" {
				used = append(used, n.VF)
			}
		}
	}
	for i := range out {
		n := &out[i]
		if n.Model == "" {
			n.Model = domain.ModelVirtio
		}
		if n.Model != domain.ModelSRIOV {
			if n.Network == "" && n.Bridge == "" {
				n.Network = m.o.Network
			}
			continue
		}
		vfs, err := storage.VFs(m.o.SysRoot)
		if err != nil {
			return nil, fmt.Errorf("nic %d: %w", i+1, err)
		}
		vf, err := storage.FreeVF(vfs, used, in[i].PF)
		if err != nil {
			return nil, fmt.Errorf("nic %d: SR-IOV on %s: %w", i+1, m.o.Node, err)
		}
		n.VF, n.Network = vf.Address, ""
		used = append(used, vf.Address)
	}
	return out, nil
}

// FreeVFs counts this host's SR-IOV virtual functions not given to a VM.
func (m *Manager) FreeVFs() int {
	vfs, err := storage.VFs(m.o.SysRoot)
	if err != nil {
		return 0
	}
	used := map[string]bool{}
	for _, v := range m.VMs() {
		for _, n := range v.Spec.NICs {
			used[n.VF] = true
		}
	}
	free := 0
	for _, vf := range vfs {
		if !used[vf.Address] {
			free++
		}
	}
	return free
}

// password is a VNC password: VNC takes at most 8 bytes.
func password() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// Start powers a VM on.
func (m *Manager) Start(ctx context.Context, name string) error {
	if err := m.conn.Start(ctx, name); err != nil {
		return err
	}
	m.refresh(ctx, name, nil)
	return nil
}

// Shutdown asks the guest to power off (ACPI) and waits up to timeout; then,
// if force, destroys it. It reports whether it had to.
func (m *Manager) Shutdown(ctx context.Context, name string, timeout time.Duration, force bool) (forced bool, err error) {
	if err := m.conn.Shutdown(ctx, name); err != nil {
		return false, err
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err = m.conn.WaitState(wctx, name, StateShutoff)
	if err == nil {
		m.refresh(ctx, name, nil)
		return false, nil
	}
	if !force || ctx.Err() != nil {
		return false, fmt.Errorf("VM %s is still running %s after the shutdown request (the guest ignored ACPI or is slow): use --force to pull the plug after the timeout, or vmnode vm stop --force %s", name, timeout, name)
	}
	if err := m.Stop(ctx, name); err != nil {
		return false, err
	}
	return true, nil
}

// Stop pulls the plug.
func (m *Manager) Stop(ctx context.Context, name string) error {
	if err := m.conn.Destroy(ctx, name); err != nil {
		return err
	}
	m.refresh(ctx, name, nil)
	return nil
}

// Reboot asks the guest to reboot.
func (m *Manager) Reboot(ctx context.Context, name string) error {
	return m.conn.Reboot(ctx, name)
}

// Delete undefines a VM and removes its disks unless keepDisks; a running
// VM is refused unless force, which stops it first.
func (m *Manager) Delete(ctx context.Context, name string, keepDisks, force bool) error {
	m.ops.Lock()
	defer m.ops.Unlock()
	d, err := m.conn.Get(ctx, name)
	if err != nil {
		return err
	}
	if d.State != StateShutoff && d.State != StateCrashed {
		if !force {
			return fmt.Errorf("VM %s is %s: shut it down first (vmnode vm shutdown %s), or delete with --force to stop it", name, d.State, name)
		}
		if err := m.conn.Destroy(ctx, name); err != nil {
			return err
		}
	}
	if err := m.conn.Undefine(ctx, name); err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.vms, name)
	m.mu.Unlock()
	if keepDisks {
		return nil
	}
	if err := m.o.Store.RemoveVM(name); err != nil {
		return fmt.Errorf("VM %s is undefined, but its disks remain: %w", name, err)
	}
	return nil
}

// Resources are what this host's VMs hold.
type Resources struct {
	CPUs, MemoryMiB     int // the host's
	UsedVCPUs, UsedMiB  int // by the running VMs and the HA VMs this host is the passive of
	Defined, RunningVMs int
}

// Resources adds up what the running VMs hold, and what this host reserves
// for the HA VMs it is the passive host of: they start here on a failover.
func (m *Manager) Resources(ctx context.Context) (Resources, error) {
	n, err := m.conn.NodeInfo(ctx)
	if err != nil {
		return Resources{}, err
	}
	r := Resources{CPUs: n.CPUs, MemoryMiB: n.MemoryMiB}
	for _, v := range m.VMs() {
		r.Defined++
		if v.Running() {
			r.RunningVMs++
		}
		if ha := v.Spec.Meta.HA; v.Running() || (ha.Enabled && ha.Passive == m.o.Node) {
			r.UsedVCPUs += v.Spec.VCPUs
			r.UsedMiB += v.Spec.MemoryMiB
		}
	}
	return r, nil
}
