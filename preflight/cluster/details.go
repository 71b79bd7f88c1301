package cluster

import (
	"slices"

	"github.com/vmnode/vmnode/preflight"
)

// finding is a non-pass result and the members that reported it; the
// members of one finding reported the same status, message, details and
// ignore note. Hosts is empty for a cluster result.
type finding struct {
	Result preflight.Result
	Hosts  []column
}

// findingGroup is the findings of one check.
type findingGroup struct {
	ID, Title string
	Cluster   bool
	Findings  []finding
}

// sameFinding reports whether a and b read the same to a person.
func sameFinding(a, b preflight.Result) bool {
	return a.Status == b.Status && a.Message == b.Message && a.Observed == b.Observed &&
		a.Expected == b.Expected && a.Remediation == b.Remediation && a.Fix == b.Fix &&
		a.Ignored == b.Ignored && a.IgnoreNote == b.IgnoreNote
}

// findings groups the matrix's non-pass results by check, member checks in
// row order then the cluster checks. Members that did not answer are left
// out: the members list says why.
func (mx matrix) findings() []findingGroup {
	var out []findingGroup
	for _, rw := range mx.Rows {
		g := findingGroup{ID: rw.ID, Title: rw.Title}
		for i, c := range rw.Cells {
			if c.Silent || c.Absent || c.Result.Status == preflight.Pass {
				continue
			}
			j := slices.IndexFunc(g.Findings, func(f finding) bool { return sameFinding(f.Result, c.Result) })
			if j < 0 {
				g.Findings = append(g.Findings, finding{Result: c.Result})
				j = len(g.Findings) - 1
			}
			g.Findings[j].Hosts = append(g.Findings[j].Hosts, mx.Columns[i])
		}
		if len(g.Findings) > 0 {
			out = append(out, g)
		}
	}
	for _, res := range mx.Cluster {
		if res.Status != preflight.Pass {
			out = append(out, findingGroup{ID: res.ID, Title: res.Title, Cluster: true, Findings: []finding{{Result: res}}})
		}
	}
	return out
}

// hasDetails reports whether a result's observed, expected and remediation
// are shown: for warnings, failures and errors, as the single-host formats do.
func hasDetails(st preflight.Status) bool {
	return st == preflight.Warn || st == preflight.Fail || st == preflight.Error
}
