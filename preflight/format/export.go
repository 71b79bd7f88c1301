package format

import (
	"html/template"
	"time"

	"github.com/vmnode/vmnode/preflight"
)

// Helpers for renderers of reports built from preflight results (the
// cluster-wide preflight in preflight/cluster), so that a result looks the
// same in every report.

// Printable makes s safe for a terminal, and for HTML and XML: control
// characters other than newline and tab are shown quoted.
func Printable(s string) string { return printable(s) }

// PrintableResult applies Printable to every text field of res.
func PrintableResult(res preflight.Result) preflight.Result { return printableResult(res) }

// HumanDuration rounds d for people: 143ms, 1.25s, 412µs.
func HumanDuration(d time.Duration) string { return humanDuration(d) }

// FixCommand is the command that applies a provisioning step ("vmnode
// provision --only hosts" for "hosts").
func FixCommand(step string) string { return fixCommand(step) }

// Millis is d in milliseconds, rounded to the microsecond, as the JSON
// format writes durations.
func Millis(d time.Duration) float64 { return millis(d) }

// DetailText is what a person needs to act on a warning, failure or error,
// as plain text: status and message, then observed, expected, remediation
// and fix, one per line. The JUnit format uses it as a failure's body.
func DetailText(res preflight.Result) string { return junitBody(res) }

// RichText escapes s for HTML and shows commands in monospace, as the HTML
// format shows a remediation.
func RichText(s string) template.HTML { return richText(s) }

// ZoneName is t's zone for people: "UTC", "CET", or "+03:00".
func ZoneName(t time.Time) string { return zoneName(t) }
