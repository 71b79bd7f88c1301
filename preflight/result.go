package preflight

import (
	"fmt"
	"time"
)

// Status is a check's verdict.
type Status string

// The statuses. Error means the check could not be evaluated; Fail means the
// host does not meet the requirement.
const (
	Pass  Status = "pass"
	Warn  Status = "warn"
	Fail  Status = "fail"
	Skip  Status = "skip"
	Error Status = "error"
)

// Statuses in report order.
var Statuses = []Status{Pass, Warn, Fail, Skip, Error}

// Result is what one check found.
type Result struct {
	ID          string
	Title       string
	Status      Status
	Message     string
	Remediation string
	Observed    string
	Expected    string
	Ignored     bool
	IgnoreNote  string // why it was ignored, or that a waiver expired
	Fix         string // provisioning step that fixes it, e.g. "hosts"
	Duration    time.Duration
}

// Passf, Warnf, Failf, Skipf and Errorf build a Result with a message; the
// runner fills in ID, title and duration.
func Passf(format string, a ...any) Result { return newResult(Pass, format, a) }

// Warnf builds a warning.
func Warnf(format string, a ...any) Result { return newResult(Warn, format, a) }

// Failf builds a failure.
func Failf(format string, a ...any) Result { return newResult(Fail, format, a) }

// Skipf builds a skip; the message says why the check did not run.
func Skipf(format string, a ...any) Result { return newResult(Skip, format, a) }

// Errorf builds an error: the check could not be evaluated.
func Errorf(format string, a ...any) Result { return newResult(Error, format, a) }

func newResult(s Status, format string, a []any) Result {
	return Result{Status: s, Message: fmt.Sprintf(format, a...)}
}

// Saw records the observed and expected values.
func (r Result) Saw(observed, expected string) Result {
	r.Observed, r.Expected = observed, expected
	return r
}

// Remedy sets the remediation a person follows to fix the finding.
func (r Result) Remedy(format string, a ...any) Result {
	r.Remediation = fmt.Sprintf(format, a...)
	return r
}

// FixedBy names the `vmnode provision` step that fixes the finding.
func (r Result) FixedBy(step string) Result {
	r.Fix = step
	return r
}

// Failed reports whether the result makes preflight exit non-zero.
func (r Result) Failed() bool { return !r.Ignored && (r.Status == Fail || r.Status == Error) }
