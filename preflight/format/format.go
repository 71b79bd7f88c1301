// Package format renders a preflight.Report for people and pipelines: text
// for a terminal, json for automation and for exchanging reports between
// nodes, junit for CI systems, html for attaching to a ticket.
//
// Every renderer is a pure function of the report and Options. The report
// owns the exit code; a renderer never decides it.
package format

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/vmnode/vmnode/preflight"
)

// Options tune rendering. The CLI decides them; renderers never look at the
// environment or the terminal themselves.
type Options struct {
	// Color enables ANSI colour in the text format. The CLI sets it when
	// stdout is a terminal and NO_COLOR is unset. Other formats ignore it.
	Color bool
}

// Renderer writes one report in one format.
type Renderer func(w io.Writer, r *preflight.Report, opt Options) error

// registry lists the formats in the order the CLI presents them.
var registry = []struct {
	name string
	fn   Renderer
}{
	{"text", Text},
	{"json", JSON},
	{"junit", JUnit},
	{"html", HTML},
}

// Formats returns the names Write accepts, in presentation order.
func Formats() []string {
	names := make([]string, len(registry))
	for i, f := range registry {
		names[i] = f.name
	}
	return names
}

// Write renders r to w in the named format. An unknown name is an error that
// lists the valid ones.
func Write(w io.Writer, name string, r *preflight.Report, opt Options) error {
	for _, f := range registry {
		if f.name == name {
			if r == nil {
				return fmt.Errorf("render %s: no report", name)
			}
			return f.fn(w, r, opt)
		}
	}
	return fmt.Errorf("unknown output format %q (valid: %s)", name, strings.Join(Formats(), ", "))
}

// areaOrder is the order areas appear in grouped output; areas not listed
// follow in order of first appearance.
var areaOrder = []string{"cpu", "memory", "disk", "os", "packages", "selinux", "time", "network", "firewall", "hardware", "shell"}

// area is the part of a check ID before the first dot: "cpu" for
// "cpu.virtualization".
func area(id string) string {
	a, _, _ := strings.Cut(id, ".")
	if a == "" {
		return "other"
	}
	return a
}

// group is the results of one area, in check order.
type group struct {
	Area    string
	Results []preflight.Result
}

// groupByArea groups results by area: known areas in areaOrder, then the
// others in order of first appearance. Results keep their order in a group.
func groupByArea(results []preflight.Result) []group {
	byArea := map[string][]preflight.Result{}
	var extra []string
	for _, res := range results {
		a := area(res.ID)
		if _, seen := byArea[a]; !seen && !known(a) {
			extra = append(extra, a)
		}
		byArea[a] = append(byArea[a], res)
	}
	var out []group
	for _, a := range append(append([]string{}, areaOrder...), extra...) {
		if rs := byArea[a]; len(rs) > 0 {
			out = append(out, group{Area: a, Results: rs})
		}
	}
	return out
}

func known(a string) bool {
	for _, k := range areaOrder {
		if k == a {
			return true
		}
	}
	return false
}

// ignoredCount counts results turned into warnings by the ignore list.
func ignoredCount(r *preflight.Report) int {
	n := 0
	for _, res := range r.Results {
		if res.Ignored {
			n++
		}
	}
	return n
}

// fixCommand is the command that applies a result's provisioning step.
func fixCommand(step string) string { return "vmnode provision --only " + step }

// humanDuration rounds d for people: 143ms, 1.25s, 412µs.
func humanDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(10 * time.Millisecond).String()
	}
}

// printable makes s safe for a terminal: control characters other than
// newline and tab (an escape sequence read from a garbage file, a carriage
// return, a bidi override) are shown quoted instead of being interpreted.
func printable(s string) string {
	if strings.IndexFunc(s, isUnsafeControl) < 0 {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		if isUnsafeControl(c) {
			q := fmt.Sprintf("%+q", string(c))
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func isUnsafeControl(c rune) bool {
	if c == '\n' || c == '\t' {
		return false
	}
	return unicode.IsControl(c) || unicode.Is(unicode.Bidi_Control, c) || c == '\u2028' || c == '\u2029'
}

// printableResult applies printable to every text field of res.
func printableResult(res preflight.Result) preflight.Result {
	for _, f := range []*string{&res.ID, &res.Title, &res.Message, &res.Remediation, &res.Observed, &res.Expected, &res.IgnoreNote, &res.Fix} {
		*f = printable(*f)
	}
	return res
}

// printableReport is a copy of r with printable applied to every text field.
// HTML and XML cannot show a raw escape character (XML 1.0 cannot even hold
// one), so they show it quoted, like the text format.
func printableReport(r *preflight.Report) *preflight.Report {
	c := *r
	for _, f := range []*string{&c.Profile, &c.Hostname, &c.Address, &c.Root} {
		*f = printable(*f)
	}
	c.Results = make([]preflight.Result, len(r.Results))
	for i, res := range r.Results {
		c.Results[i] = printableResult(res)
	}
	c.Notes = make([]string, len(r.Notes))
	for i, n := range r.Notes {
		c.Notes[i] = printable(n)
	}
	return &c
}
