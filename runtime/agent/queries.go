package agent

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/serf/serf"

	"github.com/vmnode/vmnode/preflight/cluster"
	"github.com/vmnode/vmnode/preflight/format"
	"github.com/vmnode/vmnode/profiles"
	rc "github.com/vmnode/vmnode/runtime/cluster"
)

// The queries members answer for a cluster-wide preflight.
const (
	queryClock     = "vmnode.clock"     // -> the member's wall clock, Unix nanoseconds
	queryPreflight = "vmnode.preflight" // -> memberReply, gzipped JSON
	queryProbe     = "vmnode.probe"     // probeRequest -> []cluster.Probe, gzipped JSON
)

// memberReply is one member's answer to queryPreflight.
type memberReply struct {
	Name     string            `json:"name"`
	Address  string            `json:"address"`
	OS       cluster.OS        `json:"os"`
	Versions map[string]string `json:"versions"`
	Ports    []cluster.Port    `json:"ports"`
	Report   json.RawMessage   `json:"report"` // preflight/format's JSON
}

// probeTarget is a member and the TCP ports to dial on it (a range's first
// and last). The request is gossiped, so it must stay small: Serf queries
// ride in UDP packets.
type probeTarget struct {
	Name string `json:"n"`
	Addr string `json:"a"`
	TCP  []int  `json:"t"`
}

type probeRequest struct {
	Targets []probeTarget `json:"targets"`
}

// answer responds to the cluster's queries; it runs on its own goroutine.
func (a *Agent) answer(q *serf.Query) {
	ctx, cancel := context.WithDeadline(context.Background(), q.Deadline())
	defer cancel()
	var out []byte
	var err error
	switch q.Name {
	case queryClock:
		out = []byte(strconv.FormatInt(time.Now().UnixNano(), 10))
	case queryPreflight:
		out, err = a.preflightReply(ctx)
	case queryVM:
		out, err = a.answerVM(ctx, q.Payload)
	case queryHA:
		if out, err = a.answerHA(q); errors.Is(err, errNoLibvirt) {
			return // no report without libvirt: this host is out of contact
		}
	case queryProbe:
		var req probeRequest
		if err = unzjson(q.Payload, &req); err == nil {
			out, err = zjson(probeAll(ctx, a.Config().Node.Name, req.Targets))
		}
	default:
		return
	}
	if err == nil {
		err = q.Respond(out)
	}
	if err != nil {
		a.log.Warn("cannot answer query", "query", q.Name, "err", err)
	}
}

func (a *Agent) preflightReply(ctx context.Context) ([]byte, error) {
	rep := a.localReport(ctx)
	var buf bytes.Buffer
	if err := format.JSON(&buf, rep, format.Options{}); err != nil {
		return nil, err
	}
	t := a.cluster.Tags()
	osID, osVersion, _ := strings.Cut(t.OS, " ")
	a.mu.Lock()
	prof := a.prof
	a.mu.Unlock()
	return zjson(memberReply{
		Name: a.Config().Node.Name, Address: a.advertise.Addr().String(),
		OS:       cluster.OS{Family: t.OSFamily, ID: osID, Version: osVersion},
		Versions: versions(t.Version, t.Libvirt, t.QEMU),
		Ports:    ports(prof, a.advertise.Port()),
		Report:   buf.Bytes(),
	})
}

func versions(vmnode, libvirt, qemu string) map[string]string {
	v := map[string]string{}
	for k, s := range map[string]string{"vmnode": vmnode, "libvirt": libvirt, "qemu": qemu} {
		if s != "" {
			v[k] = s
		}
	}
	return v
}

// ports are the inbound ports the profile requires, the gossip port marked.
func ports(p *profiles.Profile, gossip uint16) []cluster.Port {
	var out []cluster.Port
	for _, fp := range p.Firewall.Ports {
		out = append(out, cluster.Port{
			From: int(fp.Port.First), To: int(fp.Port.Last), Proto: fp.Proto, Service: fp.Purpose,
			Gossip: fp.Port.First == gossip && fp.Port.Last == gossip,
		})
	}
	return out
}

// probeAll dials every target's TCP ports (a range's first and last) from
// here, in parallel, one second each.
func probeAll(ctx context.Context, self string, targets []probeTarget) []cluster.Probe {
	var mu sync.Mutex
	var out []cluster.Probe
	var wg sync.WaitGroup
	for _, t := range targets {
		if t.Name == self {
			continue
		}
		for _, port := range t.TCP {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pr := probe(ctx, t.Name, t.Addr, port)
				mu.Lock()
				out = append(out, pr)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	return out
}

// tcpPorts are the ports to dial for a member's required TCP ports.
func tcpPorts(ps []cluster.Port) []int {
	var out []int
	for _, p := range ps {
		if p.Proto != "tcp" {
			continue
		}
		out = append(out, p.From)
		if p.To > p.From {
			out = append(out, p.To)
		}
	}
	return out
}

func probe(ctx context.Context, name, addr string, port int) cluster.Probe {
	p := cluster.Probe{To: name, Port: port, Proto: "tcp"}
	ap, err := netip.ParseAddr(addr)
	if err != nil {
		p.Result, p.Detail = cluster.ProbeError, err.Error()
		return p
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(ap, uint16(port)).String())
	switch {
	case err == nil:
		c.Close()
		p.Result = cluster.ProbeOpen
	case errors.Is(err, syscall.ECONNREFUSED):
		p.Result, p.Detail = cluster.ProbeRefused, "connection refused: the firewall lets it through, nothing listens"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH):
		p.Result, p.Detail = cluster.ProbeFiltered, err.Error()
	default:
		p.Result, p.Detail = cluster.ProbeError, err.Error()
	}
	return p
}

// aliveNames are the members alive in gossip, this one included.
func (a *Agent) aliveNames() map[string]bool {
	alive := map[string]bool{}
	for _, m := range a.cluster.Members() {
		if m.Status == rc.Alive {
			alive[m.Name] = true
		}
	}
	return alive
}

func zjson(v any) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func unzjson(b []byte, v any) error {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(zr, 4<<20))
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// ask sends a query and gathers the answers until every member in want
// answered (the same members, not as many: views differ for a moment after
// a partition heals) or the timeout passed.
func (a *Agent) ask(name string, payload []byte, timeout time.Duration, want map[string]bool) (map[string][]byte, map[string]time.Time, error) {
	resp, err := a.cluster.Serf().Query(name, payload, &serf.QueryParam{Timeout: timeout})
	if err != nil {
		return nil, nil, fmt.Errorf("query %s: %w", name, err)
	}
	defer resp.Close()
	got, at := map[string][]byte{}, map[string]time.Time{}
	left := len(want)
	for r := range resp.ResponseCh() {
		if _, dup := got[r.From]; !dup && want[r.From] {
			left--
		}
		got[r.From], at[r.From] = r.Payload, time.Now()
		if left <= 0 {
			break
		}
	}
	return got, at, nil
}
