package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/serf/serf"

	"github.com/vmnode/vmnode/runtime/api"
	rc "github.com/vmnode/vmnode/runtime/cluster"
	"github.com/vmnode/vmnode/runtime/ha"
	"github.com/vmnode/vmnode/runtime/sched"
	"github.com/vmnode/vmnode/runtime/virt"
	"github.com/vmnode/vmnode/runtime/virt/domain"
	"github.com/vmnode/vmnode/runtime/virt/storage"
)

// queryVM carries a VM operation to the member that has the VM; "list" goes
// to every member. Payload: gzipped api.VMRequest; answer: gzipped vmReply.
const queryVM = "vmnode.vm"

// vmReply is a member's answer to queryVM.
type vmReply struct {
	Resp api.VMResponse `json:"r"`
	List *hostList      `json:"l,omitempty"`
	Err  string         `json:"e,omitempty"`
	User bool           `json:"u,omitempty"` // the request was wrong, not the host
}

// hostList is one member's VMs (pending ones included), images and resources.
type hostList struct {
	Host   sched.Host  `json:"host"`
	VMs    []api.VM    `json:"vms"`
	Images []api.Image `json:"images"`
	HA     []haView    `json:"ha,omitempty"`
}

// vm serves a VM request from the control socket: it finds the member that
// has the VM and has it do the work.
func (a *Agent) vm(ctx context.Context, r api.VMRequest) (api.VMResponse, error) {
	self := a.Config().Node.Name
	switch r.Op {
	case api.VMList:
		lists, missing, err := a.clusterList(ctx)
		if err != nil {
			return api.VMResponse{}, err
		}
		var out api.VMResponse
		for _, l := range lists {
			out.VMs = append(out.VMs, l.VMs...)
		}
		slices.SortFunc(out.VMs, func(x, y api.VM) int { return cmp.Compare(x.Name, y.Name) })
		out.Missing = missing
		return out, nil
	case api.VMCreate:
		return a.create(ctx, r)
	case api.VMMigration:
		if r.Host == "" || r.Host == self {
			return a.vmLocal(ctx, r)
		}
		return a.onMember(ctx, r.Host, r)
	case api.VMStart, api.VMShutdown, api.VMStop, api.VMReboot, api.VMDelete, api.VMShow, api.VMConsole,
		api.VMMigrate, api.VMHAEnable, api.VMHADisable, api.VMSwitchover:
	default:
		return api.VMResponse{}, userErr("unknown VM operation %q", r.Op)
	}
	if r.Name == "" {
		return api.VMResponse{}, userErr("which VM? give its name")
	}
	if err := domain.ValidName(r.Name); err != nil {
		return api.VMResponse{}, api.UserError{Err: err}
	}
	if a.hasLocally(r.Name) {
		if active := a.activeElsewhere(r.Name); active != "" {
			return a.onMember(ctx, active, r) // this host holds the passive copy
		}
		return a.vmLocal(ctx, r) // no need to ask the cluster
	}
	v, _, missing, err := a.locate(ctx, r.Name)
	if err != nil {
		return api.VMResponse{}, err
	}
	where := v.Host
	if where == "" {
		where = v.HeldBy // pending: the member keeping it places it
	}
	if where == self {
		return a.vmLocal(ctx, r)
	}
	resp, err := a.onMember(ctx, where, r)
	resp.Missing = missing
	return resp, err
}

// hasLocally tells whether the VM is defined here or pending here.
func (a *Agent) hasLocally(name string) bool {
	if _, ok, _ := a.loadPending(name); ok {
		return true
	}
	m, err := a.manager()
	if err != nil {
		return false
	}
	_, ok := m.VM(name)
	return ok
}

// activeElsewhere is the active host of an HA VM this host is the passive
// of, "" otherwise.
func (a *Agent) activeElsewhere(name string) string {
	m, err := a.manager()
	if err != nil {
		return ""
	}
	v, ok := m.VM(name)
	if !ok || !v.Spec.Meta.HA.Enabled {
		return ""
	}
	if rec := a.record(v); rec.Active != a.Config().Node.Name {
		return rec.Active
	}
	return ""
}

// create checks the request against the whole cluster, then defines the VM
// on the host asked for, or keeps it pending here until its first start.
func (a *Agent) create(ctx context.Context, r api.VMRequest) (api.VMResponse, error) {
	if r.Create == nil {
		return api.VMResponse{}, userErr("create: no VM specification")
	}
	if err := domain.ValidName(r.Name); err != nil {
		return api.VMResponse{}, api.UserError{Err: err}
	}
	if err := checkSpec(*r.Create); err != nil {
		return api.VMResponse{}, api.UserError{Err: err}
	}
	lists, missing, err := a.clusterList(ctx)
	if err != nil {
		return api.VMResponse{}, err
	}
	for _, l := range lists {
		for _, v := range l.VMs {
			if v.Name == r.Name {
				return api.VMResponse{}, userErr("a VM named %q already exists (%s)", r.Name, whereIs(v))
			}
		}
	}
	req := request(*r.Create)
	var hosts []sched.Host
	for _, l := range lists {
		hosts = append(hosts, l.Host)
	}
	if r.Host != "" {
		l, ok := lists[r.Host]
		if !ok {
			return api.VMResponse{}, userErr("host %q is not an alive member of the cluster (see vmnode members)", r.Host)
		}
		hosts = []sched.Host{l.Host}
	}
	if err := sched.Feasible(req, hosts, a.policy()); err != nil {
		return api.VMResponse{}, api.UserError{Err: fmt.Errorf("VM %s is too big: %w", r.Name, err)}
	}
	if r.Host == "" {
		p := pendingVM{Name: r.Name, Spec: *r.Create, Created: time.Now().UTC().Truncate(time.Second)}
		if err := a.savePending(p); err != nil {
			return api.VMResponse{}, fmt.Errorf("keep the pending VM: %w", err)
		}
		v := pendingAPI(p, a.Config().Node.Name)
		return api.VMResponse{VM: &v, Missing: missing}, nil
	}
	return a.onMember(ctx, r.Host, r)
}

// vmLocal does a VM operation on this host.
func (a *Agent) vmLocal(ctx context.Context, r api.VMRequest) (api.VMResponse, error) {
	switch r.Op {
	case opAccept:
		return a.acceptReply(ctx, r)
	case opHADefine:
		return a.haDefine(ctx, r)
	case opHAUndefine:
		return a.haUndefine(ctx, r.Name)
	case opMaintenance:
		return a.setMaintenance(ctx, r.Maintenance)
	case api.VMMigration:
		j := a.job(r.Name)
		if j == nil {
			return api.VMResponse{}, userErr("no migration of %s from %s", r.Name, a.Config().Node.Name)
		}
		return api.VMResponse{Migration: j}, nil
	}
	if p, ok, err := a.loadPending(r.Name); err != nil {
		return api.VMResponse{}, err
	} else if ok && r.Op != api.VMCreate {
		return a.pendingOp(ctx, p, r)
	}
	m, err := a.manager()
	if err != nil {
		return api.VMResponse{}, err
	}
	self := a.Config().Node.Name
	if r.Op == api.VMCreate {
		v, err := m.Create(ctx, createRequest(r))
		if err != nil {
			return api.VMResponse{}, err
		}
		out := a.apiVM(v)
		return api.VMResponse{VM: &out}, nil
	}
	v, ok := m.VM(r.Name)
	if !ok {
		return api.VMResponse{}, userErr("no VM named %q on %s", r.Name, self)
	}
	isHA := v.Spec.Meta.HA.Enabled
	var resp api.VMResponse
	switch r.Op {
	case api.VMMigrate:
		return a.migrateLocal(ctx, r, v)
	case api.VMHAEnable:
		return a.haEnable(ctx, r, v)
	case api.VMHADisable:
		return a.haDisable(ctx, v)
	case api.VMSwitchover:
		return a.switchover(v)
	case api.VMStart:
		if r.Host != "" && r.Host != self {
			return api.VMResponse{}, userErr("VM %s is defined on %s: it starts there (moving it is `vmnode vm migrate`)", r.Name, self)
		}
		if !v.Running() {
			if err := a.fitsHere(ctx, m, v); err != nil {
				return api.VMResponse{}, err
			}
		}
		if isHA {
			err = a.haStart(ctx, v)
		} else {
			err = m.Start(ctx, r.Name)
		}
	case api.VMShutdown:
		if isHA {
			if err := a.haDesire(ctx, v, ha.DesiredStopped); err != nil {
				return api.VMResponse{}, err
			}
		}
		timeout := cmp.Or(r.Timeout, 2*time.Minute)
		resp.Forced, err = m.Shutdown(ctx, r.Name, timeout, r.Force)
	case api.VMStop:
		if !r.Force {
			return api.VMResponse{}, userErr("stop pulls the plug on %s and can lose the guest's unsaved data: add --force, or use vmnode vm shutdown", r.Name)
		}
		if isHA {
			if err := a.haDesire(ctx, v, ha.DesiredStopped); err != nil {
				return api.VMResponse{}, err
			}
		}
		err = m.Stop(ctx, r.Name)
	case api.VMReboot:
		err = m.Reboot(ctx, r.Name)
	case api.VMDelete:
		if isHA {
			return api.VMResponse{}, userErr("VM %s is highly available: vmnode ha disable %s first", r.Name, r.Name)
		}
		if err := m.Delete(ctx, r.Name, r.KeepDisks, r.Force); err != nil {
			return api.VMResponse{}, err
		}
		out := a.apiVM(v)
		out.State = "deleted"
		return api.VMResponse{VM: &out}, nil
	case api.VMShow:
	case api.VMConsole:
		if v.VNCPort <= 0 {
			return api.VMResponse{}, userErr("VM %s has no console now: it is %s (a console exists while it runs)", r.Name, v.State)
		}
	}
	if err != nil {
		return api.VMResponse{}, err
	}
	v, _ = m.VM(r.Name)
	out := a.apiVM(v)
	if r.Op == api.VMConsole && v.VNCPort > 0 {
		addr := v.Spec.VNC.Listen
		if ip := net.ParseIP(addr); ip == nil || ip.IsUnspecified() {
			addr = a.advertise.Addr().String()
		}
		out.Console = &api.Console{Address: net.JoinHostPort(addr, strconv.Itoa(v.VNCPort)), Password: v.Spec.VNC.Password}
	}
	resp.VM = &out
	return resp, nil
}

// pendingOp is an operation on a VM that has no host yet.
func (a *Agent) pendingOp(ctx context.Context, p pendingVM, r api.VMRequest) (api.VMResponse, error) {
	v := pendingAPI(p, a.Config().Node.Name)
	switch r.Op {
	case api.VMStart:
		return a.place(ctx, p, r.Host)
	case api.VMShow:
		return api.VMResponse{VM: &v}, nil
	case api.VMDelete:
		if err := a.removePending(p.Name); err != nil {
			return api.VMResponse{}, err
		}
		v.State = "deleted"
		return api.VMResponse{VM: &v}, nil
	}
	return api.VMResponse{}, userErr("VM %s is pending: it has no host until its first start (vmnode vm start %s)", p.Name, p.Name)
}

// fitsHere refuses to start a VM this host has no room for.
func (a *Agent) fitsHere(ctx context.Context, m *virt.Manager, v virt.VM) error {
	h, err := a.schedHost(ctx, m)
	if err != nil {
		return err
	}
	h.Images, h.FreeVFs = nil, 0 // defined already: its disks and VFs are here
	if ok, why := sched.Fits(sched.Request{VCPUs: v.Spec.VCPUs, MemoryMiB: v.Spec.MemoryMiB}, h, a.policy()); !ok {
		return userErr("cannot start %s on %s: %s", v.Spec.Name, h.Name, why)
	}
	return nil
}

// place gives a pending VM its host at its first start: the one asked for,
// or the scheduler's choice; the host defines and starts it; then it is no
// longer pending.
func (a *Agent) place(ctx context.Context, p pendingVM, want string) (api.VMResponse, error) {
	lists, _, err := a.clusterList(ctx)
	if err != nil {
		return api.VMResponse{}, err
	}
	var hosts []sched.Host
	for _, l := range lists {
		hosts = append(hosts, l.Host)
	}
	slices.SortFunc(hosts, func(x, y sched.Host) int { return cmp.Compare(x.Name, y.Name) })
	req := request(p.Spec)
	var choice sched.Choice
	if want != "" {
		l, ok := lists[want]
		if !ok {
			return api.VMResponse{}, userErr("host %q is not an alive member of the cluster (see vmnode members)", want)
		}
		if ok, why := sched.Fits(req, l.Host, a.policy()); !ok {
			return api.VMResponse{}, userErr("VM %s cannot start on %s: %s", p.Name, want, why)
		}
		choice = sched.Choice{Host: want, Reason: "asked for with --host"}
	} else if choice, err = sched.Place(req, hosts, a.policy()); err != nil {
		return api.VMResponse{}, api.UserError{Err: fmt.Errorf("VM %s: %w", p.Name, err)}
	}
	a.log.Info("placing VM", "vm", p.Name, "host", choice.Host, "reason", choice.Reason)
	resp, err := a.onMember(ctx, choice.Host, api.VMRequest{Op: api.VMCreate, Name: p.Name, Host: choice.Host, Create: &p.Spec, StartNow: true, Created: p.Created})
	if err != nil {
		return api.VMResponse{}, fmt.Errorf("start %s on %s (%s): %w", p.Name, choice.Host, choice.Reason, err)
	}
	if err := a.removePending(p.Name); err != nil {
		a.log.Error("VM placed but its pending record remains", "vm", p.Name, "err", err)
	}
	pl := &api.Placement{Host: choice.Host, Reason: choice.Reason}
	for _, r := range choice.Rejected {
		pl.Rejected = append(pl.Rejected, api.Rejection{Host: r.Host, Reason: r.Reason})
	}
	resp.Placement = pl
	return resp, nil
}

// locate finds a VM in the cluster.
func (a *Agent) locate(ctx context.Context, name string) (api.VM, map[string]hostList, []string, error) {
	lists, missing, err := a.clusterList(ctx)
	if err != nil {
		return api.VM{}, nil, nil, err
	}
	for _, l := range lists {
		for _, v := range l.VMs {
			if v.Name == name {
				return v, lists, missing, nil
			}
		}
	}
	msg := fmt.Sprintf("no VM named %q in the cluster", name)
	if len(missing) > 0 {
		msg += fmt.Sprintf("; not known: the VMs of %s", strings.Join(missing, ", "))
	}
	return api.VM{}, nil, missing, api.UserError{Err: errors.New(msg)}
}

// clusterList asks every alive member for its VMs, images and resources.
func (a *Agent) clusterList(ctx context.Context) (map[string]hostList, []string, error) {
	payload, err := zjson(api.VMRequest{Op: api.VMList})
	if err != nil {
		return nil, nil, err
	}
	alive := map[string]bool{}
	var missing []string
	for _, m := range a.cluster.Members() {
		switch m.Status {
		case rc.Alive:
			alive[m.Name] = true
		case rc.Failed:
			missing = append(missing, m.Name+" (failed)")
		}
	}
	answers, _, err := a.ask(queryVM, payload, listTimeout, alive)
	if err != nil {
		return nil, nil, err
	}
	lists := map[string]hostList{}
	for name, raw := range answers {
		var r vmReply
		if err := unzjson(raw, &r); err != nil || r.List == nil {
			a.log.Warn("unreadable VM list", "from", name, "err", err, "reply", r.Err)
			continue
		}
		l := *r.List
		l.Host.Alive = alive[name]
		lists[name] = l
	}
	for name := range alive {
		if _, ok := lists[name]; !ok {
			missing = append(missing, name+" (no answer)")
		}
	}
	slices.Sort(missing)
	return lists, missing, ctx.Err()
}

// listTimeout bounds a cluster-wide list; it returns as soon as every alive
// member answered.
const listTimeout = 5 * time.Second

// localList is this member's answer to a list.
func (a *Agent) localList(ctx context.Context) hostList {
	self := a.Config().Node.Name
	l := hostList{Host: sched.Host{Name: self}}
	a.mu.Lock()
	l.Host.Health = a.health.Status
	a.mu.Unlock()
	store := storage.New(a.Config().Agent.DataDir)
	if imgs, err := store.Images(); err == nil {
		for _, im := range imgs {
			l.Host.Images = append(l.Host.Images, im.Name)
			l.Images = append(l.Images, api.Image{Name: im.Name, Format: im.Format, Size: im.Size, VirtualSize: im.VirtualSize, SHA256: im.SHA256, Imported: im.Imported, Hosts: []string{self}})
		}
	}
	for _, p := range a.listPending() {
		l.VMs = append(l.VMs, pendingAPI(p, self))
	}
	m, err := a.manager()
	if err != nil {
		return l
	}
	if h, err := a.schedHost(ctx, m); err == nil {
		h.Images = l.Host.Images
		l.Host = h
	}
	for _, v := range m.VMs() {
		if v.Spec.Meta.HA.Enabled && a.record(v).Active != self {
			continue // the passive copy: the active lists it
		}
		l.VMs = append(l.VMs, a.apiVM(v))
	}
	l.HA = a.haViews()
	return l
}

// schedHost is this host as the scheduler sees it.
func (a *Agent) schedHost(ctx context.Context, m *virt.Manager) (sched.Host, error) {
	res, err := m.Resources(ctx)
	if err != nil {
		return sched.Host{}, err
	}
	a.mu.Lock()
	health := a.health.Status
	a.mu.Unlock()
	return sched.Host{
		Name: a.Config().Node.Name, Alive: true, Health: health, Libvirt: m.Conn().Connected(),
		CPUs: res.CPUs, MemoryMiB: res.MemoryMiB, UsedMiB: res.UsedMiB, UsedVCPUs: res.UsedVCPUs,
		FreeVFs: m.FreeVFs(),
	}, nil
}

// onMember has host do a VM operation: here directly, elsewhere through a
// query sent to it alone.
func (a *Agent) onMember(ctx context.Context, host string, r api.VMRequest) (api.VMResponse, error) {
	if host == a.Config().Node.Name {
		return a.vmLocal(ctx, r)
	}
	payload, err := zjson(r)
	if err != nil {
		return api.VMResponse{}, err
	}
	if len(payload) > 1000 {
		return api.VMResponse{}, userErr("the request for %s is %d bytes compressed, more than gossip carries (1000): shorten the cloud-init user-data, or run the command on %s itself", r.Name, len(payload), host)
	}
	timeout := opTimeout(r)
	resp, err := a.cluster.Serf().Query(queryVM, payload, &serf.QueryParam{FilterNodes: []string{host}, Timeout: timeout})
	if err != nil {
		return api.VMResponse{}, fmt.Errorf("ask %s: %w", host, err)
	}
	defer resp.Close()
	select {
	case rr, ok := <-resp.ResponseCh():
		if !ok {
			break
		}
		var reply vmReply
		if err := unzjson(rr.Payload, &reply); err != nil {
			return api.VMResponse{}, fmt.Errorf("unreadable answer from %s: %w", host, err)
		}
		if reply.Err != "" {
			err := fmt.Errorf("%s: %s", host, reply.Err)
			if reply.User {
				err = api.UserError{Err: err}
			}
			return reply.Resp, err
		}
		return reply.Resp, nil
	case <-ctx.Done():
		return api.VMResponse{}, ctx.Err()
	}
	return api.VMResponse{}, fmt.Errorf("%s did not answer within %s (is it alive? vmnode members)", host, timeout)
}

// opTimeout is how long a member may take to do r.
func opTimeout(r api.VMRequest) time.Duration {
	switch r.Op {
	case api.VMShutdown:
		return cmp.Or(r.Timeout, 2*time.Minute) + 30*time.Second
	case api.VMCreate, api.VMStart, api.VMDelete, api.VMStop:
		return 2 * time.Minute
	}
	return 30 * time.Second
}

// answerVM runs a VM request from another member.
func (a *Agent) answerVM(ctx context.Context, payload []byte) ([]byte, error) {
	var r api.VMRequest
	if err := unzjson(payload, &r); err != nil {
		return nil, err
	}
	var reply vmReply
	if r.Op == api.VMList {
		l := a.localList(ctx)
		reply.List = &l
	} else {
		resp, err := a.vmLocal(ctx, r)
		reply.Resp = resp
		if err != nil {
			var ue api.UserError
			reply.Err, reply.User = err.Error(), errors.As(err, &ue)
		}
	}
	return zjson(reply)
}

func (a *Agent) policy() sched.Policy {
	c := a.Config().VM
	return sched.Policy{ReservedMiB: c.ReservedMiB, ReservedCPUs: c.ReservedCPUs, CPUOvercommit: c.CPUOvercommit}
}

// images lists the images of every member, merged by name and checksum.
func (a *Agent) images(ctx context.Context) (api.ImagesResponse, error) {
	lists, missing, err := a.clusterList(ctx)
	if err != nil {
		return api.ImagesResponse{}, err
	}
	byKey := map[string]*api.Image{}
	var out api.ImagesResponse
	for _, l := range lists {
		for _, im := range l.Images {
			k := im.Name + "\x00" + im.SHA256
			if e, ok := byKey[k]; ok {
				e.Hosts = append(e.Hosts, im.Hosts...)
				continue
			}
			c := im
			byKey[k] = &c
		}
	}
	for _, im := range byKey {
		slices.Sort(im.Hosts)
		out.Images = append(out.Images, *im)
	}
	slices.SortFunc(out.Images, func(x, y api.Image) int { return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.SHA256, y.SHA256)) })
	out.Missing = missing
	return out, nil
}

func userErr(format string, args ...any) error {
	return api.UserError{Err: fmt.Errorf(format, args...)}
}

func whereIs(v api.VM) string {
	if v.Host == "" {
		return "pending, kept by " + v.HeldBy
	}
	return "on " + v.Host
}
