package api

import (
	"context"
	"net/http"
	"time"
)

// Migration, High Availability and maintenance operations, the Op of a
// VMRequest.
const (
	// VMMigrate moves the VM to To (the scheduler's choice when empty):
	// live while it runs, its definition only with Offline. The answer comes
	// once the migration preflight passed and the migration started; follow
	// it with VMMigration.
	VMMigrate = "migrate"
	// VMMigration is the progress of the VM's last migration, asked of the
	// source host (Host).
	VMMigration = "migration"
	// VMHAEnable makes the VM highly available with Passive as its passive
	// host; the host it is defined on is the active one.
	VMHAEnable = "ha-enable"
	// VMHADisable ends it; the passive host's copy of the definition goes.
	VMHADisable = "ha-disable"
	// VMSwitchover live-migrates an HA VM to its passive host; the roles
	// swap.
	VMSwitchover = "switchover"
)

// Migration is the state of a VM's migration, as its source host reports it.
type Migration struct {
	VM    string `json:"vm"`
	From  string `json:"from"`
	To    string `json:"to"`
	Live  bool   `json:"live"`
	State string `json:"state"` // running, done, failed
	// Error says why it failed; the VM is still on From.
	Error         string        `json:"error,omitempty"`
	DataTotal     uint64        `json:"data_total"`
	DataProcessed uint64        `json:"data_processed"`
	DataRemaining uint64        `json:"data_remaining"`
	BytesPerSec   uint64        `json:"bytes_per_sec"`
	Downtime      time.Duration `json:"downtime"` // expected while running, measured when done
	Elapsed       time.Duration `json:"elapsed"`
	Started       time.Time     `json:"started"`
}

// Migration states.
const (
	MigrationRunning = "running"
	MigrationDone    = "done"
	MigrationFailed  = "failed"
)

// HostRequest puts a host in maintenance (no new placements, its HA VMs
// switch over to their passive hosts) or takes it out.
type HostRequest struct {
	Host        string `json:"host"`
	Maintenance bool   `json:"maintenance"`
}

// HostResponse is the host's state after a HostRequest, with the VMs
// defined on it.
type HostResponse struct {
	Host        string `json:"host"`
	Maintenance bool   `json:"maintenance"`
	VMs         []VM   `json:"vms"`
}

// HAStatus is the High Availability view of the cluster.
type HAStatus struct {
	Timers HATimers `json:"timers"`
	// Predicted is the longest a failover takes with these timers, from the
	// active host's death to the VM starting on the passive one.
	Predicted time.Duration `json:"predicted_recovery"`
	VMs       []HAVM        `json:"vms"`
	// Missing are members that did not answer.
	Missing []string `json:"missing,omitempty"`
}

// HATimers are the HA timers in force on the contacted member.
type HATimers struct {
	Detection     time.Duration `json:"detection"`
	Skew          time.Duration `json:"skew"`
	FenceTimeout  time.Duration `json:"fence_timeout"`
	FailoverDelay time.Duration `json:"failover_delay"`
	Watchdog      time.Duration `json:"watchdog"`
	WatchdogPath  string        `json:"watchdog_device,omitempty"`
	MaxRestarts   int           `json:"max_restarts"`
}

// HAVM is one HA VM: its record, where it runs and what its hosts think.
type HAVM struct {
	Name    string `json:"name"`
	Active  string `json:"active"`
	Passive string `json:"passive"`
	Epoch   uint64 `json:"epoch"`
	Desired string `json:"desired"`
	// State is the VM's state on the host that runs it, or on the active.
	State     string     `json:"state"`
	RunsOn    []string   `json:"runs_on,omitempty"`
	LastEvent *LastEvent `json:"last_event,omitempty"`
	// Notes are each defining host's reading of the rules now.
	Notes map[string]string `json:"notes,omitempty"`
}

// Host changes a host's maintenance state.
func (c *Client) Host(ctx context.Context, r HostRequest) (HostResponse, error) {
	var out HostResponse
	return out, c.do(ctx, http.MethodPost, "/v1/host", r, &out)
}

// HA is the High Availability status of the cluster.
func (c *Client) HA(ctx context.Context) (HAStatus, error) {
	var out HAStatus
	return out, c.do(ctx, http.MethodGet, "/v1/ha", nil, &out)
}
