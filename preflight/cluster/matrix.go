package cluster

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/vmnode/vmnode/preflight"
)

// matrix is the hosts × checks view every renderer shows: one column per
// member, one row per check any member ran (in order of first appearance),
// then the cluster-wide results.
type matrix struct {
	Columns []column
	Rows    []row
	Cluster []preflight.Result
}

type column struct {
	Member
	Short string // the column heading: the hostname up to its first dot
}

type row struct {
	ID, Title string
	Cells     []cell // one per column
}

// cell is one member's result for one check.
type cell struct {
	Result preflight.Result
	Silent bool // the member did not answer: shown as an error
	Absent bool // the member answered but did not run the check
}

// status is what the cell shows; empty when the check did not run there.
func (c cell) status() preflight.Status {
	switch {
	case c.Silent:
		return preflight.Error
	case c.Absent:
		return ""
	}
	return c.Result.Status
}

func newMatrix(r *Report) matrix {
	mx := matrix{Cluster: r.Cluster}
	short := shortNames(r.Members)
	var ids []string
	titles := map[string]string{}
	for i, m := range r.Members {
		mx.Columns = append(mx.Columns, column{Member: m, Short: short[i]})
		if !m.Answered() {
			continue
		}
		for _, res := range m.Report.Results {
			if _, ok := titles[res.ID]; !ok {
				ids = append(ids, res.ID)
				titles[res.ID] = res.Title
			} else if titles[res.ID] == "" {
				titles[res.ID] = res.Title
			}
		}
	}
	for _, id := range ids {
		rw := row{ID: id, Title: titles[id]}
		for _, m := range r.Members {
			c := cell{Silent: !m.Answered()}
			if m.Answered() {
				i := slices.IndexFunc(m.Report.Results, func(res preflight.Result) bool { return res.ID == id })
				if i < 0 {
					c.Absent = true
				} else {
					c.Result = m.Report.Results[i]
				}
			}
			rw.Cells = append(rw.Cells, c)
		}
		mx.Rows = append(mx.Rows, rw)
	}
	return mx
}

// shortNames are the column headings: each name up to its first dot
// ("node-1" for "node-1.lab.example.com"), the whole name when it is an IP
// address or when the short forms of two names collide.
func shortNames(ms []Member) []string {
	out := make([]string, len(ms))
	count := map[string]int{}
	for i, m := range ms {
		out[i] = m.Name
		if _, err := netip.ParseAddr(m.Name); err != nil {
			if s, _, _ := strings.Cut(m.Name, "."); s != "" {
				out[i] = s
			}
		}
		count[strings.ToLower(out[i])]++
	}
	for i, m := range ms {
		if count[strings.ToLower(out[i])] > 1 {
			out[i] = m.Name
		}
		if out[i] == "" {
			out[i] = "(unnamed)"
		}
	}
	return out
}

// legend explains the cells that are not a result: "-" for a check a member
// did not run, error for every check of a member that did not answer.
func (mx matrix) legend() string {
	absent := false
	var silent []string
	for _, rw := range mx.Rows {
		for _, c := range rw.Cells {
			absent = absent || c.Absent
		}
	}
	for _, c := range mx.Columns {
		if !c.Answered() {
			silent = append(silent, c.Short)
		}
	}
	var parts []string
	if absent {
		parts = append(parts, "- the member did not run the check")
	}
	if len(silent) > 0 && len(mx.Rows) > 0 {
		parts = append(parts, "error: "+list(silent)+" did not answer")
	}
	return strings.Join(parts, "; ")
}
