package agent

import (
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier tells the service manager how the agent is doing. Under systemd
// it speaks sd_notify; elsewhere every call does nothing.
type Notifier interface {
	Notify(state string)
	// Watchdog is the interval to ping at, 0 when no watchdog is armed.
	Watchdog() time.Duration
}

// Systemd notifies through $NOTIFY_SOCKET.
type Systemd struct{}

// Notify sends one state line, e.g. "READY=1" or "STATUS=...".
func (Systemd) Notify(state string) { _, _ = daemon.SdNotify(false, state) }

// Watchdog is half of WatchdogSec, as sd_watchdog_enabled(3) advises.
func (Systemd) Watchdog() time.Duration {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil || d <= 0 {
		return 0
	}
	return d / 2
}
