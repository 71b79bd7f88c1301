package cluster

import "github.com/vmnode/vmnode/preflight/format"

// htmlTemplate is the page HTML renders. Its look follows the single-host
// report in preflight/format/html.go: the same palette, summary and badges
// (format's shared stylesheet pieces).
const htmlTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="vmnode cluster preflight">
<title>{{.Verdict.Title}}: cluster of {{.Members}} · vmnode preflight ({{.Profile}})</title>
<style>
` + format.StyleBase + `main { max-width: 1280px; margin: 0 auto; padding: 24px; }
h1, h2, h3 { margin: 0; line-height: 1.25; }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 8px; }
section { margin-top: 20px; }
h2 { font-size: 16px; margin-bottom: 10px; }
h2 .count, h3 .count { color: var(--muted); font-weight: 400; }
h3 { font-size: 14px; margin: 18px 0 8px; }
h3 .title { margin-left: 8px; }

/* header */
.head { padding: 20px 24px; display: grid; grid-template-columns: 1fr auto; gap: 4px 24px; }
.head .kicker { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .08em; font-weight: 600; }
.head h1 { font-size: 26px; }
` + format.StyleSummary + `
` + format.StyleBadges + `.host { display: inline-block; padding: 0 7px; border-radius: 4px; font-family: var(--mono); font-size: 12px; font-weight: 600; background: #eff2f5; border: 1px solid #e1e6eb; margin-right: 4px; }

/* text blocks */
.id { font-family: var(--mono); font-size: 12.5px; font-weight: 600; }
.title { color: var(--muted); font-size: 12.5px; font-weight: 400; }
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

/* the matrix */
.filters { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 10px; }
.filters input { position: absolute; opacity: 0; pointer-events: none; }
.filters label { cursor: pointer; border: 1px solid var(--border); border-radius: 999px; padding: 2px 12px; background: var(--card); font-size: 13px; color: var(--muted); }
.filters input:checked + label { background: var(--fg); border-color: var(--fg); color: #fff; }
.filters input:focus-visible + label { outline: 2px solid #0969da; outline-offset: 2px; }
.scroll { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; vertical-align: top; padding: 8px 12px; }
thead th { font-size: 12px; color: var(--muted); font-weight: 600; background: var(--bg); border-bottom: 1px solid var(--border); }
table.matrix { border-collapse: separate; border-spacing: 0; }
.matrix thead th.member { text-align: center; min-width: 84px; vertical-align: bottom; }
.matrix thead th.member .name { display: block; color: var(--fg); font-family: var(--mono); font-size: 12.5px; }
.matrix thead th.member .addr { display: block; font-weight: 400; font-family: var(--mono); font-size: 11px; }
.matrix th.check { position: sticky; left: 0; z-index: 1; background: var(--card); border-right: 1px solid var(--border); min-width: 260px; font-weight: 400; }
.matrix thead th.check { background: var(--bg); }
.matrix th.check .title { display: block; }
.matrix tbody tr > * { border-top: 1px solid #eaeef2; }
.matrix td.cell { text-align: center; vertical-align: middle; padding: 0; border-left: 2px solid var(--card); }
.matrix td.cell > a, .matrix td.cell > span { display: block; padding: 10px 6px; color: inherit; text-decoration: none;
  font-size: 11px; font-weight: 700; text-transform: uppercase; letter-spacing: .05em; }
.matrix td.cell > a:hover, .matrix td.cell > a:focus-visible { outline: 2px solid #0969da; outline-offset: -2px; }
.matrix td.pass { background: var(--pass-bg); color: var(--pass); }
.matrix td.warn { background: var(--warn-bg); color: var(--warn); }
.matrix td.fail { background: var(--fail); color: #fff; }
.matrix td.skip { background: var(--skip-bg); color: var(--skip); }
.matrix td.error { background: var(--error); color: #fff; }
.matrix td.unknown { background: var(--skip-bg); color: var(--fg); }
.matrix td.none { background: repeating-linear-gradient(135deg, #fff 0 6px, #f3f5f7 6px 12px); color: var(--muted); }
.matrix tbody.cluster th.area { background: var(--bg); border-top: 1px solid var(--border); font-size: 13px; position: sticky; left: 0; }
.matrix tbody.cluster td.result { border-left: 2px solid var(--card); }
.matrix tbody.cluster td.result .badge { margin-right: 8px; }
.matrix tbody.cluster td.result a { color: #0969da; font-size: 12px; margin-left: 6px; white-space: nowrap; }
.matrix tbody.cluster tr.fail td.result { background: #fff5f5; box-shadow: inset 4px 0 var(--fail); }
.matrix tbody.cluster tr.error td.result { background: #fcf7ff; box-shadow: inset 4px 0 var(--error); }
.matrix tbody.cluster tr.warn td.result { box-shadow: inset 4px 0 #d4a72c; }
.legend { color: var(--muted); font-size: 12px; padding: 8px 12px; border-top: 1px solid var(--border); }
body:has(#f-issues:checked) .matrix tr.clean { display: none; }

/* findings */
.issue { border: 1px solid var(--border); border-left-width: 5px; border-radius: 8px; background: var(--card); padding: 14px 18px; margin-bottom: 10px; break-inside: avoid; scroll-margin-top: 12px; }
.issue.fail { border-color: #ffcecb; border-left-color: var(--fail); background: #fffafa; }
.issue.error { border-color: #ecd8ff; border-left-color: var(--error); background: #fefbff; }
.issue.warn { border-left-color: #d4a72c; }
.issue:target { outline: 3px solid #0969da; outline-offset: 2px; }
.issue .top { display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; }
.issue .msg { margin-top: 6px; font-size: 14.5px; }
.issue.fail .msg, .issue.error .msg { font-weight: 600; }
.allgood { padding: 16px 20px; border-left: 5px solid var(--pass); color: var(--pass); font-weight: 600; }

/* members */
.members td { border-top: 1px solid #eaeef2; }
.members tr.error td { background: #fcf7ff; }
.members tr.error td:first-child { box-shadow: inset 4px 0 var(--error); }
.members tr.fail td:first-child { box-shadow: inset 4px 0 var(--fail); }
.members tr.warn td:first-child { box-shadow: inset 4px 0 #d4a72c; }
.members .unknown { color: var(--muted); }

footer { margin: 24px 0 8px; color: var(--muted); font-size: 12px; text-align: center; }

@media (max-width: 720px) {
  main { padding: 12px; }
  .head { grid-template-columns: 1fr; }
  .verdict { grid-row: auto; grid-column: 1; text-align: left; margin-top: 8px; }
  .matrix th.check { min-width: 180px; }
}
@media print {
  body { background: #fff; font-size: 12px; }
  main { max-width: none; padding: 0; }
  .filters { display: none; }
  .matrix tr.clean { display: revert !important; }
  .scroll { overflow: visible; }
  .issue, .matrix tr { break-inside: avoid; }
  .card { border-color: #bbb; }
  section { margin-top: 14px; }
}
</style>
</head>
<body>
<main>
<header class="card head">
  <div class="kicker">vmnode cluster preflight report</div>
  <h1>Cluster of {{.Members}} {{if eq .Members 1}}member{{else}}members{{end}}</h1>
  <div class="verdict {{.Verdict.Class}}"><span class="pill">{{.Verdict.Title}}</span><span class="detail">{{.Verdict.Detail}}</span></div>
  <dl class="meta">
    <div><dt>Profile</dt><dd>{{or .Profile "unknown"}}</dd></div>
    <div><dt>Answered</dt><dd>{{.Answered}} of {{.Members}}</dd></div>
    <div><dt>Collected by</dt><dd class="mono">{{or .Collector "unknown"}}</dd></div>
    <div><dt>Started</dt><dd>{{if .Started}}<time datetime="{{.StartedISO}}">{{.Started}}</time>{{else}}unknown{{end}}</dd></div>
    <div><dt>Duration</dt><dd>{{.Duration}}</dd></div>
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
    <li class="took">{{.Total}} results in {{.Duration}}</li>
  </ul>
</section>

<section aria-labelledby="matrix">
  <h2 id="matrix">Checks by host <span class="count">({{len .Rows}} checks × {{len .Columns}} hosts, {{len .Cluster}} cluster checks)</span></h2>
  <div class="filters" role="radiogroup" aria-label="Show">
    <input type="radio" name="show" id="f-all" checked><label for="f-all">All checks</label>
    <input type="radio" name="show" id="f-issues"><label for="f-issues">Only checks with findings</label>
  </div>
  <div class="card scroll">
  <table class="matrix">
    <thead><tr><th class="check">Check</th>
      {{- range .Columns}}
      <th class="member" scope="col" title="{{.Name}}{{if .Address}} ({{.Address}}){{end}}{{if .Self}}, collected the report{{end}}"><span class="name">{{.Short}}</span><span class="addr">{{or .Address "unknown"}}</span>{{if .Self}}<span class="tag">this host</span>{{end}}</th>
      {{- end}}
    </tr></thead>
    <tbody>
    {{- range .Rows}}
      <tr class="{{if .Clean}}clean{{else}}issues{{end}}"><th class="check" scope="row"><span class="id">{{.ID}}</span><span class="title">{{.Title}}</span></th>
        {{- range .Cells}}
        <td class="cell {{.Class}}">{{if .Anchor}}<a href="#{{.Anchor}}" title="{{.Tip}}">{{.Label}}</a>{{else}}<span title="{{.Tip}}">{{.Label}}</span>{{end}}</td>
        {{- end}}
      </tr>
    {{- end}}
    </tbody>
    <tbody class="cluster">
      <tr><th class="area" colspan="{{len .Columns | inc}}">Cluster checks</th></tr>
    {{- range .Cluster}}
      <tr class="{{.Class}} {{if .Clean}}clean{{else}}issues{{end}}"><th class="check" scope="row"><span class="id">{{.ID}}</span><span class="title">{{.Title}}</span></th>
        <td class="result" colspan="{{len $.Columns | atLeast1}}"><span class="badge {{.Class}}">{{.Badge}}</span><span class="msg">{{.Message}}</span>{{if .Anchor}}<a href="#{{.Anchor}}">details</a>{{end}}</td>
      </tr>
    {{- end}}
    </tbody>
  </table>
  {{- with .Legend}}
  <div class="legend">{{.}}</div>
  {{- end}}
  </div>
</section>

<section aria-labelledby="findings">
  <h2 id="findings">Findings <span class="count">({{.Blocking}} to fix, {{.Reviewing}} to review)</span></h2>
  {{- range .Groups}}
  <h3><span class="id">{{.ID}}</span><span class="title">{{.Title}}</span></h3>
  {{- range .Findings}}
  <article class="issue {{.Class}}" id="{{.Anchor}}">
    <div class="top"><span class="badge {{.Class}}">{{.Badge}}</span>{{range .Hosts}}<span class="host">{{.}}</span>{{else}}<span class="host">cluster</span>{{end}}{{if .Ignored}}<span class="tag">ignored</span>{{end}}</div>
    <div class="msg">{{.Message}}</div>
    {{- if .Ignored}}
    <div class="ignored">Ignored: {{.IgnoreNote}}</div>
    {{- else if .IgnoreNote}}
    <div class="ignored">{{.IgnoreNote}}</div>
    {{- end}}
    {{- if .Details}}
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
  </article>
  {{- end}}
  {{- else}}
  <div class="card allgood">Nothing to report: every check passed on every member.</div>
  {{- end}}
</section>

<section aria-labelledby="members">
  <h2 id="members">Members <span class="count">({{.Answered}} of {{.Members}} answered)</span></h2>
  <div class="card scroll">
  <table class="members">
    <thead><tr><th>Member</th><th>Address</th><th>OS</th>{{range .Components}}<th>{{.}}</th>{{end}}<th>Clock</th><th>Results</th></tr></thead>
    <tbody>
    {{- range .Hosts}}
      <tr class="{{.Class}}">
        <td><span class="id">{{.Name}}</span>{{if .Self}}<span class="tag">this host</span>{{end}}</td>
        <td class="mono">{{or .Address "unknown"}}</td>
        {{- if .Answered}}
        <td>{{.OS}}</td>
        {{- range .Versions}}
        <td class="mono{{if not .}} unknown{{end}}">{{or . "unknown"}}</td>
        {{- end}}
        <td class="mono">{{.Clock}}</td>
        <td>{{.Findings}}</td>
        {{- else}}
        <td colspan="{{len $.Components | add 3}}"><span class="badge error">error</span> did not answer: {{.Error}}</td>
        {{- end}}
      </tr>
    {{- end}}
    </tbody>
  </table>
  </div>
</section>

<footer>Generated by vmnode cluster preflight for profile {{or .Profile "unknown"}}{{if .Started}} on {{.Started}}{{end}}. Clocks are relative to the host that collected the report.</footer>
</main>
</body>
</html>
`
