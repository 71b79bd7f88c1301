package ha

import (
	"strings"
	"testing"
	"time"
)

func TestTimersPresets(t *testing.T) {
	tests := []struct {
		name    string
		t       Timers
		predict time.Duration
		under   time.Duration // the promise: failover starts within
	}{
		{"default", DefaultTimers(), 12 * time.Second, 15 * time.Second},
		{"tuned", Tuned(), 2750 * time.Millisecond, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.t.Validate(); err != nil {
				t.Fatal(err)
			}
			if p := tt.t.Predict(); p != tt.predict || p >= tt.under {
				t.Fatalf("Predict() = %v, want %v (under %v)", p, tt.predict, tt.under)
			}
			if tt.t.FailoverDelay < tt.t.MinFailoverDelay() || tt.t.Watchdog == 0 {
				t.Fatalf("%+v: below the minimum failover delay %v, or no watchdog", tt.t, tt.t.MinFailoverDelay())
			}
		})
	}
}

func TestTimersValidate(t *testing.T) {
	d := DefaultTimers()
	tests := []struct {
		name   string
		change func(*Timers)
		errs   []string // each in the error; none: valid
	}{
		{"defaults", func(*Timers) {}, nil},
		{"exactly the minimum failover delay", func(t *Timers) { t.FailoverDelay = 10 * time.Second }, nil},
		{"no watchdog allows a shorter delay", func(t *Timers) { t.Watchdog = 0; t.FailoverDelay = 7 * time.Second }, nil},
		{"failover delay 1ns short", func(t *Timers) { t.FailoverDelay = 10*time.Second - 1 },
			[]string{"failover_delay 9.999999999s must be at least fence_timeout 5s + watchdog 3s + 2×skew 2s = 10s", "VM run on two hosts"}},
		{"failover delay below the fence timeout", func(t *Timers) { t.FailoverDelay = 4 * time.Second }, []string{"failover_delay 4s must be at least"}},
		{"fence timeout within two reports", func(t *Timers) { t.FenceTimeout = 1500 * time.Millisecond }, []string{"fence_timeout 1.5s must be at least 2×skew (2s)"}},
		{"watchdog within skew", func(t *Timers) { t.Watchdog = time.Second }, []string{"watchdog 1s must be longer than skew 1s"}},
		{"zero and negative", func(t *Timers) { t.Skew = 0; t.Detection = -1; t.Watchdog = -1; t.MaxRestarts = -1 },
			[]string{"skew 0s must be positive", "detection -1ns must be positive", "watchdog -1ns must be positive, or 0", "max_restarts -1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := d
			tt.change(&tm)
			err := tm.Validate()
			if len(tt.errs) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("%+v: valid", tm)
			}
			for _, e := range tt.errs {
				if !strings.Contains(err.Error(), e) {
					t.Errorf("error %q does not say %q", err, e)
				}
			}
		})
	}
}
