package systemd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// DBus manages the units of the live host through systemd's D-Bus API on
// the system bus. The zero value talks to this machine's system bus
// (DBUS_SYSTEM_BUS_ADDRESS when set); Close it when done.
type DBus struct {
	// Address is the system bus address, e.g.
	// "unix:path=/proc/4242/root/run/dbus/system_bus_socket" for a
	// container's; "" means DBUS_SYSTEM_BUS_ADDRESS or the default socket.
	Address string
	// Root is where the host's files are, for unit files the step installs;
	// "" means "/".
	Root string

	mu   sync.Mutex
	conn *sd.Conn
}

// RootDir implements Manager.
func (d *DBus) RootDir() string {
	if d.Root == "" {
		return "/"
	}
	return d.Root
}

// Live implements Manager.
func (d *DBus) Live() bool { return true }

// Close closes the connection, if one was made.
func (d *DBus) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		d.conn.Close()
		d.conn = nil
	}
}

func (d *DBus) connect(ctx context.Context) (*sd.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil && d.conn.Connected() {
		return d.conn, nil
	}
	var (
		c   *sd.Conn
		err error
	)
	if d.Address == "" {
		c, err = sd.NewSystemConnectionContext(ctx)
	} else {
		c, err = sd.NewConnection(func() (*dbus.Conn, error) { return dial(ctx, d.Address) })
	}
	if err != nil {
		addr := d.Address
		if addr == "" {
			addr = "the system bus"
		}
		return nil, fmt.Errorf("connect to systemd over %s: %w", addr, err)
	}
	d.conn = c
	return c, nil
}

// dial connects to a bus at addr and authenticates as this process's uid,
// as go-systemd does for the system bus.
func dial(ctx context.Context, addr string) (*dbus.Conn, error) {
	conn, err := dbus.Dial(addr, dbus.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	if err := conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		conn.Close()
		return nil, err
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// Lookup implements Manager with the unit's Id, LoadState, UnitFileState,
// ActiveState and FragmentPath properties. systemd loads a unit on demand
// for this, and follows aliases: Name is the unit's own name.
func (d *DBus) Lookup(ctx context.Context, names ...string) (UnitState, error) {
	c, err := d.connect(ctx)
	if err != nil {
		return UnitState{}, err
	}
	for _, name := range names {
		p, err := c.GetUnitPropertiesContext(ctx, name)
		if err != nil {
			return UnitState{}, fmt.Errorf("unit %s: %w", name, err)
		}
		load, _ := p["LoadState"].(string)
		switch load {
		case "not-found":
			continue
		case "masked":
			return UnitState{Name: name, FileState: "masked"}, nil
		case "loaded":
		default:
			return UnitState{}, fmt.Errorf("unit %s: load state %q: %v", name, load, p["LoadError"])
		}
		st := UnitState{Name: name, Installed: true}
		if id, _ := p["Id"].(string); id != "" {
			st.Name = id
		}
		st.Path, _ = p["FragmentPath"].(string)
		st.FileState, _ = p["UnitFileState"].(string)
		st.ActiveState, _ = p["ActiveState"].(string)
		return st, nil
	}
	return UnitState{Name: names[0]}, nil
}

// Reload implements Manager (systemctl daemon-reload).
func (d *DBus) Reload(ctx context.Context) error {
	c, err := d.connect(ctx)
	if err != nil {
		return err
	}
	if err := c.ReloadContext(ctx); err != nil {
		return fmt.Errorf("daemon-reload: %w", err)
	}
	return nil
}

// Enable implements Manager: EnableUnitFiles then a daemon-reload. Undo
// disables the unit again, which removes the links enabling created.
func (d *DBus) Enable(ctx context.Context, name string) (Undo, error) {
	c, err := d.connect(ctx)
	if err != nil {
		return nil, err
	}
	_, changes, err := c.EnableUnitFilesContext(ctx, []string{name}, false, false)
	if err != nil {
		return nil, fmt.Errorf("enable %s: %w", name, err)
	}
	undo := func(ctx context.Context) error {
		c, err := d.connect(ctx)
		if err != nil {
			return err
		}
		if _, err := c.DisableUnitFilesContext(ctx, []string{name}, false); err != nil {
			return fmt.Errorf("undo enable %s: %w", name, err)
		}
		return d.Reload(ctx)
	}
	if len(changes) == 0 {
		return nil, fmt.Errorf("enable %s: systemd created no links (no [Install] section?)", name)
	}
	if err := d.Reload(ctx); err != nil {
		return nil, errors.Join(err, undo(ctx))
	}
	return undo, nil
}

// Start implements Manager: StartUnit in "replace" mode, waiting for the
// job's result. A job that does not end "done", or a unit that is failed
// right after, is an error carrying the unit's state and result.
func (d *DBus) Start(ctx context.Context, name string) (Undo, error) {
	c, err := d.connect(ctx)
	if err != nil {
		return nil, err
	}
	stop := func(ctx context.Context) error {
		res, err := d.job(ctx, name, c.StopUnitContext)
		if err != nil {
			return fmt.Errorf("undo start %s: %w", name, err)
		}
		if res != "done" {
			return fmt.Errorf("undo start %s: stop job %s", name, res)
		}
		return nil
	}
	res, err := d.job(ctx, name, c.StartUnitContext)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	st, _ := d.Lookup(ctx, name)
	if res != "done" || st.ActiveState == "failed" {
		return nil, fmt.Errorf("start %s: job %s, unit %s%s (see journalctl -u %s)",
			name, res, st.ActiveState, d.why(ctx, c, name), name)
	}
	if !st.Active() && st.ActiveState != "activating" {
		// The job is "done" when a Condition*= skipped the start.
		if p, err := c.GetUnitPropertiesContext(ctx, name); err == nil {
			if ok, isBool := p["ConditionResult"].(bool); isBool && !ok {
				return nil, fmt.Errorf("start %s: skipped, a Condition*= of the unit is not met on this host (see systemctl status %s)", name, name)
			}
		}
	}
	return stop, nil
}

// job runs a start or stop job and waits for its result: done, canceled,
// timeout, failed, dependency or skipped.
func (d *DBus) job(ctx context.Context, name string, run func(context.Context, string, string, chan<- string) (int, error)) (string, error) {
	ch := make(chan string, 1)
	if _, err := run(ctx, name, "replace", ch); err != nil {
		return "", err
	}
	select {
	case res := <-ch:
		return res, nil
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for the job: %w", ctx.Err())
	}
}

// why describes a failed service from its properties, e.g.
// " (result exit-code, status 1 from /bin/false)".
func (d *DBus) why(ctx context.Context, c *sd.Conn, name string) string {
	if !strings.HasSuffix(name, ".service") {
		return ""
	}
	p, err := c.GetUnitTypePropertiesContext(ctx, name, "Service")
	if err != nil {
		return ""
	}
	var parts []string
	if r, _ := p["Result"].(string); r != "" && r != "success" {
		parts = append(parts, "result "+r)
	}
	if code, ok := p["ExecMainStatus"].(int32); ok && code != 0 {
		s := fmt.Sprintf("status %d", code)
		if ex, ok := p["ExecStart"].([][]any); ok && len(ex) > 0 && len(ex[0]) > 0 {
			if bin, ok := ex[0][0].(string); ok {
				s += " from " + bin
			}
		}
		parts = append(parts, s)
	}
	if t, _ := p["StatusText"].(string); t != "" {
		parts = append(parts, fmt.Sprintf("status text %q", t))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
