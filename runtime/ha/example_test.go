package ha_test

import (
	"fmt"
	"time"

	"github.com/vmnode/vmnode/runtime/ha"
)

// The passive host h2 of vm1 has heard nothing from the active h1 for 11 s,
// nor has h3; gossip says h1 failed. h2 takes over with the next epoch.
func ExampleDecide() {
	start := time.Now()
	now := start.Add(time.Hour)
	rec := ha.Record{Epoch: 4, Active: "h1", Passive: "h2", Desired: ha.DesiredRunning}
	s := ha.State{
		Self: "h2", Start: start, Healthy: true, Timers: ha.DefaultTimers(),
		Members: map[string]ha.Member{
			"h1": {Status: ha.Failed, LastHeard: now.Add(-11 * time.Second), LastExchange: now.Add(-11 * time.Second)},
			"h3": {Status: ha.Alive, LastHeard: now, LastExchange: now, Healthy: true, Report: &ha.Report{
				Quorate: true, Heard: map[string]time.Duration{"h1": 11 * time.Second, "h2": 0}}},
		},
		VMs: []ha.VM{{Name: "vm1", Record: rec}},
	}
	for _, a := range ha.Decide(s, now) {
		fmt.Println(a)
		fmt.Println(a.Record)
	}
	// Output:
	// start vm1 epoch 5: failover: the active h1 failed and a majority has heard nothing from it for failover_delay 11s; taking over with epoch 5
	// epoch 5, active h2, passive h1, running
}
