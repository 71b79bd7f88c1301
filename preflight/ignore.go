package preflight

import (
	"fmt"
	"slices"
	"time"
)

// Ignore turns failures of listed checks into ignored warnings, the way
// kubeadm's --ignore-preflight-errors does.
type Ignore struct {
	All     bool     // --ignore-preflight-errors=all
	IDs     []string // from the flag
	Waivers []Waiver // from the config file
}

// Waiver is a config-file ignore entry that may expire.
type Waiver struct {
	ID     string
	Until  time.Time // zero: never expires; otherwise valid through that day
	Reason string
}

// Apply marks ignored results in place and returns notes for the report
// (expired waivers). A failing or erroring ignored check becomes a warning
// with Ignored set.
func (ig Ignore) Apply(results []Result, now time.Time) []string {
	var notes []string
	active := map[string]string{}
	for _, id := range ig.IDs {
		active[id] = "ignored by --ignore-preflight-errors"
	}
	for _, w := range ig.Waivers {
		if !w.Until.IsZero() && now.After(w.Until.AddDate(0, 0, 1)) {
			notes = append(notes, fmt.Sprintf("waiver for %s expired on %s and no longer applies", w.ID, w.Until.Format(time.DateOnly)))
			markExpired(results, w)
			continue
		}
		note := "waived in config"
		if w.Reason != "" {
			note += ": " + w.Reason
		}
		if !w.Until.IsZero() {
			note += " (until " + w.Until.Format(time.DateOnly) + ")"
		}
		if _, ok := active[w.ID]; !ok {
			active[w.ID] = note
		}
	}
	for i := range results {
		r := &results[i]
		if r.Status != Fail && r.Status != Error {
			continue
		}
		note, ok := active[r.ID]
		if ig.All && !ok {
			note, ok = "ignored by --ignore-preflight-errors=all", true
		}
		if ok {
			r.Message = fmt.Sprintf("[ignored %s] %s", r.Status, r.Message)
			r.Status, r.Ignored, r.IgnoreNote = Warn, true, note
		}
	}
	return notes
}

func markExpired(results []Result, w Waiver) {
	i := slices.IndexFunc(results, func(r Result) bool { return r.ID == w.ID })
	if i >= 0 && results[i].IgnoreNote == "" {
		results[i].IgnoreNote = fmt.Sprintf("waiver expired on %s", w.Until.Format(time.DateOnly))
	}
}
