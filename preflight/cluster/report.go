package cluster

import (
	"time"

	"github.com/vmnode/vmnode/preflight"
)

// Report is a cluster-wide preflight run. Like preflight.Report it owns the
// exit code; the renderers only render it.
type Report struct {
	Profile   string
	StartedAt time.Time
	Duration  time.Duration
	Members   []Member           // sorted by name
	Cluster   []preflight.Result // the cluster.* checks
}

// NewReport sorts a copy of members by name and runs the cluster checks over
// them. The caller sets StartedAt and Duration, and may apply an ignore list
// to Cluster.
func NewReport(profile string, members []Member, lim Limits) *Report {
	ms := sortedMembers(members)
	return &Report{Profile: profile, Members: ms, Cluster: Check(ms, lim)}
}

// Failed reports whether the cluster is not ready: a member did not answer,
// a member's result failed or errored without being ignored, or a cluster
// check did.
func (r *Report) Failed() bool {
	for _, m := range r.Members {
		if !m.Answered() || m.Report.Failed() {
			return true
		}
	}
	for _, res := range r.Cluster {
		if res.Failed() {
			return true
		}
	}
	return false
}

// ExitCode is the process exit code for the report, with the meaning of
// preflight.Report's: preflight.ExitFailed when Failed, else preflight.ExitOK.
func (r *Report) ExitCode() int {
	if r.Failed() {
		return preflight.ExitFailed
	}
	return preflight.ExitOK
}

// Summary counts every answering member's results and the cluster results
// by status. Members that did not answer are counted by Answered, not here.
func (r *Report) Summary() preflight.Summary {
	s := preflight.Summary{}
	for _, st := range preflight.Statuses {
		s[st] = 0
	}
	for _, m := range r.Members {
		if m.Answered() {
			for _, res := range m.Report.Results {
				s[res.Status]++
			}
		}
	}
	for _, res := range r.Cluster {
		s[res.Status]++
	}
	return s
}

// Answered counts the members that answered.
func (r *Report) Answered() int {
	n := 0
	for _, m := range r.Members {
		if m.Answered() {
			n++
		}
	}
	return n
}

// ignored counts results turned into warnings by an ignore list.
func (r *Report) ignored() int {
	n := 0
	count := func(rs []preflight.Result) {
		for _, res := range rs {
			if res.Ignored {
				n++
			}
		}
	}
	for _, m := range r.Members {
		if m.Answered() {
			count(m.Report.Results)
		}
	}
	count(r.Cluster)
	return n
}

// verdict is the report's outcome for people.
type verdict struct {
	Class  string // pass, warn or fail
	Title  string // "Ready", "Ready, with warnings", "Not ready"
	Detail string // "exit 1: …"
}

func (r *Report) verdict() verdict {
	failing := 0
	for _, m := range r.Members {
		if m.Answered() {
			failing += countFailed(m.Report.Results)
		}
	}
	failing += countFailed(r.Cluster)
	warns := r.Summary()[preflight.Warn]
	switch {
	case failing > 0:
		return verdict{"fail", "Not ready", plural(failing, "finding", "findings") + " must be fixed"}
	case r.Failed(): // only a member that did not answer, its check ignored
		return verdict{"fail", "Not ready", plural(len(r.Members)-r.Answered(), "member", "members") + " did not answer"}
	case warns > 0:
		return verdict{"warn", "Ready, with warnings", plural(warns, "warning", "warnings") + " to review"}
	}
	return verdict{"pass", "Ready", "every member meets the profile and the cluster checks pass"}
}

func countFailed(rs []preflight.Result) int {
	n := 0
	for _, res := range rs {
		if res.Failed() {
			n++
		}
	}
	return n
}
