package agent

import (
	"cmp"
	"context"
	"errors"
	"time"

	rc "github.com/vmnode/vmnode/runtime/cluster"
	"github.com/vmnode/vmnode/runtime/ha"
	"github.com/vmnode/vmnode/runtime/virt"
	"github.com/vmnode/vmnode/runtime/virt/domain"
	"github.com/vmnode/vmnode/runtime/watchdog"
)

// restartsReset is how long an HA VM must stay up after a restart in place
// before its restarts are forgotten.
const restartsReset = 10 * time.Minute

// haLocal is what the agent remembers about one HA VM of this host beyond
// libvirt's view.
type haLocal struct {
	record     *ha.Record // newest record written here; libvirt's copy may lag
	diedAt     time.Time  // unexpected stop, monotonic; zero after a start
	restarts   int
	upSince    time.Time
	switchover bool               // asked for; cleared once migrated
	busy       context.CancelFunc // a migration or shutdown in flight
	migrating  bool               // busy is a migration
}

func (a *Agent) timers() ha.Timers {
	cfg := a.Config()
	return cfg.HA.Timers(cfg.Agent.Gossip)
}

// runHA runs the HA decision every half skew, and at once when kicked.
func (a *Agent) runHA(ctx context.Context) {
	t := a.timers()
	if dev := a.Config().HA.WatchdogDevice; dev != "" && t.Watchdog > 0 {
		dog, err := watchdog.Open(dev, t.Watchdog)
		if err != nil {
			a.log.Error("watchdog: HA VMs are fenced by the agent alone", "err", err)
		} else {
			a.log.Info("watchdog armed", "device", dev, "timeout", dog.Timeout())
			go a.petWatchdog(ctx, dog, t.Skew/2)
		}
	}
	go a.exchange(t.Skew)
	tick := time.NewTicker(t.Skew / 2)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.stop:
			return
		case <-tick.C:
		case <-a.haKick:
		}
		a.decide(ctx)
	}
}

// petWatchdog pets the watchdog every interval while this host may run HA
// VMs (its lease holds, or none runs), apart from the decisions: a slow
// start does not starve it, and a hung agent (the process, or this loop)
// stops petting.
func (a *Agent) petWatchdog(ctx context.Context, dog *watchdog.Dog, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			a.closeDog(dog)
			return
		case <-a.stop:
			a.closeDog(dog)
			return
		case <-t.C:
		}
		now := time.Now()
		if st, ok := a.haState(now); ok && st.PetWatchdog(now) {
			if err := dog.Pet(); err != nil {
				a.log.Error("watchdog", "err", err)
			}
		}
	}
}

// closeDog disarms the watchdog when no HA VM runs here: a stopped agent
// with running HA VMs leaves it armed, and it fences them.
func (a *Agent) closeDog(dog *watchdog.Dog) {
	if dog == nil {
		return
	}
	st, ok := a.haState(time.Now())
	disarm := ok && st.PetWatchdog(time.Now()) && !running(st)
	_ = dog.Close(disarm)
}

func running(st ha.State) bool {
	for _, v := range st.VMs {
		if v.Local.Running {
			return true
		}
	}
	return false
}

// kick asks for a decision now.
func (a *Agent) kick() {
	select {
	case a.haKick <- struct{}{}:
	default:
	}
}

// decide runs the rules once and executes their actions in order.
func (a *Agent) decide(ctx context.Context) {
	now := time.Now()
	st, ok := a.haState(now)
	if !ok {
		return
	}
	lease := now.Before(st.Quorum(now).LeaseEnd)
	for _, act := range ha.Decide(st, now) {
		a.execute(ctx, act, lease)
	}
}

// haState is this host's view for the rules; false before libvirt answered.
func (a *Agent) haState(now time.Time) (ha.State, bool) {
	m, err := a.manager()
	if err != nil {
		return ha.State{}, false
	}
	cfg := a.Config()
	self := cfg.Node.Name
	a.mu.Lock()
	health := a.health.Status
	a.mu.Unlock()
	st := ha.State{
		Self: self, Start: a.started, Healthy: healthy(health), Maintenance: a.cluster.Tags().Maintenance,
		Members: map[string]ha.Member{}, Timers: a.timers(),
	}
	a.haMu.Lock()
	defer a.haMu.Unlock()
	for _, name := range a.cluster.Remembered() {
		if name != self {
			st.Members[name] = ha.Member{Status: ha.Failed}
		}
	}
	for _, mem := range a.cluster.Members() {
		if mem.Name == self {
			continue
		}
		hm := ha.Member{Status: haStatus(mem.Status), Healthy: healthy(mem.Tags.Health), Maintenance: mem.Tags.Maintenance}
		if p, ok := a.peers[mem.Name]; ok {
			hm.LastHeard, hm.LastExchange, hm.Report = p.heard, p.exchanged, p.report
		}
		st.Members[mem.Name] = hm
	}
	for _, v := range m.VMs() {
		if !v.Spec.Meta.HA.Enabled {
			continue
		}
		l := a.local(v.Spec.Name)
		rec := recordOf(v.Spec.Meta)
		if l.record != nil && l.record.Newer(rec) {
			rec = *l.record
		}
		hv := ha.VM{Name: v.Spec.Name, Record: rec, Switchover: l.switchover,
			Local: ha.Local{Running: v.Running(), DiedAt: l.diedAt, Restarts: l.restarts}}
		if hv.Local.Running {
			hv.Local.Epoch = v.Spec.Meta.Epoch
			if !l.upSince.IsZero() && now.Sub(l.upSince) > restartsReset {
				l.restarts = 0
			}
		}
		st.VMs = append(st.VMs, hv)
	}
	return st, true
}

// local is the VM's entry; a.haMu held.
func (a *Agent) local(name string) *haLocal {
	l, ok := a.haVMs[name]
	if !ok {
		l = &haLocal{}
		a.haVMs[name] = l
	}
	return l
}

func healthy(status string) bool { return status != "fail" && status != "error" }

func haStatus(s rc.Status) ha.Status {
	switch s {
	case rc.Alive:
		return ha.Alive
	case rc.Failed:
		return ha.Failed
	case rc.Left:
		return ha.Left
	}
	return ha.Status(s)
}

// recordOf reads the HA record from vmnode's metadata.
func recordOf(m domain.Meta) ha.Record {
	return ha.Record{Epoch: m.Epoch, Active: m.Owner, Passive: m.HA.Passive, Desired: ha.Desired(cmp.Or(m.Desired, string(ha.DesiredRunning)))}
}

// withRecord is the metadata m carrying r.
func withRecord(m domain.Meta, r ha.Record) domain.Meta {
	m.Epoch, m.Owner, m.HA.Passive, m.Desired = r.Epoch, r.Active, r.Passive, string(r.Desired)
	return m
}

// execute carries out one action, if it still applies. Migrations and
// shutdowns run in the background; a Destroy cancels them, except a
// migration under the lease: the copy that makes the rules want this one
// gone is the one the migration is filling on the target, and until it
// completes only this one runs the guest.
func (a *Agent) execute(ctx context.Context, act ha.Action, lease bool) {
	m, err := a.manager()
	if err != nil {
		return
	}
	a.haMu.Lock()
	l := a.local(act.VM)
	busy, migrating := l.busy, l.migrating
	a.haMu.Unlock()
	if busy != nil && (act.Kind != ha.Destroy || migrating && lease) {
		return // one thing at a time per VM
	}
	log := a.log.With("vm", act.VM, "action", string(act.Kind), "epoch", act.Epoch, "reason", act.Reason)
	switch act.Kind {
	case ha.Destroy:
		if busy != nil {
			busy()
		}
		err = m.Stop(ctx, act.VM)
		if errors.Is(err, virt.ErrNotRunning) {
			return
		}
	case ha.Adopt:
		err = a.writeRecord(ctx, m, act.VM, act.Record)
	case ha.Start, ha.Restart:
		if err = a.writeRecord(ctx, m, act.VM, act.Record); err == nil {
			err = m.Start(ctx, act.VM)
		}
		a.haMu.Lock()
		if act.Kind == ha.Restart {
			l.restarts++
		} else {
			l.restarts = 0
		}
		if err == nil || errors.Is(err, virt.ErrAlreadyRunning) {
			l.diedAt, l.upSince, err = time.Time{}, time.Now(), nil
		} else {
			l.diedAt = time.Now()
		}
		a.haMu.Unlock()
	case ha.Stop:
		a.background(act.VM, func(ctx context.Context) error {
			_, err := m.Shutdown(ctx, act.VM, 2*time.Minute, true)
			return err
		}, log)
		return
	case ha.Migrate:
		rec := act.Record
		a.haMu.Lock()
		l.migrating = true
		a.haMu.Unlock()
		a.background(act.VM, func(ctx context.Context) error {
			err := a.migrate(ctx, act.VM, act.To, &rec, "", 0)
			if err == nil {
				a.haMu.Lock()
				a.local(act.VM).switchover = false
				a.haMu.Unlock()
			}
			return err
		}, log)
		return
	}
	if err != nil {
		log.Error("HA action failed", "err", err)
		return
	}
	log.Info("HA action")
}

// background runs a long action for vm, marking it busy meanwhile.
func (a *Agent) background(vm string, run func(context.Context) error, log interface {
	Info(string, ...any)
	Error(string, ...any)
}) {
	ctx, cancel := context.WithCancel(context.Background())
	a.haMu.Lock()
	a.local(vm).busy = cancel
	a.haMu.Unlock()
	log.Info("HA action started")
	go func() {
		defer cancel()
		err := run(ctx)
		a.haMu.Lock()
		a.local(vm).busy, a.local(vm).migrating = nil, false
		a.haMu.Unlock()
		if err != nil {
			log.Error("HA action failed", "err", err)
		} else {
			log.Info("HA action done")
		}
		a.kick()
	}()
}

// writeRecord makes r this host's record of vm: in memory first (the rules
// read it from there at once), then in libvirt, live and persistent.
func (a *Agent) writeRecord(ctx context.Context, m *virt.Manager, vm string, r ha.Record) error {
	a.haMu.Lock()
	a.local(vm).record = &r
	a.haMu.Unlock()
	v, ok := m.VM(vm)
	if !ok {
		return virt.ErrNotFound
	}
	if recordOf(v.Spec.Meta) == r {
		return nil
	}
	if err := m.Conn().SetMeta(ctx, vm, withRecord(v.Spec.Meta, r)); err != nil {
		return err
	}
	m.Refresh(ctx, vm)
	return nil
}

// onVMEvent notes the unexpected deaths of HA VMs, and a guest that powered
// itself off: the record then says stopped, so that it stays off.
func (a *Agent) onVMEvent(ev virt.Event) {
	if ev.Kind != virt.EventStopped && ev.Kind != virt.EventCrashed {
		return
	}
	m, err := a.manager()
	if err != nil {
		return
	}
	v, ok := m.VM(ev.Domain)
	if !ok || !v.Spec.Meta.HA.Enabled {
		return
	}
	if ev.Unexpected {
		a.haMu.Lock()
		a.local(ev.Domain).diedAt = time.Now()
		a.haMu.Unlock()
		a.kick()
		return
	}
	if ev.Detail != "shutdown" {
		return
	}
	a.haMu.Lock()
	rec := recordOf(v.Spec.Meta)
	if l := a.local(ev.Domain); l.record != nil && l.record.Newer(rec) {
		rec = *l.record
	}
	a.haMu.Unlock()
	if rec.Active != a.Config().Node.Name || rec.Desired != ha.DesiredRunning {
		return
	}
	rec.Epoch++
	rec.Desired = ha.DesiredStopped
	if err := a.writeRecord(context.Background(), m, ev.Domain, rec); err != nil {
		a.log.Error("the guest powered off, but its record could not say so", "vm", ev.Domain, "err", err)
		return
	}
	a.log.Info("the guest powered itself off: its HA record now says stopped", "vm", ev.Domain, "epoch", rec.Epoch)
}

// evacuate, before a leave, switches this host's running HA VMs over to
// their passive hosts, waiting up to timeout, and stops those still here:
// once this host is silent the others take them over.
func (a *Agent) evacuate(timeout time.Duration) {
	st, ok := a.haState(time.Now())
	if !ok || !running(st) {
		return
	}
	a.haMu.Lock()
	for _, v := range st.VMs {
		if v.Local.Running {
			a.local(v.Name).switchover = true
		}
	}
	a.haMu.Unlock()
	a.log.Info("leaving: switching the HA VMs over to their passive hosts", "timeout", timeout)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		a.kick()
		time.Sleep(200 * time.Millisecond)
		if st, ok = a.haState(time.Now()); !ok || !running(st) {
			return
		}
	}
	m, err := a.manager()
	if err != nil {
		return
	}
	for _, v := range st.VMs {
		if v.Local.Running {
			a.log.Warn("leaving: stopping an HA VM that could not switch over", "vm", v.Name)
			if err := m.Stop(context.Background(), v.Name); err != nil {
				a.log.Error("leaving: cannot stop the HA VM", "vm", v.Name, "err", err)
			}
		}
	}
}
