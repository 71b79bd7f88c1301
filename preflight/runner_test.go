package preflight

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vmnode/vmnode/preflight/host"
)

func check(id string, fn func(ctx context.Context) Result) Check {
	return Func{CheckID: id, CheckTitle: id, Fn: func(ctx context.Context, _ *host.Host) Result { return fn(ctx) }}
}

// A check that hangs ignoring its context, one that panics and one that
// returns nothing must not hold up or break the others.
func TestRunnerIsolatesBrokenChecks(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	checks := []Check{
		check("ok", func(context.Context) Result { return Passf("fine") }),
		check("hangs", func(context.Context) Result { <-block; return Passf("late") }),
		check("panics", func(context.Context) Result { panic("boom") }),
		check("empty", func(context.Context) Result { return Result{} }),
		check("honours-ctx", func(ctx context.Context) Result { <-ctx.Done(); return Errorf("gave up: %v", ctx.Err()) }),
	}
	start := time.Now()
	res := Runner{Timeout: 100 * time.Millisecond}.Run(context.Background(), &host.Host{}, checks)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("runner waited %s for a hung check", took)
	}
	want := map[string]Status{"ok": Pass, "hangs": Error, "panics": Error, "empty": Error, "honours-ctx": Error}
	for i, r := range res {
		if r.ID != checks[i].ID() {
			t.Errorf("result %d is %s, want check order", i, r.ID)
		}
		if r.Status != want[r.ID] {
			t.Errorf("%s: %s %q, want %s", r.ID, r.Status, r.Message, want[r.ID])
		}
	}
	if !strings.Contains(res[1].Message, "timed out after 100ms") || !strings.Contains(res[2].Message, "boom") {
		t.Errorf("messages: %q / %q", res[1].Message, res[2].Message)
	}
}

// Checks run concurrently: ten checks of 50ms finish in far less than 500ms.
func TestRunnerRunsConcurrently(t *testing.T) {
	var checks []Check
	for i := range 10 {
		checks = append(checks, check(string(rune('a'+i)), func(ctx context.Context) Result {
			select {
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
			}
			return Passf("done")
		}))
	}
	start := time.Now()
	Runner{}.Run(context.Background(), &host.Host{}, checks)
	if took := time.Since(start); took > 300*time.Millisecond {
		t.Errorf("10 checks of 50ms took %s: not concurrent", took)
	}
}

func TestIgnoreAndWaivers(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	mk := func() []Result {
		return []Result{
			{ID: "a", Status: Fail, Message: "bad"},
			{ID: "b", Status: Error, Message: "unreadable"},
			{ID: "c", Status: Fail, Message: "bad"},
			{ID: "d", Status: Warn, Message: "meh"},
			{ID: "e", Status: Fail, Message: "bad"},
		}
	}
	ig := Ignore{
		IDs: []string{"a"},
		Waivers: []Waiver{
			{ID: "b", Until: day("2026-11-21"), Reason: "ticket 7"}, // valid through today
			{ID: "c", Until: day("2026-11-20"), Reason: "old"},      // expired yesterday
		},
	}
	res := mk()
	notes := ig.Apply(res, now)
	rep := &Report{Results: res}
	if res[0].Status != Warn || !res[0].Ignored || !strings.HasPrefix(res[0].Message, "[ignored fail]") {
		t.Errorf("flag-ignored: %+v", res[0])
	}
	if res[1].Status != Warn || !res[1].Ignored || !strings.Contains(res[1].IgnoreNote, "ticket 7") {
		t.Errorf("waived through today: %+v", res[1])
	}
	if res[2].Status != Fail || res[2].Ignored || !strings.Contains(res[2].IgnoreNote, "expired") {
		t.Errorf("expired waiver still applies: %+v", res[2])
	}
	if res[3].Ignored || res[4].Ignored {
		t.Errorf("unlisted results ignored: %+v %+v", res[3], res[4])
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "c expired on 2026-11-20") {
		t.Errorf("notes %v", notes)
	}
	if rep.ExitCode() != ExitFailed {
		t.Errorf("exit %d with an unignored failure", rep.ExitCode())
	}
	all := mk()
	Ignore{All: true}.Apply(all, now)
	if (&Report{Results: all}).ExitCode() != ExitOK {
		t.Errorf("ignore all still fails: %+v", all)
	}
	if s := (&Report{Results: all}).Summary(); s[Warn] != 5 || s[Fail] != 0 {
		t.Errorf("summary %v", s)
	}
}
