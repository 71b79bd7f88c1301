package cluster

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/format"
)

// ANSI SGR sequences, as in the single-host text format.
const (
	ansiReset   = "\x1b[0m"
	ansiBold    = "\x1b[1m"
	ansiRed     = "\x1b[31m"
	ansiGreen   = "\x1b[32m"
	ansiYellow  = "\x1b[33m"
	ansiMagenta = "\x1b[35m"
	ansiGrey    = "\x1b[90m"
)

var textTags = map[preflight.Status]struct{ tag, color string }{
	preflight.Pass:  {"[PASS]", ansiGreen},
	preflight.Warn:  {"[WARN]", ansiYellow},
	preflight.Fail:  {"[FAIL]", ansiRed},
	preflight.Skip:  {"[SKIP]", ansiGrey},
	preflight.Error: {"[ERR ]", ansiMagenta},
}

const tagWidth = len("[PASS]")

// Text renders the report for a terminal: the members with their OS,
// versions and clock, the hosts × checks matrix with the cluster checks
// under it, the details of every finding grouped by check, a summary line
// and what the exit code means. Colour only when opt.Color.
func Text(w io.Writer, r *Report, opt format.Options) error {
	t := textWriter{color: opt.Color}
	mx := newMatrix(r)
	t.header(r)
	t.members(r, mx)
	t.matrix(mx)
	t.findings(mx)
	t.summary(r)
	_, err := w.Write(t.buf.Bytes())
	return err
}

type textWriter struct {
	buf   bytes.Buffer
	color bool
}

func (t *textWriter) paint(code, s string) string {
	if !t.color || s == "" {
		return s
	}
	return code + s + ansiReset
}

func (t *textWriter) line(s string) {
	t.buf.WriteString(strings.TrimRight(s, " "))
	t.buf.WriteString("\n")
}

// tag is the coloured status tag, "  -   " for a check that did not run.
func (t *textWriter) tag(st preflight.Status) string {
	if st == "" {
		return pad("  -", tagWidth)
	}
	tag, ok := textTags[st]
	if !ok {
		tag.tag = fmt.Sprintf("[%-4.4s]", strings.ToUpper(format.Printable(string(st))))
	}
	return t.paint(tag.color, tag.tag)
}

// pad pads s with spaces to width runes.
func pad(s string, width int) string {
	if n := utf8.RuneCountInString(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}

func (t *textWriter) header(r *Report) {
	t.line(t.paint(ansiBold, "vmnode cluster preflight"))
	t.line("  profile  " + orDash(format.Printable(r.Profile)))
	t.line(fmt.Sprintf("  members  %d, %d answered", len(r.Members), r.Answered()))
}

// members is a table of the members: name, address, OS, versions, clock.
func (t *textWriter) members(r *Report, mx matrix) {
	if len(r.Members) == 0 {
		t.line("")
		t.line("no members reported")
		return
	}
	comps := components(r.Members)
	head := append([]string{"member", "address", "os"}, comps...)
	head = append(head, "clock")
	rows := [][]string{head}
	for _, c := range mx.Columns {
		m := c.Member
		name := format.Printable(m.Name)
		if m.Self {
			name += "*"
		}
		cells := []string{name, orDash(format.Printable(m.Address))}
		if !m.Answered() {
			why := orDash(format.Printable(m.Error))
			rows = append(rows, append(cells, "did not answer: "+why))
			continue
		}
		cells = append(cells, format.Printable(m.OS.String()))
		for _, comp := range comps {
			cells = append(cells, orDash(format.Printable(m.Versions[comp])))
		}
		rows = append(rows, append(cells, clockText(m)))
	}
	t.line("")
	t.table(rows)
	for _, m := range r.Members {
		if m.Self {
			t.line(t.paint(ansiGrey, "  * collected the report; clocks are relative to it"))
			break
		}
	}
}

// clockText is the member's clock against the collector's.
func clockText(m Member) string {
	if m.Self {
		return "reference"
	}
	return signed(m.ClockOffset) + " ±" + format.HumanDuration(m.ClockError.Abs())
}

// table writes rows in aligned columns, the first one (the header) bold; the
// last cell of a row shorter than the header takes the rest of the line.
func (t *textWriter) table(rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		if len(r) < len(widths) {
			continue // a spanning row does not set the widths
		}
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for n, r := range rows {
		var b strings.Builder
		b.WriteString("  ")
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
				break
			}
			b.WriteString(pad(c, widths[i]) + "  ")
		}
		s := b.String()
		if n == 0 {
			s = "  " + t.paint(ansiBold, strings.TrimRight(s[2:], " "))
		}
		t.line(s)
	}
}

// matrix writes the hosts × checks table, then the cluster checks.
func (t *textWriter) matrix(mx matrix) {
	idWidth := len("check")
	for _, rw := range mx.Rows {
		idWidth = max(idWidth, utf8.RuneCountInString(format.Printable(rw.ID)))
	}
	for _, res := range mx.Cluster {
		idWidth = max(idWidth, utf8.RuneCountInString(format.Printable(res.ID)))
	}
	widths := make([]int, len(mx.Columns))
	var head strings.Builder
	head.WriteString(pad("check", idWidth))
	for i, c := range mx.Columns {
		widths[i] = max(tagWidth, utf8.RuneCountInString(format.Printable(c.Short)))
		head.WriteString("  " + pad(format.Printable(c.Short), widths[i]))
	}
	t.line("")
	if len(mx.Rows) > 0 {
		t.line("  " + t.paint(ansiBold, strings.TrimRight(head.String(), " ")))
	}
	for _, rw := range mx.Rows {
		var b strings.Builder
		b.WriteString("  " + pad(format.Printable(rw.ID), idWidth))
		for i, c := range rw.Cells {
			b.WriteString("  " + t.tag(c.status()) + strings.Repeat(" ", widths[i]-tagWidth))
		}
		t.line(b.String())
	}
	if legend := mx.legend(); legend != "" {
		t.line("  " + t.paint(ansiGrey, format.Printable(legend)))
	}
	if len(mx.Rows) > 0 {
		t.line("")
	}
	for _, res := range mx.Cluster {
		msg := indentLines(format.Printable(res.Message), strings.Repeat(" ", 2+idWidth+2+tagWidth+2))
		t.line(fmt.Sprintf("  %s  %s  %s", pad(format.Printable(res.ID), idWidth), t.tag(res.Status), msg))
	}
}

// The details under a finding start under its message.
const (
	detailIndent = "         " // 2 + len("[PASS] ")
	labelWidth   = len("remediation: ")
)

// findings writes every non-pass result grouped by check.
func (t *textWriter) findings(mx matrix) {
	groups := mx.findings()
	if len(groups) == 0 {
		return
	}
	t.line("")
	t.line(t.paint(ansiBold, "findings"))
	for _, g := range groups {
		t.line("")
		title := format.Printable(g.ID)
		if g.Title != "" {
			title += "  " + t.paint(ansiGrey, format.Printable(g.Title))
		}
		t.line("  " + title)
		for _, f := range g.Findings {
			t.finding(f)
		}
	}
}

func (t *textWriter) finding(f finding) {
	res := f.Result
	msg := format.Printable(res.Message)
	if len(f.Hosts) > 0 {
		var hosts []string
		for _, h := range f.Hosts {
			hosts = append(hosts, format.Printable(h.Short))
		}
		msg = strings.Join(hosts, ", ") + ": " + msg
	}
	t.line(fmt.Sprintf("  %s %s", t.tag(res.Status), indentLines(msg, detailIndent)))
	switch {
	case res.Ignored:
		t.line(detailIndent + t.paint(ansiGrey, "(ignored: "+format.Printable(res.IgnoreNote)+")"))
	case res.IgnoreNote != "":
		t.line(detailIndent + t.paint(ansiGrey, "("+format.Printable(res.IgnoreNote)+")"))
	}
	if !hasDetails(res.Status) {
		return
	}
	t.detail("observed:", res.Observed)
	t.detail("expected:", res.Expected)
	t.detail("remediation:", res.Remediation)
	if res.Fix != "" {
		t.detail("fix:", format.FixCommand(res.Fix))
	}
}

func (t *textWriter) detail(label, value string) {
	if strings.TrimSpace(value) == "" {
		return
	}
	value = indentLines(format.Printable(strings.TrimRight(value, "\n")), strings.Repeat(" ", len(detailIndent)+labelWidth))
	t.line(fmt.Sprintf("%s%-*s%s", detailIndent, labelWidth, label, value))
}

func (t *textWriter) summary(r *Report) {
	s := r.Summary()
	part := func(n int, one, many, color string) string {
		word := many
		if n == 1 {
			word = one
		}
		text := fmt.Sprintf("%d %s", n, word)
		if n == 0 {
			return text
		}
		return t.paint(color, text)
	}
	warn := part(s[preflight.Warn], "warning", "warnings", ansiYellow)
	if n := r.ignored(); n > 0 {
		warn += fmt.Sprintf(" (%d ignored)", n)
	}
	answered := fmt.Sprintf("%d of %d members answered", r.Answered(), len(r.Members))
	if r.Answered() < len(r.Members) {
		answered = t.paint(ansiRed, answered)
	}
	t.line("")
	t.line(fmt.Sprintf("%s; %s, %s, %s, %s, %s in %s",
		answered,
		part(s[preflight.Pass], "passed", "passed", ansiGreen),
		warn,
		part(s[preflight.Fail], "failed", "failed", ansiRed),
		part(s[preflight.Skip], "skipped", "skipped", ansiGrey),
		part(s[preflight.Error], "error", "errors", ansiMagenta),
		format.HumanDuration(r.Duration)))
	v := r.verdict()
	color := map[string]string{"pass": ansiGreen, "warn": ansiYellow, "fail": ansiRed}[v.Class]
	t.line(t.paint(color, fmt.Sprintf("exit %d: %s: %s", r.ExitCode(), strings.ToLower(v.Title), v.Detail)))
}

// indentLines indents every non-empty line of s after the first by pad.
func indentLines(s, pad string) string {
	lines := strings.Split(s, "\n")
	for i := 1; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "" {
			lines[i] = pad + lines[i]
		}
	}
	return strings.Join(lines, "\n")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// signed is d with an explicit sign: +12ms, -1.5s, 0s.
func signed(d time.Duration) string {
	if d > 0 {
		return "+" + format.HumanDuration(d)
	}
	if d < 0 {
		return "-" + format.HumanDuration(-d)
	}
	return "0s"
}
