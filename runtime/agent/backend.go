package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/serf/serf"

	"github.com/vmnode/vmnode/preflight/cluster"
	"github.com/vmnode/vmnode/preflight/format"
	"github.com/vmnode/vmnode/runtime/api"
	rc "github.com/vmnode/vmnode/runtime/cluster"
)

// backend serves the control API.
type backend struct{ a *Agent }

func (b backend) Status(context.Context) (api.Status, error) {
	a := b.a
	q := a.cluster.Quorum()
	alive := 0
	for _, m := range a.cluster.Members() {
		if m.Status == rc.Alive {
			alive++
		}
	}
	cfg := a.Config()
	a.mu.Lock()
	h := a.health
	a.mu.Unlock()
	return api.Status{
		Node: cfg.Node.Name, Address: a.advertise.String(), Version: a.opts.Version, Started: a.started,
		Encrypted: cfg.Agent.Encrypt, Members: q.Hosts, Alive: alive, Health: h,
		Quorum: api.Quorum{Seen: q.Seen, Needed: q.Needed, Hosts: q.Hosts, Has: q.Has()},
	}, nil
}

func (b backend) Members(context.Context) ([]api.Member, error) {
	var out []api.Member
	for _, m := range b.a.cluster.Members() {
		t := m.Tags
		out = append(out, api.Member{
			Name: m.Name, Address: m.AddrPort().String(), Status: string(m.Status), Role: t.Role, Profile: t.Profile,
			OSFamily: t.OSFamily, OS: t.OS, Version: t.Version, Libvirt: t.Libvirt, QEMU: t.QEMU,
			CPUs: t.CPUs, MemoryMiB: t.MemoryMiB, Health: t.Health, Failing: t.Failing, Quorate: t.Quorate,
		})
	}
	return out, nil
}

func (b backend) Join(ctx context.Context, r api.JoinRequest) (api.JoinResponse, error) {
	if len(r.Addrs) == 0 {
		return api.JoinResponse{}, api.UserError{Err: errors.New("no address to join")}
	}
	n, err := b.a.cluster.Join(ctx, r.Addrs)
	if err != nil {
		var refused *rc.RefusedError
		if errors.As(err, &refused) {
			return api.JoinResponse{}, api.UserError{Err: err}
		}
		return api.JoinResponse{}, err
	}
	hosts := rc.QuorumOf(b.a.cluster.Members(), nil).Hosts
	resp := api.JoinResponse{Joined: n, Members: hosts}
	if hosts%2 == 0 {
		resp.Warnings = append(resp.Warnings, fmt.Sprintf("the cluster has %d hosts: an odd number is recommended, since with %d hosts losing %d stops the cluster", hosts, hosts, hosts/2))
	}
	if hosts < 3 {
		resp.Warnings = append(resp.Warnings, fmt.Sprintf("the cluster has %d host(s): High Availability needs at least 3", hosts))
	}
	b.a.log.Info("joined the cluster", "through", n, "hosts", hosts)
	return resp, nil
}

func (b backend) ForceLeave(_ context.Context, r api.ForceLeaveRequest) error {
	if r.Node == "" {
		return api.UserError{Err: errors.New("which member? give its name")}
	}
	if err := b.a.cluster.ForceLeave(r.Node); err != nil {
		return api.UserError{Err: err}
	}
	return nil
}

func (b backend) Keys(_ context.Context, r api.KeyRequest) (api.KeyResponse, error) {
	s := b.a.cluster.Serf()
	if !b.a.Config().Agent.Encrypt {
		return api.KeyResponse{}, api.UserError{Err: errors.New("gossip encryption is off here (agent.encrypt: false): there is no keyring")}
	}
	if r.Op != "list" {
		if _, err := rc.DecodeKey(r.Key); err != nil {
			return api.KeyResponse{}, api.UserError{Err: fmt.Errorf("key: %w", err)}
		}
	}
	km := s.KeyManager()
	var kr *serf.KeyResponse
	var err error
	switch r.Op {
	case "list":
		kr, err = km.ListKeys()
	case "install":
		kr, err = km.InstallKey(r.Key)
	case "use":
		kr, err = km.UseKey(r.Key)
	case "remove":
		kr, err = km.RemoveKey(r.Key)
	default:
		return api.KeyResponse{}, api.UserError{Err: fmt.Errorf("unknown key operation %q: want list, install, use or remove", r.Op)}
	}
	if kr == nil {
		return api.KeyResponse{}, err
	}
	out := api.KeyResponse{Keys: kr.Keys, PrimaryKeys: kr.PrimaryKeys, Members: kr.NumNodes, Responses: kr.NumResp, Errors: kr.NumErr, Messages: kr.Messages}
	if err != nil {
		return out, fmt.Errorf("%s: %d of %d members failed: %w", r.Op, kr.NumErr, kr.NumNodes, err)
	}
	return out, nil
}

func (b backend) Reload(context.Context) error { return b.a.Reload() }

func (b backend) VM(ctx context.Context, r api.VMRequest) (api.VMResponse, error) {
	return b.a.vm(ctx, r)
}

func (b backend) Images(ctx context.Context) (api.ImagesResponse, error) { return b.a.images(ctx) }

// ClusterPreflight asks every member for its clock, its preflight report and
// what it sees probing the others' ports, and judges the cluster.
func (b backend) ClusterPreflight(ctx context.Context, r api.ClusterPreflightRequest) (*cluster.Report, error) {
	a := b.a
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	start := time.Now()
	members := a.cluster.Members()
	alive := a.aliveNames()

	sent := time.Now()
	clocks, clockAt, err := a.ask(queryClock, nil, 3*time.Second, alive)
	if err != nil {
		return nil, err
	}
	replies, _, err := a.ask(queryPreflight, nil, timeout, alive)
	if err != nil {
		return nil, err
	}

	byName := map[string]*cluster.Member{}
	var out []cluster.Member
	var targets []probeTarget
	for _, m := range members {
		if !m.Counts() {
			continue
		}
		cm := cluster.Member{Name: m.Name, Address: m.Addr.String(), Self: m.Name == a.Config().Node.Name}
		cm.OS = cluster.OS{Family: m.Tags.OSFamily}
		raw, ok := replies[m.Name]
		switch {
		case m.Status != rc.Alive:
			cm.Error = fmt.Sprintf("%s: gossip cannot reach it", m.Status)
		case !ok:
			cm.Error = fmt.Sprintf("no answer within %s", timeout)
		default:
			if err := readReply(raw, &cm); err != nil {
				cm.Error = fmt.Sprintf("unreadable answer: %v", err)
			} else {
				targets = append(targets, probeTarget{Name: m.Name, Addr: m.Addr.String(), TCP: tcpPorts(cm.Ports)})
			}
		}
		if c, ok := clocks[m.Name]; ok {
			if ns, err := strconv.ParseInt(string(c), 10, 64); err == nil {
				recv := clockAt[m.Name]
				mid := sent.Add(recv.Sub(sent) / 2)
				cm.ClockOffset, cm.ClockError = time.Unix(0, ns).Sub(mid), recv.Sub(sent)/2
			}
		}
		out = append(out, cm)
	}
	for i := range out {
		byName[out[i].Name] = &out[i]
	}

	payload, err := zjson(probeRequest{Targets: targets})
	if err != nil {
		return nil, err
	}
	probers := map[string]bool{}
	for _, t := range targets {
		probers[t.Name] = true
	}
	probes, _, err := a.ask(queryProbe, payload, 10*time.Second, probers)
	if err != nil {
		return nil, err
	}
	for name, raw := range probes {
		if m := byName[name]; m != nil {
			if err := unzjson(raw, &m.Probes); err != nil {
				a.log.Warn("unreadable probe answer", "from", name, "err", err)
			}
		}
	}
	lim := cluster.DefaultLimits()
	lim.MaxHosts = a.Config().Cluster.MaxHosts
	a.mu.Lock()
	prof := a.prof.Name
	a.mu.Unlock()
	rep := cluster.NewReport(prof, out, lim)
	rep.StartedAt, rep.Duration = start, time.Since(start)
	return rep, ctx.Err()
}

func readReply(raw []byte, m *cluster.Member) error {
	var r memberReply
	if err := unzjson(raw, &r); err != nil {
		return err
	}
	rep, err := format.DecodeJSON(bytes.NewReader(r.Report))
	if err != nil {
		return err
	}
	m.OS, m.Versions, m.Ports, m.Report = r.OS, r.Versions, r.Ports, rep
	return nil
}

func (b backend) Host(ctx context.Context, r api.HostRequest) (api.HostResponse, error) {
	return b.a.maintenance(ctx, r)
}

func (b backend) HA(ctx context.Context) (api.HAStatus, error) { return b.a.haStatus(ctx) }
