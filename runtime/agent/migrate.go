package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
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
	"github.com/vmnode/vmnode/runtime/sched"
	"github.com/vmnode/vmnode/runtime/virt"
	"github.com/vmnode/vmnode/runtime/virt/domain"
)

// Internal VM operations between members.
const (
	// opAccept asks a migration target (or a passive host to be) whether it
	// can take the VM: Domain is its spec, Probe names the probe files
	// next to its disks, CPUModel the model it runs with.
	opAccept = "accept"
	// opHADefine has the passive host define the VM (after the same checks).
	opHADefine = "ha-define"
	// opHAUndefine has it drop its copy.
	opHAUndefine = "ha-undefine"
	// opMaintenance sets this host's maintenance flag (Maintenance).
	opMaintenance = "maintenance"
)

// migrationStall aborts a migration whose data has not moved for this long
// (a cut network): the VM stays on the source.
const migrationStall = 15 * time.Second

// migrateLocal is `vm migrate` on the VM's host: the checks this host can
// make, then the target's, then the migration in the background.
func (a *Agent) migrateLocal(ctx context.Context, r api.VMRequest, v virt.VM) (api.VMResponse, error) {
	self := a.Config().Node.Name
	name := r.Name
	if ok, why := v.Spec.Migratable(); !ok {
		return api.VMResponse{}, userErr("VM %s cannot be migrated: %s", name, why)
	}
	live := v.Running()
	switch {
	case live && r.Offline:
		return api.VMResponse{}, userErr("VM %s is running: migrate it live (without --offline), or shut it down first", name)
	case !live && !r.Offline:
		return api.VMResponse{}, userErr("VM %s is %s: a live migration needs it running; --offline moves its definition", name, v.State)
	}
	to := r.To
	var rec *ha.Record
	var resp api.VMResponse
	if v.Spec.Meta.HA.Enabled {
		cur := a.record(v)
		switch {
		case cur.Active != self:
			return api.VMResponse{}, userErr("VM %s is active on %s, not here", name, cur.Active)
		case to == "":
			to = cur.Passive
		case to != cur.Passive:
			return api.VMResponse{}, userErr("VM %s is highly available: it can only move to its passive host %s (vmnode ha disable %s first to move it elsewhere)", name, cur.Passive, name)
		}
		rec = &ha.Record{Epoch: cur.Epoch + 1, Active: cur.Passive, Passive: self, Desired: cur.Desired}
	}
	if to == "" {
		choice, err := a.placeMigration(ctx, v)
		if err != nil {
			return api.VMResponse{}, err
		}
		to = choice.Host
		resp.Placement = &api.Placement{Host: choice.Host, Reason: choice.Reason}
	}
	if to == self {
		return api.VMResponse{}, userErr("VM %s is already on %s", name, self)
	}
	vnc, err := a.canTake(ctx, v, to)
	if err != nil {
		return api.VMResponse{}, err
	}
	a.haMu.Lock()
	l := a.local(name)
	if l.busy != nil {
		a.haMu.Unlock()
		return api.VMResponse{}, userErr("VM %s is busy (a migration or shutdown is in progress)", name)
	}
	job := &api.Migration{VM: name, From: self, To: to, Live: live, State: api.MigrationRunning, Started: time.Now()}
	a.jobs[name] = job
	bg, cancel := context.WithCancel(context.Background())
	l.busy, l.migrating = cancel, true
	a.haMu.Unlock()
	go func() {
		defer cancel()
		err := a.migrate(bg, name, to, rec, vnc, r.Bandwidth)
		a.haMu.Lock()
		l.busy, l.migrating = nil, false
		a.haMu.Unlock()
		if err != nil {
			a.log.Error("migration failed; the VM stays here", "vm", name, "to", to, "err", err)
		}
		a.kick()
	}()
	resp.Migration = a.job(name)
	return resp, nil
}

// placeMigration is the scheduler's choice of a target for v: any healthy
// member with room but this one.
func (a *Agent) placeMigration(ctx context.Context, v virt.VM) (sched.Choice, error) {
	lists, _, err := a.clusterList(ctx)
	if err != nil {
		return sched.Choice{}, err
	}
	self := a.Config().Node.Name
	var hosts []sched.Host
	for name, l := range lists {
		if name != self {
			hosts = append(hosts, l.Host)
		}
	}
	slices.SortFunc(hosts, func(x, y sched.Host) int { return strings.Compare(x.Name, y.Name) })
	c, err := sched.Place(sched.Request{VCPUs: v.Spec.VCPUs, MemoryMiB: v.Spec.MemoryMiB}, hosts, a.policy())
	if err != nil {
		return c, api.UserError{Err: fmt.Errorf("no host to migrate %s to: %w", v.Spec.Name, err)}
	}
	return c, nil
}

// canTake checks that member to is a place for v, from gossip and then by
// asking it: its health, quorum, maintenance, room, the disks, the CPU. It
// returns the address the target's VNC consoles listen on.
func (a *Agent) canTake(ctx context.Context, v virt.VM, to string) (string, error) {
	name := v.Spec.Name
	mem, ok := a.member(to)
	switch {
	case !ok:
		return "", userErr("%s is not a member of the cluster (see vmnode members)", to)
	case mem.Status != rc.Alive:
		return "", userErr("%s is %s: it cannot take VM %s", to, mem.Status, name)
	case mem.Tags.Maintenance:
		return "", userErr("%s is in maintenance: it takes no VMs (vmnode host resume %s ends it)", to, to)
	}
	resp, err := a.askTarget(ctx, opAccept, v, to)
	if err != nil {
		return "", err
	}
	if resp.VM != nil && resp.VM.Console != nil {
		return resp.VM.Console.Address, nil
	}
	return "", nil
}

// askTarget sends the accept or ha-define request for v to member to, with
// probe files next to v's disks that the target must read to prove it sees
// the same storage.
func (a *Agent) askTarget(ctx context.Context, op string, v virt.VM, to string) (api.VMResponse, error) {
	m, err := a.manager()
	if err != nil {
		return api.VMResponse{}, err
	}
	token, cleanup, err := probeDisks(v.Spec)
	if err != nil {
		return api.VMResponse{}, err
	}
	defer cleanup()
	var model string
	if v.Running() {
		if model, err = m.Conn().CPUModel(ctx, v.Spec.Name); err != nil {
			return api.VMResponse{}, err
		}
	}
	spec := v.Spec
	spec.UUID = v.UUID
	raw, err := json.Marshal(spec)
	if err != nil {
		return api.VMResponse{}, err
	}
	return a.onMember(ctx, to, api.VMRequest{Op: op, Name: spec.Name, Domain: raw, Probe: token, CPUModel: model})
}

// probeDisks writes a file with a random token in the directory of each of
// the VM's disks; the target reads them back.
func probeDisks(s domain.Spec) (string, func(), error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	var made []string
	cleanup := func() {
		for _, p := range made {
			_ = os.Remove(p)
		}
	}
	for _, dir := range diskDirs(s) {
		p := filepath.Join(dir, ".vmnode-probe-"+token)
		if err := os.WriteFile(p, []byte(token), 0o644); err != nil {
			cleanup()
			return "", nil, fmt.Errorf("cannot write a probe next to the disks of %s: %w", s.Name, err)
		}
		made = append(made, p)
	}
	return token, cleanup, nil
}

func diskDirs(s domain.Spec) []string {
	var dirs []string
	for _, d := range s.Disks {
		dirs = append(dirs, filepath.Dir(d.Path))
	}
	if s.Seed != "" {
		dirs = append(dirs, filepath.Dir(s.Seed))
	}
	slices.Sort(dirs)
	return slices.Compact(dirs)
}

// accept is the target's side of the migration preflight: every reason it
// cannot take the VM, or nil.
func (a *Agent) accept(ctx context.Context, r api.VMRequest) (domain.Spec, error) {
	var spec domain.Spec
	if err := json.Unmarshal(r.Domain, &spec); err != nil || spec.Name != r.Name {
		return spec, fmt.Errorf("bad VM specification in the request: %v", err)
	}
	self := a.Config().Node.Name
	m, err := a.manager()
	if err != nil {
		return spec, err
	}
	var why []string
	a.mu.Lock()
	health, failing := a.health.Status, a.health.Failing
	a.mu.Unlock()
	if !healthy(health) {
		why = append(why, fmt.Sprintf("it is unhealthy (%s: %s)", health, strings.Join(failing, ", ")))
	}
	if a.cluster.Tags().Maintenance {
		why = append(why, "it is in maintenance")
	}
	if q := a.cluster.Quorum(); !q.Has() {
		why = append(why, "it has no quorum ("+q.String()+")")
	}
	h, err := a.schedHost(ctx, m)
	if err != nil {
		return spec, err
	}
	if old, ok := m.VM(spec.Name); ok {
		if old.UUID != spec.UUID {
			why = append(why, fmt.Sprintf("it already has another VM named %s", spec.Name))
		} else if old.Spec.Meta.HA.Enabled && old.Spec.Meta.HA.Passive == self && !old.Running() {
			h.UsedMiB -= spec.MemoryMiB // reserved for this very VM
			h.UsedVCPUs -= spec.VCPUs
		}
	}
	h.Images, h.FreeVFs = nil, 0
	if ok, reason := sched.Fits(sched.Request{VCPUs: spec.VCPUs, MemoryMiB: spec.MemoryMiB}, h, a.policy()); !ok {
		why = append(why, reason)
	}
	why = append(why, reachable(spec, r.Probe)...)
	if r.CPUModel != "" {
		models, err := m.Conn().CPUModels(ctx, spec.Type)
		switch {
		case err != nil:
			why = append(why, "its CPU models are unknown: "+err.Error())
		case !slices.Contains(models, r.CPUModel):
			why = append(why, fmt.Sprintf("CPU model %s is not available here", r.CPUModel))
		}
	}
	if len(why) > 0 {
		return spec, userErr("%s cannot take VM %s: %s", self, spec.Name, strings.Join(why, "; "))
	}
	return spec, nil
}

// acceptReply is the answer to opAccept: where this host's consoles listen.
func (a *Agent) acceptReply(ctx context.Context, r api.VMRequest) (api.VMResponse, error) {
	if _, err := a.accept(ctx, r); err != nil {
		return api.VMResponse{}, err
	}
	return api.VMResponse{VM: &api.VM{Name: r.Name, Host: a.Config().Node.Name, Console: &api.Console{Address: a.vncListen()}}}, nil
}

// reachable says which of the VM's disks this host cannot see, and whether
// it sees the source's probe files (the same storage, not a copy).
func reachable(s domain.Spec, token string) []string {
	var why []string
	for _, d := range s.Disks {
		if _, err := os.Stat(d.Path); err != nil {
			why = append(why, fmt.Sprintf("disk %s is not reachable from here", d.Path))
		}
	}
	if s.Seed != "" {
		if _, err := os.Stat(s.Seed); err != nil {
			why = append(why, fmt.Sprintf("cloud-init seed %s is not reachable from here", s.Seed))
		}
	}
	if len(why) > 0 || token == "" {
		return why
	}
	for _, dir := range diskDirs(s) {
		b, err := os.ReadFile(filepath.Join(dir, ".vmnode-probe-"+token))
		if err != nil || string(b) != token {
			why = append(why, fmt.Sprintf("%s here is not the source's (not shared storage): its disks would differ", dir))
		}
	}
	return why
}

// migrate moves name to member to, tracking the job. rec, for an HA VM, is
// its next record: the target runs it under that record and this host
// keeps its definition as the passive. vnc is where the target's consoles
// listen; "" asks the target first (its checks too).
func (a *Agent) migrate(ctx context.Context, name, to string, rec *ha.Record, vnc string, bandwidth uint64) error {
	m, err := a.manager()
	if err != nil {
		return err
	}
	self := a.Config().Node.Name
	v, ok := m.VM(name)
	if !ok {
		return virt.ErrNotFound
	}
	a.haMu.Lock()
	job, ok := a.jobs[name]
	if !ok || job.State != api.MigrationRunning {
		job = &api.Migration{VM: name, From: self, To: to, Live: v.Running(), State: api.MigrationRunning, Started: time.Now()}
		a.jobs[name] = job
	}
	a.haMu.Unlock()
	if vnc == "" {
		vnc, err = a.canTake(ctx, v, to)
	}
	if err == nil {
		err = a.runMigration(ctx, m, v, to, rec, vnc, bandwidth, job)
	}
	a.haMu.Lock()
	job.Elapsed = time.Since(job.Started)
	if err != nil {
		job.State, job.Error = api.MigrationFailed, err.Error()
	} else {
		job.State = api.MigrationDone
		job.DataRemaining = 0
	}
	a.haMu.Unlock()
	return err
}

func (a *Agent) runMigration(ctx context.Context, m *virt.Manager, v virt.VM, to string, rec *ha.Record, vnc string, bandwidth uint64, job *api.Migration) error {
	mem, ok := a.member(to)
	if !ok {
		return fmt.Errorf("%s is not a member of the cluster", to)
	}
	uri := strings.ReplaceAll(a.Config().VM.MigrateURI, "{address}", mem.Addr.String())
	meta := v.Spec.Meta
	if rec != nil {
		meta = withRecord(meta, *rec)
	} else {
		meta.Owner = to
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	moved := time.Now()
	var last uint64
	err := m.Conn().Migrate(ctx, v.Spec.Name, virt.MigrateOptions{
		DestURI: uri, Live: v.Running(), Meta: &meta, KeepSource: rec != nil, VNCListen: vnc, Bandwidth: bandwidth,
		Progress: func(p virt.Progress) {
			a.haMu.Lock()
			job.DataTotal, job.DataProcessed, job.DataRemaining = p.DataTotal, p.DataProcessed, p.DataRemaining
			job.BytesPerSec, job.Downtime, job.Elapsed = p.MemBps, p.Downtime, time.Since(job.Started)
			a.haMu.Unlock()
			if p.DataProcessed != last {
				last, moved = p.DataProcessed, time.Now()
			} else if time.Since(moved) > migrationStall {
				cancel(fmt.Errorf("no data moved for %v (is the network to %s cut?)", migrationStall, to))
			}
		},
	})
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			return fmt.Errorf("%w: %w", cause, err)
		}
		return err
	}
	if rec != nil {
		if err := a.writeRecord(context.Background(), m, v.Spec.Name, *rec); err != nil {
			a.log.Error("migrated, but this host's copy of the record is behind (it holds the newer one in memory)", "vm", v.Spec.Name, "err", err)
		}
	} else {
		// libvirt sends no "undefined" event for the source of a migration
		// that removes it, and the "stopped" one may be read before the
		// definition goes: re-read it, or the VM stays listed here.
		m.Refresh(context.Background(), v.Spec.Name)
	}
	a.log.Info("VM migrated", "vm", v.Spec.Name, "to", to, "live", job.Live, "took", time.Since(job.Started).Round(time.Millisecond))
	return nil
}

// job is a copy of the VM's last migration from here, nil if none.
func (a *Agent) job(name string) *api.Migration {
	a.haMu.Lock()
	defer a.haMu.Unlock()
	j, ok := a.jobs[name]
	if !ok {
		return nil
	}
	c := *j
	if c.State == api.MigrationRunning {
		c.Elapsed = time.Since(c.Started)
	}
	return &c
}

// member finds a member by name.
func (a *Agent) member(name string) (rc.Member, bool) {
	for _, m := range a.cluster.Members() {
		if m.Name == name {
			return m, true
		}
	}
	return rc.Member{}, false
}
