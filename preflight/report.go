package preflight

import "time"

// Report is one preflight run. It owns the exit code; formatters only render it.
type Report struct {
	Profile   string
	Hostname  string
	Address   string
	Root      string // "/" when live
	Offline   bool
	StartedAt time.Time
	Duration  time.Duration
	Results   []Result // in check order
	Notes     []string // run-level remarks, e.g. an expired waiver
}

// Summary counts results by status.
type Summary map[Status]int

// Summary counts the results by status.
func (r *Report) Summary() Summary {
	s := Summary{}
	for _, st := range Statuses {
		s[st] = 0
	}
	for _, res := range r.Results {
		s[res.Status]++
	}
	return s
}

// Failed reports whether any result failed or errored without being ignored.
func (r *Report) Failed() bool {
	for _, res := range r.Results {
		if res.Failed() {
			return true
		}
	}
	return false
}

// Exit codes of `vmnode preflight`.
const (
	ExitOK     = 0 // nothing failed; warnings allowed
	ExitFailed = 1 // a check failed or errored and was not ignored
	ExitUsage  = 2 // usage, config or profile error
)

// ExitCode is the process exit code for the report.
func (r *Report) ExitCode() int {
	if r.Failed() {
		return ExitFailed
	}
	return ExitOK
}
