package cluster

import (
	"fmt"
	"time"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/format"
)

// skew is the clock difference between two members: b's clock minus a's,
// and the uncertainty of that difference.
type skew struct {
	a, b       member
	diff, err  time.Duration
	lowerBound time.Duration // |diff| - err, at least 0: the skew there surely is
}

// worstSkew is the pair of members whose clocks surely differ most, or
// the pair with the largest measured skew when the errors cover every skew.
func worstSkew(ms []member) skew {
	var worst skew
	found := false
	for i, a := range ms {
		for _, b := range ms[i+1:] {
			s := skew{a: a, b: b, diff: b.ClockOffset - a.ClockOffset, err: a.ClockError.Abs() + b.ClockError.Abs()}
			s.lowerBound = max(0, s.diff.Abs()-s.err)
			if !found || s.lowerBound > worst.lowerBound || s.lowerBound == worst.lowerBound && s.diff.Abs() > worst.diff.Abs() {
				worst, found = s, true
			}
		}
	}
	if worst.diff < 0 { // say it as "b is ahead of a"
		worst.a, worst.b, worst.diff = worst.b, worst.a, -worst.diff
	}
	return worst
}

func (s skew) String() string {
	return fmt.Sprintf("%s's clock is %s ahead of %s's (±%s)", s.b.label, format.HumanDuration(s.diff), s.a.label, format.HumanDuration(s.err))
}

func checkTimeSkew(ms []member, lim Limits) preflight.Result {
	warn, fail := lim.MaxTimeSkew, lim.FailTimeSkew
	expected := "skew " + limitText(warn, fail)
	ms = answered(ms)
	if len(ms) < 2 {
		return preflight.Skipf("fewer than two members answered: no clocks to compare")
	}
	s := worstSkew(ms)
	observed := fmt.Sprintf("max skew %s ± %s (%s vs %s)", format.HumanDuration(s.diff), format.HumanDuration(s.err), s.b.label, s.a.label)
	remedy := fmt.Sprintf("make every member sync to the same NTP servers: compare `chronyc sources -v` on %s and %s, then step their clocks with `chronyc makestep`", s.a.label, s.b.label)
	switch {
	case fail > 0 && s.lowerBound > fail:
		return preflight.Failf("%s; limit %s", s, format.HumanDuration(fail)).Saw(observed, expected).Remedy("%s", remedy)
	case warn > 0 && s.lowerBound > warn:
		return preflight.Warnf("%s; recommended within %s", s, format.HumanDuration(warn)).Saw(observed, expected).Remedy("%s", remedy)
	case warn > 0 && s.diff > warn:
		return preflight.Passf("clocks agree within the measurement error: %s", s).Saw(observed, expected)
	}
	return preflight.Passf("the clocks of %s agree within %s (±%s)", plural(len(ms), "member", "members"), format.HumanDuration(s.diff), format.HumanDuration(s.err)).
		Saw(observed, expected)
}

// limitText is "<= 500ms (warn above), <= 5s (fail above)".
func limitText(warn, fail time.Duration) string {
	switch {
	case warn > 0 && fail > 0:
		return fmt.Sprintf("<= %s (warn above), <= %s (fail above)", format.HumanDuration(warn), format.HumanDuration(fail))
	case warn > 0:
		return fmt.Sprintf("<= %s (warn above)", format.HumanDuration(warn))
	case fail > 0:
		return fmt.Sprintf("<= %s (fail above)", format.HumanDuration(fail))
	}
	return "no limit"
}
