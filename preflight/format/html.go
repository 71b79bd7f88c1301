package format

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/vmnode/vmnode/preflight"
)

// HTML renders the report as one self-contained page for a ticket or an
// e-mail: no external assets and no script (the status filter is pure CSS).
// It opens with the verdict and what needs attention, failures first, then
// lists every check grouped by area. Everything from the report is escaped.
// Remediation text may mark commands with `backticks`, or put them on lines
// starting with "$ " or "# "; they are shown in monospace.
func HTML(w io.Writer, r *preflight.Report, _ Options) error {
	var buf bytes.Buffer
	if err := htmlPage.Execute(&buf, newHTMLView(r)); err != nil {
		return fmt.Errorf("render html report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

type htmlView struct {
	Report        *preflight.Report
	Host          string
	Verdict       string
	VerdictClass  string
	VerdictDetail string
	Started       string
	StartedISO    string
	Duration      string
	Root          string
	Counts        []htmlCount
	Total         int
	Ignored       int
	Blocking      []htmlResult // failed or errored, not ignored
	Warnings      []htmlResult
	Groups        []htmlGroup
	ExitCode      int
}

type htmlCount struct {
	Class, Label string
	N            int
}

type htmlGroup struct {
	Area    string
	Summary string
	Results []htmlResult
}

type htmlResult struct {
	preflight.Result
	Class       string
	Badge       string
	Remediation template.HTML
	FixCommand  string
	Took        string
}

var htmlBadges = map[preflight.Status]struct{ label, one, many string }{
	preflight.Pass:  {"pass", "passed", "passed"},
	preflight.Warn:  {"warn", "warning", "warnings"},
	preflight.Fail:  {"fail", "failed", "failed"},
	preflight.Skip:  {"skip", "skipped", "skipped"},
	preflight.Error: {"error", "error", "errors"},
}

// htmlAreas are the display names of the known areas.
var htmlAreas = map[string]string{
	"cpu": "CPU", "memory": "Memory", "disk": "Disk", "os": "Operating system",
	"packages": "Packages", "selinux": "SELinux", "time": "Time", "network": "Network",
	"firewall": "Firewall", "hardware": "Hardware", "shell": "Shell",
}

func countLabel(st preflight.Status, n int) string {
	if n == 1 {
		return htmlBadges[st].one
	}
	return htmlBadges[st].many
}

func newHTMLView(r *preflight.Report) htmlView {
	s := r.Summary()
	r = printableReport(r)
	v := htmlView{
		Report:   r,
		Host:     r.Hostname,
		Duration: humanDuration(r.Duration),
		Total:    len(r.Results),
		Ignored:  ignoredCount(r),
		ExitCode: r.ExitCode(),
	}
	if v.Host == "" {
		v.Host = "unknown host"
	}
	if r.Root != "" && r.Root != "/" {
		v.Root = r.Root
	}
	if !r.StartedAt.IsZero() {
		v.Started = r.StartedAt.Format("2006-01-02 15:04:05 ") + zoneName(r.StartedAt)
		v.StartedISO = r.StartedAt.Format(time.RFC3339)
	}

	failing := 0
	for _, res := range r.Results {
		if res.Failed() {
			failing++
		}
	}
	switch {
	case failing > 0:
		v.Verdict, v.VerdictClass = "Not ready", "fail"
		v.VerdictDetail = plural(failing, "check", "checks") + " must be fixed"
	case s[preflight.Warn] > 0:
		v.Verdict, v.VerdictClass = "Ready, with warnings", "warn"
		v.VerdictDetail = plural(s[preflight.Warn], "warning", "warnings") + " to review"
	default:
		v.Verdict, v.VerdictClass = "Ready", "pass"
		v.VerdictDetail = "meets the profile"
	}

	for _, st := range preflight.Statuses {
		v.Counts = append(v.Counts, htmlCount{Class: string(st), Label: countLabel(st, s[st]), N: s[st]})
	}

	// Needs attention: failures and errors (they block), then warnings,
	// ignored ones last.
	for _, res := range r.Results {
		if res.Failed() {
			v.Blocking = append(v.Blocking, newHTMLResult(res))
		}
	}
	for _, ignored := range []bool{false, true} {
		for _, res := range r.Results {
			if res.Status == preflight.Warn && res.Ignored == ignored {
				v.Warnings = append(v.Warnings, newHTMLResult(res))
			}
		}
	}

	for _, g := range groupByArea(r.Results) {
		hg := htmlGroup{Area: g.Area}
		if name, ok := htmlAreas[g.Area]; ok {
			hg.Area = name
		}
		per := map[preflight.Status]int{}
		for _, res := range g.Results {
			hg.Results = append(hg.Results, newHTMLResult(res))
			per[res.Status]++
		}
		parts := []string{plural(len(g.Results), "check", "checks")}
		for _, st := range []preflight.Status{preflight.Fail, preflight.Error, preflight.Warn, preflight.Skip} {
			if per[st] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", per[st], countLabel(st, per[st])))
			}
		}
		hg.Summary = strings.Join(parts, " · ")
		v.Groups = append(v.Groups, hg)
	}
	return v
}

func newHTMLResult(res preflight.Result) htmlResult {
	h := htmlResult{
		Result:      res,
		Class:       string(res.Status),
		Badge:       string(res.Status),
		Remediation: richText(res.Remediation),
		Took:        humanDuration(res.Duration),
	}
	if b, ok := htmlBadges[res.Status]; ok {
		h.Badge = b.label
	} else {
		h.Class = "unknown"
	}
	if res.Fix != "" {
		h.FixCommand = fixCommand(res.Fix)
	}
	return h
}

// richText escapes s and shows commands in monospace: `backticked` spans,
// and whole lines that start with "$ " or "# ".
func richText(s string) template.HTML {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			b.WriteString("\n")
		}
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "$ ") || strings.HasPrefix(t, "# ") {
			b.WriteString(`<code class="cmd">` + template.HTMLEscapeString(t) + `</code>`)
			continue
		}
		parts := strings.Split(line, "`")
		if len(parts)%2 == 0 { // an unpaired backtick: show the line as written
			b.WriteString(template.HTMLEscapeString(line))
			continue
		}
		for j, p := range parts {
			if j%2 == 1 && p != "" {
				b.WriteString("<code>" + template.HTMLEscapeString(p) + "</code>")
			} else {
				b.WriteString(template.HTMLEscapeString(p))
			}
		}
	}
	return template.HTML(b.String()) //nolint:gosec // every piece of s is escaped above
}

func zoneName(t time.Time) string {
	if name, off := t.Zone(); off == 0 {
		return "UTC"
	} else if name != "" && !strings.ContainsAny(name[:1], "+-") {
		return name
	}
	return t.Format("-07:00")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

var htmlPage = template.Must(template.New("report").Parse(htmlTemplate))

const htmlTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="vmnode preflight">
<title>{{.Verdict}}: {{.Host}} · vmnode preflight ({{.Report.Profile}})</title>
<style>
` + StyleBase + `main { max-width: 1120px; margin: 0 auto; padding: 24px; }
h1, h2, h3 { margin: 0; line-height: 1.25; }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 8px; }
section { margin-top: 20px; }
h2 { font-size: 16px; margin-bottom: 10px; }
h2 .count, h3 .count { color: var(--muted); font-weight: 400; }
h3.sub { font-size: 14px; margin: 18px 0 8px; }

/* header */
.head { padding: 20px 24px; display: grid; grid-template-columns: 1fr auto; gap: 4px 24px; }
.head .kicker { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .08em; font-weight: 600; }
.head h1 { font-size: 26px; word-break: break-all; }
` + StyleSummary + `
/* notes */
.notes { padding: 12px 20px; border-left: 4px solid #d4a72c; background: var(--warn-bg); }
.notes ul { margin: 0; padding: 0; list-style: none; }

` + StyleBadges + `
/* details shared by cards and table */
.id { font-family: var(--mono); font-size: 12.5px; font-weight: 600; }
.title { color: var(--muted); font-size: 12.5px; }
.msg { white-space: pre-wrap; overflow-wrap: anywhere; }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 8px 0 0; font-size: 13px; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; font-family: var(--mono); font-size: 12.5px; white-space: pre-wrap; overflow-wrap: anywhere; }
.remedy { margin-top: 8px; white-space: pre-wrap; overflow-wrap: anywhere; }
.remedy code, .fix code { background: #eff2f5; border: 1px solid #e1e6eb; border-radius: 4px; padding: 1px 5px; }
.remedy code.cmd { display: inline-block; margin: 2px 0; }
.fix { margin-top: 8px; }
.label { color: var(--muted); font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; margin-right: 6px; }
.ignored { margin-top: 6px; color: var(--muted); font-style: italic; }

/* needs attention */
.issue { border: 1px solid var(--border); border-left-width: 5px; border-radius: 8px; background: var(--card); padding: 14px 18px; margin-bottom: 10px; break-inside: avoid; }
.issue.fail { border-color: #ffcecb; border-left-color: var(--fail); background: #fffafa; }
.issue.error { border-color: #ecd8ff; border-left-color: var(--error); background: #fefbff; }
.issue.warn { border-left-color: #d4a72c; }
.issue .top { display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; }
.issue .msg { margin-top: 6px; font-size: 14.5px; }
.issue.fail .msg, .issue.error .msg { font-weight: 600; }
.allgood { padding: 16px 20px; border-left: 5px solid var(--pass); color: var(--pass); font-weight: 600; }

/* all checks */
.filters { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 10px; }
.filters input { position: absolute; opacity: 0; pointer-events: none; }
.filters label { cursor: pointer; border: 1px solid var(--border); border-radius: 999px; padding: 2px 12px; background: var(--card); font-size: 13px; color: var(--muted); }
.filters input:checked + label { background: var(--fg); border-color: var(--fg); color: #fff; }
.filters input:focus-visible + label { outline: 2px solid #0969da; outline-offset: 2px; }
table { width: 100%; border-collapse: collapse; }
.checks { overflow: hidden; }
th, td { text-align: left; vertical-align: top; padding: 9px 14px; }
thead th { font-size: 12px; color: var(--muted); font-weight: 600; background: var(--bg); border-bottom: 1px solid var(--border); }
tbody.area th { background: #f6f8fa; border-top: 1px solid var(--border); border-bottom: 1px solid var(--border); font-size: 13px; }
tbody.area th .sub { color: var(--muted); font-weight: 400; margin-left: 8px; }
tr.check td { border-top: 1px solid #eaeef2; }
tr.check:first-child td { border-top: 0; }
tr.check.fail td { background: #fff5f5; }
tr.check.error td { background: #fcf7ff; }
tr.check.fail td:first-child { box-shadow: inset 4px 0 var(--fail); }
tr.check.error td:first-child { box-shadow: inset 4px 0 var(--error); }
tr.check.warn td:first-child { box-shadow: inset 4px 0 #d4a72c; }
td.st { width: 80px; } td.name { width: 30%; } td.took { width: 70px; text-align: right; color: var(--muted); font-size: 12px; white-space: nowrap; }
td .title { display: block; }
tr.check .kv, tr.check .remedy, tr.check .fix { font-size: 13px; }
body:has(#f-fail:checked) tr.check:not(.fail), body:has(#f-fail:checked) tbody.area:not(:has(tr.fail)),
body:has(#f-error:checked) tr.check:not(.error), body:has(#f-error:checked) tbody.area:not(:has(tr.error)),
body:has(#f-warn:checked) tr.check:not(.warn), body:has(#f-warn:checked) tbody.area:not(:has(tr.warn)),
body:has(#f-skip:checked) tr.check:not(.skip), body:has(#f-skip:checked) tbody.area:not(:has(tr.skip)),
body:has(#f-pass:checked) tr.check:not(.pass), body:has(#f-pass:checked) tbody.area:not(:has(tr.pass)) { display: none; }

footer { margin: 24px 0 8px; color: var(--muted); font-size: 12px; text-align: center; }

@media (max-width: 720px) {
  main { padding: 12px; }
  .head { grid-template-columns: 1fr; }
  .verdict { grid-row: auto; grid-column: 1; text-align: left; margin-top: 8px; }
  td.name { width: auto; }
}
@media print {
  body { background: #fff; font-size: 12px; }
  main { max-width: none; padding: 0; }
  .filters { display: none; }
  tbody.area, tr.check { display: revert !important; }
  tr.check, .issue { break-inside: avoid; }
  .card { border-color: #bbb; }
  section { margin-top: 14px; }
}
</style>
</head>
<body>
<main>
<header class="card head">
  <div class="kicker">vmnode preflight report</div>
  <h1>{{.Host}}</h1>
  <div class="verdict {{.VerdictClass}}"><span class="pill">{{.Verdict}}</span><span class="detail">{{.VerdictDetail}}</span></div>
  <dl class="meta">
    <div><dt>Address</dt><dd class="mono">{{or .Report.Address "unknown"}}</dd></div>
    <div><dt>Profile</dt><dd>{{or .Report.Profile "unknown"}}</dd></div>
    <div><dt>Started</dt><dd>{{if .Started}}<time datetime="{{.StartedISO}}">{{.Started}}</time>{{else}}unknown{{end}}</dd></div>
    <div><dt>Duration</dt><dd>{{.Duration}}</dd></div>
    {{- if .Root}}
    <div><dt>Root</dt><dd class="mono">{{.Root}}</dd></div>
    {{- end}}
    <div><dt>Mode</dt><dd>{{if .Report.Offline}}offline{{else}}online{{end}}{{if .Root}}, captured tree{{else}}, live host{{end}}</dd></div>
    <div><dt>Exit code</dt><dd>{{.ExitCode}}</dd></div>
  </dl>
</header>

<section class="card summary" aria-label="Summary">
  <div class="bar" role="img" aria-label="{{range $i, $c := .Counts}}{{if $i}}, {{end}}{{$c.N}} {{$c.Label}}{{end}}">
    {{- range .Counts}}{{if .N}}<span class="{{.Class}}" style="flex-grow: {{.N}}" title="{{.N}} {{.Label}}"></span>{{end}}{{end -}}
  </div>
  <ul class="counts">
    {{- range .Counts}}
    <li class="{{.Class}}{{if .N}} some{{end}}"><span class="dot"></span><b>{{.N}}</b> {{.Label}}{{if and (eq .Class "warn") $.Ignored}} ({{$.Ignored}} ignored){{end}}</li>
    {{- end}}
    <li class="took">{{.Total}} checks in {{.Duration}}</li>
  </ul>
</section>
{{- with .Report.Notes}}

<section class="notes card" aria-label="Notes">
  <ul>
    {{- range .}}
    <li><b>Note:</b> {{.}}</li>
    {{- end}}
  </ul>
</section>
{{- end}}

<section aria-labelledby="attention">
  <h2 id="attention">Needs attention <span class="count">({{len .Blocking}} to fix, {{len .Warnings}} to review)</span></h2>
  {{- range .Blocking}}
  {{- template "issue" .}}
  {{- else}}
  <div class="card allgood">Nothing blocks this host: no check failed or errored{{if .Warnings}}; review the warnings below{{end}}.</div>
  {{- end}}
  {{- with .Warnings}}
  <h3 class="sub">Warnings <span class="count">({{len .}})</span></h3>
  {{- range .}}
  {{- template "issue" .}}
  {{- end}}
  {{- end}}
</section>

<section aria-labelledby="all">
  <h2 id="all">All checks <span class="count">({{.Total}})</span></h2>
  <div class="filters" role="radiogroup" aria-label="Show">
    <input type="radio" name="show" id="f-all" checked><label for="f-all">All {{.Total}}</label>
    {{- range .Counts}}{{if .N}}
    <input type="radio" name="show" id="f-{{.Class}}"><label for="f-{{.Class}}">{{.N}} {{.Label}}</label>
    {{- end}}{{end}}
  </div>
  <div class="card checks">
  <table>
    <thead><tr><th>Status</th><th>Check</th><th>Result</th><th style="text-align:right">Time</th></tr></thead>
    {{- range .Groups}}
    <tbody class="area">
      <tr><th colspan="4">{{.Area}}<span class="sub">{{.Summary}}</span></th></tr>
      {{- range .Results}}
      <tr class="check {{.Class}}">
        <td class="st"><span class="badge {{.Class}}">{{.Badge}}</span></td>
        <td class="name"><span class="id">{{.ID}}</span>{{if .Ignored}}<span class="tag">ignored</span>{{end}}<span class="title">{{.Title}}</span></td>
        <td><div class="msg">{{.Message}}</div>
          {{- if or (eq .Class "warn") (eq .Class "fail") (eq .Class "error")}}{{template "details" .}}{{else if .IgnoreNote}}
          <div class="ignored">{{.IgnoreNote}}</div>{{end}}</td>
        <td class="took">{{.Took}}</td>
      </tr>
      {{- end}}
    </tbody>
    {{- end}}
  </table>
  </div>
</section>

<footer>Generated by vmnode preflight for profile {{or .Report.Profile "unknown"}}{{if .Started}} on {{.Started}}{{end}}. Machine-readable form: <code>vmnode preflight -o json</code>.</footer>
</main>
</body>
</html>
{{- define "issue"}}
  <article class="issue {{.Class}}">
    <div class="top"><span class="badge {{.Class}}">{{.Badge}}</span><span class="id">{{.ID}}</span><span class="title">{{.Title}}</span>{{if .Ignored}}<span class="tag">ignored</span>{{end}}</div>
    <div class="msg">{{.Message}}</div>
    {{- template "details" .}}
  </article>
{{- end}}
{{- define "details"}}
    {{- if .Ignored}}
    <div class="ignored">Ignored: {{.IgnoreNote}}</div>
    {{- else if .IgnoreNote}}
    <div class="ignored">{{.IgnoreNote}}</div>
    {{- end}}
    {{- if or .Observed .Expected}}
    <dl class="kv">
      {{- if .Observed}}<dt>Observed</dt><dd>{{.Observed}}</dd>{{end}}
      {{- if .Expected}}<dt>Expected</dt><dd>{{.Expected}}</dd>{{end}}
    </dl>
    {{- end}}
    {{- if .Remediation}}
    <div class="remedy"><span class="label">How to fix</span>{{.Remediation}}</div>
    {{- end}}
    {{- if .FixCommand}}
    <div class="fix"><span class="label">Or run</span><code>{{.FixCommand}}</code></div>
    {{- end}}
{{- end}}
`
