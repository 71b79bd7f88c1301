package cluster

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/preflight"
)

func withResults(rs ...preflight.Result) func(*Member) {
	return func(m *Member) { m.Report.Results = rs }
}

func res(id string, st preflight.Status) preflight.Result {
	return preflight.Result{ID: id, Title: id, Status: st, Message: string(st)}
}

func TestReportExitCode(t *testing.T) {
	pass := res("cpu.arch", preflight.Pass)
	ignored := res("memory.total", preflight.Warn)
	ignored.Ignored = true
	cases := []struct {
		name    string
		members []Member
		cluster []preflight.Result
		want    int
	}{
		{"all pass", []Member{mem("a", withResults(pass)), mem("b", withResults(pass))}, []preflight.Result{res("cluster.size", preflight.Pass)}, preflight.ExitOK},
		{"warnings and skips", []Member{mem("a", withResults(res("x.y", preflight.Warn), res("x.z", preflight.Skip)))}, []preflight.Result{res("cluster.size", preflight.Warn)}, preflight.ExitOK},
		{"ignored failure", []Member{mem("a", withResults(ignored))}, nil, preflight.ExitOK},
		{"member failure", []Member{mem("a", withResults(pass)), mem("b", withResults(res("memory.total", preflight.Fail)))}, nil, preflight.ExitFailed},
		{"member error", []Member{mem("a", withResults(res("network.static-ip", preflight.Error)))}, nil, preflight.ExitFailed},
		{"silent member", []Member{mem("a", withResults(pass)), silent("b", "down")}, nil, preflight.ExitFailed},
		{"cluster failure", []Member{mem("a", withResults(pass))}, []preflight.Result{res("cluster.ports-reachable", preflight.Fail)}, preflight.ExitFailed},
		{"cluster error", []Member{mem("a", withResults(pass))}, []preflight.Result{res("cluster.members-answered", preflight.Error)}, preflight.ExitFailed},
		{"no members, no results", nil, nil, preflight.ExitOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{Members: tc.members, Cluster: tc.cluster}
			if got := r.ExitCode(); got != tc.want {
				t.Errorf("ExitCode() = %d, want %d", got, tc.want)
			}
			if r.Failed() != (tc.want == preflight.ExitFailed) {
				t.Errorf("Failed() = %v, want %v", r.Failed(), !r.Failed())
			}
			if v := r.verdict(); (v.Class == "fail") != r.Failed() {
				t.Errorf("verdict %+v disagrees with Failed() %v", v, r.Failed())
			}
		})
	}
}

func TestNewReport(t *testing.T) {
	in := []Member{mem("c"), silent("B", "down"), mem("a")}
	before := slices.Clone(in)
	r := NewReport("vmnode", in, DefaultLimits())
	var got []string
	for _, m := range r.Members {
		got = append(got, m.Name)
	}
	if !slices.Equal(got, []string{"a", "B", "c"}) {
		t.Errorf("members %v, want sorted by name", got)
	}
	if !reflect.DeepEqual(in, before) {
		t.Error("NewReport reordered its input")
	}
	if r.Profile != "vmnode" || len(r.Cluster) != len(IDs()) {
		t.Errorf("report %+v", r)
	}
	// A silent member: the cluster check fails, so does the report.
	if find(t, r.Cluster, IDMembersAnswered).Status != preflight.Fail || r.ExitCode() != preflight.ExitFailed {
		t.Errorf("a silent member does not fail the report: %+v", r.Cluster)
	}
	empty := NewReport("vmnode", nil, DefaultLimits())
	if empty.ExitCode() != preflight.ExitFailed {
		t.Error("a report with no members passes; the collector always reports itself")
	}
}

func TestSummary(t *testing.T) {
	r := sample()
	s := r.Summary()
	want := preflight.Summary{preflight.Pass: 14, preflight.Warn: 5, preflight.Fail: 4, preflight.Skip: 3, preflight.Error: 1}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Summary() = %v, want %v", s, want)
	}
	if r.Answered() != 3 || r.ignored() != 1 {
		t.Errorf("Answered() = %d, ignored() = %d; want 3, 1", r.Answered(), r.ignored())
	}
	total := 0
	for _, n := range s {
		total += n
	}
	cells := len(r.Cluster)
	for _, m := range r.Members {
		if m.Answered() {
			cells += len(m.Report.Results)
		}
	}
	if total != cells {
		t.Errorf("summary counts %d results, the report has %d", total, cells)
	}
}

func TestShortNames(t *testing.T) {
	cases := []struct {
		in, want []string
	}{
		{[]string{"node-1.lab.example.com", "node-2.lab.example.com"}, []string{"node-1", "node-2"}},
		{[]string{"node-1.a.example.com", "node-1.b.example.com", "node-2.a.example.com"}, []string{"node-1.a.example.com", "node-1.b.example.com", "node-2"}},
		{[]string{"Node-1.a", "node-1.b"}, []string{"Node-1.a", "node-1.b"}},
		{[]string{"10.0.0.1", "10.0.0.2", "fe80::1"}, []string{"10.0.0.1", "10.0.0.2", "fe80::1"}},
		{[]string{"kvm", ".hidden", ""}, []string{"kvm", ".hidden", "(unnamed)"}},
		{nil, []string{}},
	}
	for _, tc := range cases {
		var ms []Member
		for _, n := range tc.in {
			ms = append(ms, Member{Name: n})
		}
		if got := shortNames(ms); !slices.Equal(got, tc.want) {
			t.Errorf("shortNames(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMatrix(t *testing.T) {
	r := &Report{Members: []Member{
		mem("a", withResults(res("cpu.arch", preflight.Pass), res("memory.total", preflight.Fail))),
		mem("b", withResults(res("memory.total", preflight.Pass), res("disk.root", preflight.Warn))),
		silent("c", "down"),
	}, Cluster: []preflight.Result{res("cluster.size", preflight.Pass)}}
	mx := newMatrix(r)
	var ids []string
	for _, rw := range mx.Rows {
		ids = append(ids, rw.ID)
	}
	if want := []string{"cpu.arch", "memory.total", "disk.root"}; !slices.Equal(ids, want) {
		t.Fatalf("rows %v, want the union in order of first appearance %v", ids, want)
	}
	got := func(row, col int) preflight.Status { return mx.Rows[row].Cells[col].status() }
	checks := []struct {
		row, col int
		want     preflight.Status
	}{
		{0, 0, preflight.Pass}, {0, 1, ""}, {0, 2, preflight.Error},
		{1, 0, preflight.Fail}, {1, 1, preflight.Pass}, {1, 2, preflight.Error},
		{2, 0, ""}, {2, 1, preflight.Warn}, {2, 2, preflight.Error},
	}
	for _, c := range checks {
		if s := got(c.row, c.col); s != c.want {
			t.Errorf("cell %s × %s = %q, want %q", mx.Rows[c.row].ID, mx.Columns[c.col].Name, s, c.want)
		}
	}
	if l := mx.legend(); l != "- the member did not run the check; error: c did not answer" {
		t.Errorf("legend %q", l)
	}

	// Findings: grouped by check, identical results merged, silent members
	// and passes left out, cluster results last.
	r.Members[1].Report.Results[1] = res("disk.root", preflight.Warn)
	r.Members[0].Report.Results = append(r.Members[0].Report.Results, res("disk.root", preflight.Warn))
	r.Cluster = append(r.Cluster, res("cluster.time-skew", preflight.Warn))
	var fs []string
	for _, g := range newMatrix(r).findings() {
		for _, f := range g.Findings {
			var hosts []string
			for _, h := range f.Hosts {
				hosts = append(hosts, h.Short)
			}
			fs = append(fs, g.ID+":"+string(f.Result.Status)+":"+joinOr(hosts))
		}
	}
	want := []string{"memory.total:fail:a", "disk.root:warn:a,b", "cluster.time-skew:warn:cluster"}
	if !slices.Equal(fs, want) {
		t.Errorf("findings %v, want %v", fs, want)
	}
}

func joinOr(hosts []string) string {
	if len(hosts) == 0 {
		return "cluster"
	}
	return strings.Join(hosts, ",")
}
