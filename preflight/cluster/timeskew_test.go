package cluster

import (
	"testing"
	"time"

	"github.com/vmnode/vmnode/preflight"
)

func TestTimeSkew(t *testing.T) {
	ms := time.Millisecond
	runCheckCases(t, IDTimeSkew, []checkCase{
		{name: "no members", status: preflight.Skip},
		{name: "one member", members: members(1), status: preflight.Skip},
		{name: "one answered", members: []Member{mem("a", self()), silent("b", "down")}, status: preflight.Skip},
		{
			name:    "in sync",
			members: []Member{mem("a", self()), mem("b", clock(12*ms, ms)), mem("c", clock(-7*ms, ms))},
			status:  preflight.Pass,
			msg:     []string{"agree within 19ms (±2ms)"},
		},
		{
			name:    "warn: pairwise, not against the collector",
			members: []Member{mem("a", self()), mem("b", clock(400*ms, ms)), mem("c", clock(-400*ms, ms))},
			status:  preflight.Warn,
			msg:     []string{"b's clock is 800ms ahead of c's (±2ms)", "within 500ms"},
			obs:     []string{"max skew 800ms ± 2ms (b vs c)"},
			remedy:  []string{"chronyc makestep", "c and b"},
		},
		{
			name:    "fail",
			members: []Member{mem("a", self()), mem("b", clock(-6*time.Second, 3*ms))},
			status:  preflight.Fail,
			msg:     []string{"a's clock is 6s ahead of b's (±3ms)", "limit 5s"},
		},
		{
			name:    "the error covers the skew",
			members: []Member{mem("a", self()), mem("b", clock(700*ms, 250*ms))},
			status:  preflight.Pass,
			msg:     []string{"within the measurement error", "700ms", "±250ms"},
		},
		{
			name:    "skew minus error still above",
			members: []Member{mem("a", self()), mem("b", clock(900*ms, 300*ms))},
			status:  preflight.Warn,
		},
		{
			name:    "a surer pair beats a larger but uncertain one",
			members: []Member{mem("a", self()), mem("b", clock(3*time.Second, 3100*ms)), mem("c", clock(-800*ms, 10*ms))},
			status:  preflight.Warn,
			msg:     []string{"a's clock is 800ms ahead of c's"},
		},
		{
			name:    "negative error is read as its size",
			members: []Member{mem("a", self()), mem("b", clock(700*ms, -250*ms))},
			status:  preflight.Pass,
		},
		{
			name:    "no limits",
			members: []Member{mem("a", self()), mem("b", clock(time.Hour, 0))},
			lim:     Limits{MaxHosts: 7},
			status:  preflight.Pass,
		},
		{
			name:    "fail limit only",
			members: []Member{mem("a", self()), mem("b", clock(2*time.Second, 0))},
			lim:     Limits{FailTimeSkew: time.Second},
			status:  preflight.Fail,
		},
		{
			name:    "silent members are left out",
			members: []Member{mem("a", self()), mem("b", clock(ms, 0)), {Name: "c", ClockOffset: time.Hour}},
			status:  preflight.Pass,
		},
	})
}
