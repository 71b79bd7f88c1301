package timesync

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/profiles"
)

// Checks returns the time checks for p. It does no I/O.
func Checks(p *profiles.Profile) []preflight.Check {
	return []preflight.Check{checkService(p), checkOffset(p)}
}

// serviceUnits maps a profile's time service to its unit names: the EL
// name first, then the Debian one.
func serviceUnits(service string) []string {
	switch service {
	case "chrony", "chronyd":
		return []string{"chronyd.service", "chrony.service"}
	case "ntp", "ntpd":
		return []string{"ntpd.service", "ntp.service"}
	case "":
		return nil
	}
	return []string{strings.TrimSuffix(service, ".service") + ".service"}
}

// pickUnit is the unit of units the host has installed under its own name
// (not as an alias link), for the remedy; units[0] when none is.
func pickUnit(h *host.Host, units []string) string {
	for _, u := range units {
		if h.UnitInstalled(u) {
			if t, err := h.ReadLink("/etc/systemd/system/" + u); err == nil && !strings.HasSuffix(t, "/"+u) && t != "/dev/null" {
				continue // an alias link, e.g. Debian's chronyd.service -> chrony.service
			}
			return u
		}
	}
	return units[0]
}

// ServiceState is what the unit files say about the time service.
type ServiceState struct {
	Service   string
	Unit      string // the unit the remedy names
	Installed bool
	Enabled   bool
	Masked    bool
	Family    string // "debian" or "rhel", for the install command
}

func judgeService(s ServiceState) preflight.Result {
	expected := s.Service + " installed and enabled"
	name := strings.TrimSuffix(s.Unit, ".service")
	install := "dnf install -y " + s.Service
	if s.Family == "debian" {
		install = "apt-get install -y " + s.Service
	}
	switch {
	case !s.Installed:
		return preflight.Failf("%s is not installed (no %s unit)", s.Service, s.Unit).
			Saw("not installed", expected).
			Remedy("%s && systemctl enable --now %s", install, name).FixedBy("time")
	case s.Masked:
		return preflight.Failf("%s is masked", s.Unit).
			Saw("installed, masked", expected).
			Remedy("systemctl unmask %s && systemctl enable --now %s", name, name).FixedBy("time")
	case !s.Enabled:
		return preflight.Failf("%s is installed but not enabled for autostart", s.Unit).
			Saw("installed, disabled", expected).
			Remedy("systemctl enable --now %s", name).FixedBy("time")
	}
	return preflight.Passf("%s is installed and enabled (%s)", s.Service, s.Unit).Saw("installed, enabled", expected)
}

func checkService(p *profiles.Profile) preflight.Check {
	service := p.Time.Service
	return preflight.Func{
		CheckID:    "time.sync-service",
		CheckTitle: "Time synchronisation service",
		Fn: func(_ context.Context, h *host.Host) preflight.Result {
			units := serviceUnits(service)
			if len(units) == 0 {
				return preflight.Skipf("the profile names no time service")
			}
			enabled, which, err := h.UnitEnabled(units...)
			if err != nil {
				return preflight.Errorf("cannot tell whether %s is enabled: %v", service, err)
			}
			s := ServiceState{Service: service, Installed: h.UnitInstalled(units...), Enabled: enabled, Family: family(h)}
			s.Unit = pickUnit(h, units)
			if enabled {
				s.Unit = which
			} else if which != "" {
				s.Masked, s.Unit = true, which
			}
			return judgeService(s)
		},
	}
}

// family is "debian" when dpkg is present, else "rhel".
func family(h *host.Host) string {
	if h.Exists("/var/lib/dpkg/status") {
		return "debian"
	}
	return "rhel"
}

// Config files naming NTP servers, in the order they are looked for.
var (
	ChronyConfs = []string{"/etc/chrony.conf", "/etc/chrony/chrony.conf"}
	NTPConf     = "/etc/ntp.conf"
)

const maxIncludeDepth = 4

// configuredServers finds the servers to query and where they came from.
func configuredServers(h *host.Host, p *profiles.Profile) (servers []string, from string, err error) {
	if len(h.NTPServers) > 0 {
		return h.NTPServers, "--ntp-server", nil
	}
	for _, c := range ChronyConfs {
		data, err := h.ReadFile(c)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		s, err := readChrony(h, c, data, 0, map[string]bool{c: true})
		if err != nil {
			return nil, "", err
		}
		if len(s) > 0 {
			return dedupe(s), c, nil
		}
	}
	if data, err := h.ReadFile(NTPConf); err == nil {
		s, err := parseNTPConf(data)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", NTPConf, err)
		}
		if len(s) > 0 {
			return dedupe(s), NTPConf, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", err
	}
	if len(p.Time.Servers) > 0 {
		return p.Time.Servers, "the profile", nil
	}
	return nil, "", nil
}

func readChrony(h *host.Host, name string, data []byte, depth int, seen map[string]bool) ([]string, error) {
	servers, includes, err := ParseChronyConf(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if depth >= maxIncludeDepth {
		return servers, nil
	}
	for _, pat := range includes {
		files, err := h.Glob(pat)
		if err != nil {
			return nil, fmt.Errorf("%s: include %s: %w", name, pat, err)
		}
		slices.Sort(files)
		for _, f := range files {
			if seen[f] {
				continue
			}
			seen[f] = true
			d, err := h.ReadFile(f)
			if err != nil {
				return nil, err
			}
			s, err := readChrony(h, f, d, depth+1, seen)
			if err != nil {
				return nil, err
			}
			servers = append(servers, s...)
		}
	}
	return servers, nil
}

func dedupe(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// Measurement is one offset measured, or the errors of every server tried.
type Measurement struct {
	Server string
	Offset time.Duration
	Errors []string // one per server that did not answer
}

// judgeOffset compares the measured offset with the profile's thresholds.
func judgeOffset(t profiles.Time, m Measurement, tried []string) preflight.Result {
	warn, fail := time.Duration(t.OffsetWarn), time.Duration(t.OffsetFail)
	expected := fmt.Sprintf("|offset| <= %s (warn above), <= %s (fail above)", warn, fail)
	if m.Server == "" {
		return preflight.Warnf("no NTP server answered, offset unknown: %s", strings.Join(m.Errors, "; ")).
			Saw("unreachable: "+strings.Join(tried, ", "), expected).
			Remedy("check that UDP port 123 to %s is open and the servers are up (chronyc sources -v), or name a reachable one with --ntp-server", strings.Join(tried, ", "))
	}
	observed := signed(m.Offset) + " against " + m.Server
	abs := m.Offset.Abs()
	remedy := "chronyc makestep (steps the clock now), then check chronyc tracking and chronyc sources -v"
	switch {
	case fail > 0 && abs > fail:
		return preflight.Failf("the clock is off by %s against %s (limit %s)", signed(m.Offset), m.Server, fail).
			Saw(observed, expected).Remedy("%s", remedy).FixedBy("time")
	case warn > 0 && abs > warn:
		return preflight.Warnf("the clock is off by %s against %s (recommended within %s)", signed(m.Offset), m.Server, warn).
			Saw(observed, expected).Remedy("%s", remedy).FixedBy("time")
	}
	return preflight.Passf("the clock is within %s of %s", signed(m.Offset), m.Server).Saw(observed, expected)
}

func checkOffset(p *profiles.Profile) preflight.Check {
	prof := p.Time
	return preflight.Func{
		CheckID:    "time.ntp-offset",
		CheckTitle: "Clock offset against NTP",
		Fn: func(ctx context.Context, h *host.Host) preflight.Result {
			if !h.Live {
				return preflight.Skipf("the NTP offset needs the live clock and network (not available under --root)")
			}
			servers, from, err := configuredServers(h, p)
			if err != nil {
				return preflight.Errorf("cannot read the NTP configuration: %v", err).
					Remedy("fix the file, or name a server with --ntp-server")
			}
			if len(servers) == 0 {
				return preflight.Warnf("no NTP server configured (no --ntp-server, no server/pool lines in %s or %s)", strings.Join(ChronyConfs, ", "), NTPConf).
					Saw("no servers", "an NTP server to measure against").
					Remedy("add `pool pool.ntp.org iburst` (or your site's server) to the chrony configuration, or pass --ntp-server HOST")
			}
			// --offline sends nothing off the host; loopback servers stay on it.
			if h.Offline && slices.ContainsFunc(servers, func(s string) bool { return !isLoopback(s) }) {
				return preflight.Skipf("--offline: not querying %s (from %s)", strings.Join(servers, ", "), from)
			}
			var m Measurement
			for _, s := range servers {
				if ctx.Err() != nil {
					m.Errors = append(m.Errors, fmt.Sprintf("%s: %v", s, ctx.Err()))
					break
				}
				off, err := h.NTP.Offset(ctx, s)
				if err != nil {
					m.Errors = append(m.Errors, err.Error())
					continue
				}
				m.Server, m.Offset = s, off
				break
			}
			r := judgeOffset(prof, m, servers)
			r.Message += " (servers from " + from + ")"
			return r
		},
	}
}

// signed renders an offset with its sign, to the microsecond: "+30.000012s".
func signed(d time.Duration) string {
	d = d.Round(time.Microsecond)
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}
