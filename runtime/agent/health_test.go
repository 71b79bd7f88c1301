package agent

import (
	"slices"
	"testing"
	"time"

	"github.com/vmnode/vmnode/preflight"
)

func TestSummarize(t *testing.T) {
	res := func(id string, st preflight.Status, ignored bool) preflight.Result {
		return preflight.Result{ID: id, Status: st, Ignored: ignored}
	}
	tests := []struct {
		name    string
		results []preflight.Result
		status  string
		failing []string
	}{
		{"all pass", []preflight.Result{res("a", preflight.Pass, false), res("b", preflight.Skip, false)}, "pass", nil},
		{"warn", []preflight.Result{res("a", preflight.Pass, false), res("b", preflight.Warn, false)}, "warn", nil},
		{"error below fail", []preflight.Result{res("a", preflight.Error, false), res("b", preflight.Warn, false)}, "error", []string{"a"}},
		{"fail is worst", []preflight.Result{res("a", preflight.Error, false), res("b", preflight.Fail, false)}, "fail", []string{"a", "b"}},
		{"waived failure does not count", []preflight.Result{res("a", preflight.Fail, true), res("b", preflight.Warn, false)}, "warn", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := summarize(&preflight.Report{StartedAt: time.Unix(100, 0), Duration: time.Second, Results: tt.results})
			if h.Status != tt.status || !slices.Equal(h.Failing, tt.failing) || h.CheckedAt != time.Unix(101, 0) {
				t.Fatalf("got %s %v at %v, want %s %v", h.Status, h.Failing, h.CheckedAt, tt.status, tt.failing)
			}
		})
	}
}
