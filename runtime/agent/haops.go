package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vmnode/vmnode/runtime/api"
	rc "github.com/vmnode/vmnode/runtime/cluster"
	"github.com/vmnode/vmnode/runtime/ha"
	"github.com/vmnode/vmnode/runtime/virt"
	"github.com/vmnode/vmnode/runtime/virt/domain"
)

// haView is one HA VM as one defining host sees it, for `ha status`.
type haView struct {
	Name    string         `json:"name"`
	Record  ha.Record      `json:"record"`
	Running bool           `json:"running"`
	State   string         `json:"state"`
	Note    string         `json:"note,omitempty"`
	Last    *api.LastEvent `json:"last,omitempty"`
}

// record is the newest HA record this host holds for v.
func (a *Agent) record(v virt.VM) ha.Record {
	rec := recordOf(v.Spec.Meta)
	a.haMu.Lock()
	defer a.haMu.Unlock()
	if l, ok := a.haVMs[v.Spec.Name]; ok && l.record != nil && l.record.Newer(rec) {
		rec = *l.record
	}
	return rec
}

// haEnable makes v highly available with r.Passive as its passive host.
func (a *Agent) haEnable(ctx context.Context, r api.VMRequest, v virt.VM) (api.VMResponse, error) {
	self, name, passive := a.Config().Node.Name, r.Name, r.Passive
	if v.Spec.Meta.HA.Enabled {
		return api.VMResponse{}, userErr("VM %s is already highly available (passive %s); vmnode ha disable %s first to change it", name, v.Spec.Meta.HA.Passive, name)
	}
	switch passive {
	case "":
		return api.VMResponse{}, userErr("which host is the passive one? give --passive HOST")
	case self:
		return api.VMResponse{}, userErr("--passive %s is the active host (VM %s is on %s): choose another host", passive, name, self)
	}
	hosts := a.cluster.Remembered()
	if !slices.Contains(hosts, self) {
		hosts = append(hosts, self)
	}
	if len(hosts) < 3 {
		slices.Sort(hosts)
		return api.VMResponse{}, userErr("HA needs at least 3 hosts, so that a majority survives the loss of one; this cluster has %d (%s)", len(hosts), strings.Join(hosts, ", "))
	}
	if ok, why := v.Spec.Migratable(); !ok {
		return api.VMResponse{}, userErr("VM %s cannot be made highly available: %s", name, why)
	}
	mem, ok := a.member(passive)
	if !ok || mem.Status != "alive" {
		return api.VMResponse{}, userErr("%s is not an alive member of the cluster (see vmnode members)", passive)
	}
	desired := ha.DesiredStopped
	if v.Running() {
		desired = ha.DesiredRunning
	}
	rec := ha.Record{Epoch: v.Spec.Meta.Epoch + 1, Active: self, Passive: passive, Desired: desired}
	meta := withRecord(v.Spec.Meta, rec)
	meta.HA.Enabled = true
	target := v
	target.Spec.Meta = meta
	if _, err := a.askTarget(ctx, opHADefine, target, passive); err != nil {
		return api.VMResponse{}, err
	}
	m, err := a.manager()
	if err == nil {
		err = m.Conn().SetMeta(ctx, name, meta)
	}
	if err != nil {
		if _, uerr := a.onMember(ctx, passive, api.VMRequest{Op: opHAUndefine, Name: name}); uerr != nil {
			err = errors.Join(err, fmt.Errorf("and %s keeps its copy: %w", passive, uerr))
		}
		return api.VMResponse{}, err
	}
	a.haMu.Lock()
	a.local(name).record = &rec
	a.haMu.Unlock()
	m.Refresh(ctx, name)
	a.log.Info("HA enabled", "vm", name, "passive", passive, "epoch", rec.Epoch)
	v, _ = m.VM(name)
	out := a.apiVM(v)
	return api.VMResponse{VM: &out}, nil
}

// haDefine is the passive host's side of ha enable: the target's checks,
// then the VM's definition here, shut off, with its record.
func (a *Agent) haDefine(ctx context.Context, r api.VMRequest) (api.VMResponse, error) {
	spec, err := a.accept(ctx, r)
	if err != nil {
		return api.VMResponse{}, err
	}
	m, err := a.manager()
	if err != nil {
		return api.VMResponse{}, err
	}
	if spec.VNC.Listen != "" {
		spec.VNC.Listen = a.vncListen() // the active's address is not this host's
	}
	x, err := domain.XML(spec)
	if err != nil {
		return api.VMResponse{}, err
	}
	if err := m.Conn().Define(ctx, x); err != nil {
		return api.VMResponse{}, err
	}
	m.Refresh(ctx, spec.Name)
	a.log.Info("defined as the passive host of an HA VM", "vm", spec.Name, "active", spec.Meta.Owner, "epoch", spec.Meta.Epoch)
	return api.VMResponse{}, nil
}

// haUndefine drops this host's shut-off copy of an HA VM (never its disks:
// they are the active's).
func (a *Agent) haUndefine(ctx context.Context, name string) (api.VMResponse, error) {
	m, err := a.manager()
	if err != nil {
		return api.VMResponse{}, err
	}
	v, ok := m.VM(name)
	if !ok {
		return api.VMResponse{}, nil
	}
	if v.Running() {
		return api.VMResponse{}, userErr("VM %s runs on %s: it is not the passive copy", name, a.Config().Node.Name)
	}
	return api.VMResponse{}, m.Conn().Undefine(ctx, name)
}

// haDisable ends HA for v: the passive drops its copy, then the record here
// says HA is off.
func (a *Agent) haDisable(ctx context.Context, v virt.VM) (api.VMResponse, error) {
	name := v.Spec.Name
	if !v.Spec.Meta.HA.Enabled {
		return api.VMResponse{}, userErr("VM %s is not highly available", name)
	}
	rec := a.record(v)
	if rec.Passive != "" {
		if _, err := a.onMember(ctx, rec.Passive, api.VMRequest{Op: opHAUndefine, Name: name}); err != nil {
			return api.VMResponse{}, fmt.Errorf("the passive host %s must drop its copy first, or it could start the VM later: %w", rec.Passive, err)
		}
	}
	m, err := a.manager()
	if err != nil {
		return api.VMResponse{}, err
	}
	meta := withRecord(v.Spec.Meta, ha.Record{Epoch: rec.Epoch + 1, Active: rec.Active})
	meta.HA, meta.Desired = domain.HA{}, ""
	if err := m.Conn().SetMeta(ctx, name, meta); err != nil {
		return api.VMResponse{}, err
	}
	a.haMu.Lock()
	delete(a.haVMs, name)
	a.haMu.Unlock()
	m.Refresh(ctx, name)
	a.log.Info("HA disabled", "vm", name)
	v, _ = m.VM(name)
	out := a.apiVM(v)
	return api.VMResponse{VM: &out}, nil
}

// haDesire writes the user's wish to run or stop an HA VM into a new
// record, before the operation: the rules then keep it that way.
func (a *Agent) haDesire(ctx context.Context, v virt.VM, d ha.Desired) error {
	rec := a.record(v)
	if rec.Desired == d {
		return nil
	}
	m, err := a.manager()
	if err != nil {
		return err
	}
	rec.Epoch++
	rec.Desired = d
	return a.writeRecord(ctx, m, v.Spec.Name, rec)
}

// haStart is `vm start` of an HA VM: the record says running, and the rules
// start it (under quorum); this waits for it.
func (a *Agent) haStart(ctx context.Context, v virt.VM) error {
	if err := a.haDesire(ctx, v, ha.DesiredRunning); err != nil {
		return err
	}
	a.kick()
	m, err := a.manager()
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := m.Conn().WaitState(wctx, v.Spec.Name, virt.StateRunning); err != nil {
		note := ""
		if st, ok := a.haState(time.Now()); ok {
			for _, d := range ha.Explain(st, time.Now()) {
				if d.VM == v.Spec.Name {
					note = d.Note
				}
			}
		}
		return fmt.Errorf("VM %s is to run (its record says so) but has not started: %s", v.Spec.Name, cmp.Or(note, err.Error()))
	}
	return nil
}

// switchover asks the rules to move an HA VM to its passive host.
func (a *Agent) switchover(v virt.VM) (api.VMResponse, error) {
	name := v.Spec.Name
	if !v.Spec.Meta.HA.Enabled {
		return api.VMResponse{}, userErr("VM %s is not highly available: use vmnode vm migrate", name)
	}
	if !v.Running() {
		return api.VMResponse{}, userErr("VM %s is %s: a switchover moves a running VM", name, v.State)
	}
	a.haMu.Lock()
	a.local(name).switchover = true
	a.haMu.Unlock()
	a.kick()
	out := a.apiVM(v)
	return api.VMResponse{VM: &out}, nil
}

// haViews are this host's HA VMs with the rules' reading of each.
func (a *Agent) haViews() []haView {
	m, err := a.manager()
	if err != nil {
		return nil
	}
	now := time.Now()
	st, ok := a.haState(now)
	if !ok {
		return nil
	}
	notes := map[string]string{}
	for _, d := range ha.Explain(st, now) {
		note := d.Note
		for _, act := range d.Actions {
			note = strings.TrimPrefix(note+"; ", "; ") + string(act.Kind) + ": " + act.Reason
		}
		notes[d.VM] = note
	}
	var out []haView
	for _, hv := range st.VMs {
		v, _ := m.VM(hv.Name)
		view := haView{Name: hv.Name, Record: hv.Record, Running: hv.Local.Running, State: string(v.State), Note: notes[hv.Name]}
		if e := v.Last; e != nil {
			view.Last = &api.LastEvent{Kind: string(e.Kind), Detail: e.Detail, Unexpected: e.Unexpected, At: e.At}
		}
		out = append(out, view)
	}
	return out
}

// haStatus gathers every member's HA views.
func (a *Agent) haStatus(ctx context.Context) (api.HAStatus, error) {
	lists, missing, err := a.clusterList(ctx)
	if err != nil {
		return api.HAStatus{}, err
	}
	cfg := a.Config()
	t := a.timers()
	out := api.HAStatus{
		Timers: api.HATimers{Detection: t.Detection, Skew: t.Skew, FenceTimeout: t.FenceTimeout, FailoverDelay: t.FailoverDelay,
			Watchdog: t.Watchdog, WatchdogPath: cfg.HA.WatchdogDevice, MaxRestarts: t.MaxRestarts},
		Predicted: t.Predict(), Missing: missing,
	}
	byName := map[string]*api.HAVM{}
	for _, host := range sortedHosts(lists) {
		for _, v := range lists[host].HA {
			e, ok := byName[v.Name]
			if !ok {
				e = &api.HAVM{Name: v.Name, Notes: map[string]string{}}
				byName[v.Name] = e
			}
			cur := ha.Record{Epoch: e.Epoch, Active: e.Active, Passive: e.Passive, Desired: ha.Desired(e.Desired)}
			if !ok || v.Record.Newer(cur) {
				e.Epoch, e.Active, e.Passive, e.Desired = v.Record.Epoch, v.Record.Active, v.Record.Passive, string(v.Record.Desired)
			}
			if v.Running {
				e.RunsOn = append(e.RunsOn, host)
			}
			if v.Running || (e.State == "" && host == v.Record.Active) {
				e.State, e.LastEvent = v.State, v.Last
			}
			if v.Note != "" {
				e.Notes[host] = v.Note
			}
		}
	}
	for _, e := range byName {
		e.State = cmp.Or(e.State, "unknown")
		out.VMs = append(out.VMs, *e)
	}
	slices.SortFunc(out.VMs, func(x, y api.HAVM) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

func sortedHosts(lists map[string]hostList) []string {
	var names []string
	for n := range lists {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// maintenance puts a member in maintenance or takes it out.
func (a *Agent) maintenance(ctx context.Context, r api.HostRequest) (api.HostResponse, error) {
	if r.Host == "" {
		return api.HostResponse{}, userErr("which host? give its name")
	}
	if _, ok := a.member(r.Host); !ok {
		return api.HostResponse{}, userErr("%s is not a member of the cluster (see vmnode members)", r.Host)
	}
	resp, err := a.onMember(ctx, r.Host, api.VMRequest{Op: opMaintenance, Maintenance: r.Maintenance})
	if err != nil {
		return api.HostResponse{}, err
	}
	return api.HostResponse{Host: r.Host, Maintenance: r.Maintenance, VMs: resp.VMs}, nil
}

// maintenanceFile marks this host in maintenance across restarts.
func (a *Agent) maintenanceFile() string {
	return filepath.Join(a.Config().Agent.DataDir, "maintenance")
}

// setMaintenance sets this host's flag, keeps it on disk, publishes it, and
// answers with the VMs defined here (not the passive copies).
func (a *Agent) setMaintenance(ctx context.Context, on bool) (api.VMResponse, error) {
	var err error
	if on {
		err = os.WriteFile(a.maintenanceFile(), []byte("drained by vmnode host drain\n"), 0o644)
	} else if err = os.Remove(a.maintenanceFile()); errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if err != nil {
		return api.VMResponse{}, fmt.Errorf("maintenance flag: %w", err)
	}
	if err := a.cluster.SetTags(func(t *rc.Tags) { t.Maintenance = on }); err != nil {
		return api.VMResponse{}, err
	}
	a.log.Info("maintenance", "on", on)
	a.kick()
	self := a.Config().Node.Name
	var out api.VMResponse
	for _, v := range a.localList(ctx).VMs {
		if v.Host == self {
			out.VMs = append(out.VMs, v)
		}
	}
	return out, nil
}

// inMaintenance reads the flag kept on disk.
func inMaintenance(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, "maintenance"))
	return err == nil
}
