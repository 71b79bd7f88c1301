package cluster

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/format"
)

// HTML renders the report as one self-contained page in the style of the
// single-host HTML report: no external assets and no script. Its main
// element is the hosts × checks matrix, coloured by status; a cell's tooltip
// holds the result's message and a non-pass cell links to its finding below,
// where observed, expected and remediation are. The members table follows.
// Everything from the report is escaped.
func HTML(w io.Writer, r *Report, _ format.Options) error {
	var buf bytes.Buffer
	if err := htmlPage.Execute(&buf, newHTMLView(r)); err != nil {
		return fmt.Errorf("render cluster html report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

type htmlView struct {
	Profile    string
	Verdict    verdict
	Collector  string
	Started    string
	StartedISO string
	Duration   string
	Members    int
	Answered   int
	ExitCode   int
	Counts     []htmlCount
	Total      int
	Ignored    int
	Columns    []htmlColumn
	Rows       []htmlRow
	Cluster    []htmlRow
	Legend     string
	Blocking   int
	Reviewing  int
	Groups     []htmlGroup
	Components []string
	Hosts      []htmlHost
}

type htmlCount struct {
	Class, Label string
	N            int
}

type htmlColumn struct {
	Short, Name, Address string
	Self, Answered       bool
}

type htmlRow struct {
	ID, Title string
	Cells     []htmlCell
	Clean     bool // nothing to look at: every answering member passed, skipped or did not run it
	Message   string
	Class     string // the cluster result's
	Badge     string
	Anchor    string
}

type htmlCell struct {
	Class, Label, Tip, Anchor string
}

type htmlGroup struct {
	ID, Title string
	Findings  []htmlFinding
}

type htmlFinding struct {
	preflight.Result
	Class, Badge, Anchor, FixCommand string
	Hosts                            []string
	Remediation                      template.HTML
	Details                          bool
}

type htmlHost struct {
	Name, Short, Address, OS, Clock, Error string
	Self, Answered                         bool
	Versions                               []string
	Findings                               string // "1 failed · 2 warnings"
	Class                                  string // the worst status
}

var htmlBadges = map[preflight.Status]struct{ label, one, many string }{
	preflight.Pass:  {"pass", "passed", "passed"},
	preflight.Warn:  {"warn", "warning", "warnings"},
	preflight.Fail:  {"fail", "failed", "failed"},
	preflight.Skip:  {"skip", "skipped", "skipped"},
	preflight.Error: {"error", "error", "errors"},
}

func countLabel(st preflight.Status, n int) string {
	if n == 1 {
		return htmlBadges[st].one
	}
	return htmlBadges[st].many
}

// classOf is the CSS class and badge text of a status.
func classOf(st preflight.Status) (class, badge string) {
	if b, ok := htmlBadges[st]; ok {
		return string(st), b.label
	}
	return "unknown", format.Printable(string(st))
}

func newHTMLView(r *Report) htmlView {
	s := r.Summary()
	mx := newMatrix(r)
	p := format.Printable
	v := htmlView{
		Profile:   p(r.Profile),
		Verdict:   r.verdict(),
		Collector: collector(r),
		Duration:  format.HumanDuration(r.Duration),
		Members:   len(r.Members),
		Answered:  r.Answered(),
		ExitCode:  r.ExitCode(),
		Ignored:   r.ignored(),
		Legend:    p(mx.legend()),
	}
	if !r.StartedAt.IsZero() {
		v.Started = r.StartedAt.Format("2006-01-02 15:04:05 ") + format.ZoneName(r.StartedAt)
		v.StartedISO = r.StartedAt.Format(time.RFC3339)
	}
	for _, st := range preflight.Statuses {
		v.Counts = append(v.Counts, htmlCount{Class: string(st), Label: countLabel(st, s[st]), N: s[st]})
		v.Total += s[st]
	}

	// Findings first: the matrix cells link to them.
	anchors := map[string]string{} // check ID + "\x00" + column short name
	for gi, g := range mx.findings() {
		hg := htmlGroup{ID: p(g.ID), Title: p(g.Title)}
		for fi, f := range g.Findings {
			res := format.PrintableResult(f.Result)
			hf := htmlFinding{
				Result:      res,
				Anchor:      fmt.Sprintf("f-%d-%d", gi+1, fi+1),
				Remediation: format.RichText(res.Remediation),
				Details:     hasDetails(res.Status),
			}
			hf.Class, hf.Badge = classOf(res.Status)
			if res.Fix != "" {
				hf.FixCommand = format.FixCommand(res.Fix)
			}
			for _, h := range f.Hosts {
				hf.Hosts = append(hf.Hosts, p(h.Short))
				anchors[g.ID+"\x00"+h.Short] = hf.Anchor
			}
			if g.Cluster {
				anchors[g.ID+"\x00"] = hf.Anchor
			}
			if res.Failed() {
				v.Blocking++
			} else if res.Status == preflight.Warn {
				v.Reviewing++
			}
			hg.Findings = append(hg.Findings, hf)
		}
		v.Groups = append(v.Groups, hg)
	}

	for _, c := range mx.Columns {
		v.Columns = append(v.Columns, htmlColumn{Short: p(c.Short), Name: p(c.Name), Address: p(c.Address), Self: c.Self, Answered: c.Answered()})
	}
	for _, rw := range mx.Rows {
		hr := htmlRow{ID: p(rw.ID), Title: p(rw.Title), Clean: true}
		for i, c := range rw.Cells {
			col := mx.Columns[i]
			var hc htmlCell
			switch {
			case c.Silent:
				hc = htmlCell{Class: "error", Label: "no answer", Tip: col.Short + " did not answer: " + orDash(col.Error)}
			case c.Absent:
				hc = htmlCell{Class: "none", Label: "–", Tip: col.Short + " did not run " + rw.ID}
			default:
				hc.Class, hc.Label = classOf(c.Result.Status)
				hc.Tip = col.Short + ": " + c.Result.Message
				if c.Result.Ignored {
					hc.Tip += "\n(ignored: " + c.Result.IgnoreNote + ")"
				}
				if c.Result.Status != preflight.Pass {
					hc.Anchor = anchors[rw.ID+"\x00"+col.Short]
				}
			}
			// A silent member is the members-answered row's finding, not every row's.
			if !c.Silent && hc.Class != "pass" && hc.Class != "skip" && hc.Class != "none" {
				hr.Clean = false
			}
			hc.Tip = p(hc.Tip)
			hr.Cells = append(hr.Cells, hc)
		}
		v.Rows = append(v.Rows, hr)
	}
	for _, res := range r.Cluster {
		res = format.PrintableResult(res)
		hr := htmlRow{ID: res.ID, Title: res.Title, Message: res.Message, Clean: res.Status == preflight.Pass || res.Status == preflight.Skip}
		hr.Class, hr.Badge = classOf(res.Status)
		if res.Status != preflight.Pass {
			hr.Anchor = anchors[res.ID+"\x00"]
		}
		v.Cluster = append(v.Cluster, hr)
	}

	v.Components = components(r.Members)
	for i, c := range mx.Columns {
		v.Hosts = append(v.Hosts, newHTMLHost(c, v.Components, mx, i))
	}
	return v
}

func newHTMLHost(c column, comps []string, mx matrix, i int) htmlHost {
	p := format.Printable
	m := c.Member
	h := htmlHost{Name: p(m.Name), Short: p(c.Short), Address: p(m.Address), Self: m.Self, Answered: m.Answered(), Class: "pass"}
	if !m.Answered() {
		h.Error, h.Class = p(orDash(m.Error)), "error"
		return h
	}
	h.OS = p(m.OS.String())
	h.Clock = clockText(m)
	for _, comp := range comps {
		h.Versions = append(h.Versions, p(m.Versions[comp]))
	}
	per := map[preflight.Status]int{}
	for _, rw := range mx.Rows {
		if c := rw.Cells[i]; !c.Absent {
			per[c.Result.Status]++
		}
	}
	var parts []string
	for _, st := range []preflight.Status{preflight.Fail, preflight.Error, preflight.Warn} {
		if per[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", per[st], countLabel(st, per[st])))
			if h.Class == "pass" {
				h.Class = string(st)
			}
		}
	}
	if len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("all %d checks passed or skipped", per[preflight.Pass]+per[preflight.Skip]))
	}
	h.Findings = strings.Join(parts, " · ")
	return h
}

var htmlPage = template.Must(template.New("cluster").Funcs(template.FuncMap{
	"inc":      func(n int) int { return n + 1 },
	"atLeast1": func(n int) int { return max(n, 1) },
	"add":      func(a, b int) int { return a + b },
}).Parse(htmlTemplate))
