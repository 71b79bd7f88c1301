package format

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/vmnode/vmnode/preflight"
)

// ANSI SGR sequences for the text format.
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

// Text renders the report for a terminal: a header, the checks grouped by
// area in aligned columns with details under every warning, failure and
// error, then a summary line and the run's notes. Colour only when
// opt.Color.
func Text(w io.Writer, r *preflight.Report, opt Options) error {
	t := textWriter{color: opt.Color}
	t.header(r)

	idWidth := 0
	for _, res := range r.Results {
		idWidth = max(idWidth, len(printable(res.ID)))
	}
	for _, g := range groupByArea(r.Results) {
		t.buf.WriteString("\n")
		t.line(t.paint(ansiBold, printable(g.Area)))
		for _, res := range g.Results {
			t.result(res, idWidth)
		}
	}
	if len(r.Results) == 0 {
		t.buf.WriteString("\n")
		t.line("no checks ran")
	}

	t.buf.WriteString("\n")
	t.summary(r)
	for _, n := range r.Notes {
		t.line(t.paint(ansiYellow, "note:") + " " + printable(n))
	}
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
	t.buf.WriteString(s)
	t.buf.WriteString("\n")
}

func (t *textWriter) header(r *preflight.Report) {
	t.line(t.paint(ansiBold, "vmnode preflight"))
	field := func(k, v string) { t.line(fmt.Sprintf("  %-8s %s", k, printable(v))) }
	field("profile", orDash(r.Profile))
	field("host", orDash(r.Hostname))
	field("address", orDash(r.Address))
	if r.Root != "" && r.Root != "/" {
		field("root", r.Root)
	}
	if r.Offline {
		field("mode", "offline (no packets sent off the host)")
	}
}

// The details under a result start under its ID; tag and space are 7 wide.
const (
	detailIndent = "         " // 2 + len("[PASS] ")
	labelWidth   = len("remediation: ")
)

func (t *textWriter) result(res preflight.Result, idWidth int) {
	tag, ok := textTags[res.Status]
	if !ok {
		tag.tag = fmt.Sprintf("[%-4.4s]", strings.ToUpper(string(res.Status)))
	}
	id := printable(res.ID)
	msgIndent := strings.Repeat(" ", 2+len(tag.tag)+1+idWidth+2)
	msg := indentLines(printable(res.Message), msgIndent)
	if msg == "" {
		msg = printable(res.Title)
	}
	t.line(strings.TrimRight(fmt.Sprintf("  %s %-*s  %s", t.paint(tag.color, tag.tag), idWidth, id, msg), " "))

	switch {
	case res.Ignored:
		t.line(detailIndent + t.paint(ansiGrey, "(ignored: "+printable(res.IgnoreNote)+")"))
	case res.IgnoreNote != "":
		t.line(detailIndent + t.paint(ansiGrey, "("+printable(res.IgnoreNote)+")"))
	}
	if res.Status != preflight.Warn && res.Status != preflight.Fail && res.Status != preflight.Error {
		return
	}
	t.detail("observed:", res.Observed)
	t.detail("expected:", res.Expected)
	t.detail("remediation:", res.Remediation)
	if res.Fix != "" {
		t.detail("fix:", fixCommand(res.Fix))
	}
}

func (t *textWriter) detail(label, value string) {
	if strings.TrimSpace(value) == "" {
		return
	}
	pad := strings.Repeat(" ", len(detailIndent)+labelWidth)
	value = indentLines(printable(strings.TrimRight(value, "\n")), pad)
	t.line(fmt.Sprintf("%s%-*s%s", detailIndent, labelWidth, label, value))
}

func (t *textWriter) summary(r *preflight.Report) {
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
	if n := ignoredCount(r); n > 0 {
		warn += fmt.Sprintf(" (%d ignored)", n)
	}
	t.line(fmt.Sprintf("%s, %s, %s, %s, %s in %s",
		part(s[preflight.Pass], "passed", "passed", ansiGreen),
		warn,
		part(s[preflight.Fail], "failed", "failed", ansiRed),
		part(s[preflight.Skip], "skipped", "skipped", ansiGrey),
		part(s[preflight.Error], "error", "errors", ansiMagenta),
		humanDuration(r.Duration)))
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
