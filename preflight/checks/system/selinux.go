package system

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"unicode/utf8"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/profiles"
)

// SELinux files.
const (
	SELinuxConfig  = "/etc/selinux/config"
	SELinuxFS      = "/sys/fs/selinux"
	SELinuxEnforce = "/sys/fs/selinux/enforce"
)

// SELinuxFix is the exact fix from the requirements (seed 004), followed by
// a reboot.
const SELinuxFix = "sed -i s/^SELINUX=.*$/SELINUX=disabled/ /etc/selinux/config && reboot"

// parseSELinuxConfig returns the SELINUX= mode of /etc/selinux/config:
// enforcing, permissive or disabled. The last assignment wins, as when the
// file is sourced.
func parseSELinuxConfig(data []byte) (string, error) {
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return "", errors.New("not a text file")
	}
	mode := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) != "SELINUX" {
			continue
		}
		v = strings.ToLower(strings.Trim(strings.TrimSpace(v), `"'`))
		switch v {
		case "enforcing", "permissive", "disabled":
			mode = v
		default:
			return "", fmt.Errorf("SELINUX=%s: want enforcing, permissive or disabled", v)
		}
	}
	if mode == "" {
		return "", errors.New("no SELINUX= setting")
	}
	return mode, nil
}

// parseEnforce reads /sys/fs/selinux/enforce: 1 is enforcing, 0 permissive.
func parseEnforce(data []byte) (string, error) {
	switch strings.TrimSpace(string(data)) {
	case "1":
		return "enforcing", nil
	case "0":
		return "permissive", nil
	}
	return "", fmt.Errorf("%s: %q is neither 0 nor 1", SELinuxEnforce, bytes.TrimSpace(data))
}

// SELinuxState is what the host says about SELinux. Empty fields are
// unknown or absent.
type SELinuxState struct {
	Config  string // SELINUX= in the config; "" when the file is absent
	Runtime string // enforcing, permissive or disabled; "" when not known (under --root)
}

// judgeSELinux decides selinux.disabled.
func judgeSELinux(s SELinuxState) preflight.Result {
	const expected = "SELINUX=disabled, not enforcing at runtime"
	observed := "config: " + orNone(s.Config, "no "+SELinuxConfig)
	if s.Runtime != "" {
		observed += "; runtime: " + s.Runtime
	} else {
		observed += "; runtime: not checked under --root"
	}
	switch {
	case s.Config == "" && (s.Runtime == "" || s.Runtime == "disabled"):
		return preflight.Passf("SELinux is not installed").Saw(observed, expected)
	case s.Config == "enforcing" || s.Config == "permissive":
		return preflight.Failf("SELinux is %s in %s; the platform needs it disabled", s.Config, SELinuxConfig).
			Saw(observed, expected).Remedy("%s", SELinuxFix).FixedBy("selinux")
	case s.Config == "" && s.Runtime != "disabled":
		return preflight.Failf("SELinux is %s at runtime and %s is missing", s.Runtime, SELinuxConfig).
			Saw(observed, expected).Remedy("echo SELINUX=disabled > %s && reboot", SELinuxConfig).FixedBy("selinux")
	case s.Runtime == "enforcing" || s.Runtime == "permissive":
		return preflight.Failf("SELinux is disabled in %s but still %s at runtime: reboot to finish", SELinuxConfig, s.Runtime).
			Saw(observed, expected).Remedy("reboot").FixedBy("selinux")
	case s.Runtime == "":
		return preflight.Passf("SELinux is disabled in %s (runtime not checked under --root)", SELinuxConfig).Saw(observed, expected)
	}
	return preflight.Passf("SELinux is disabled").Saw(observed, expected)
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

// readSELinux gathers the config and, live, the runtime mode.
func readSELinux(h *host.Host) (SELinuxState, error) {
	var s SELinuxState
	data, err := h.ReadFile(SELinuxConfig)
	switch {
	case err == nil:
		if s.Config, err = parseSELinuxConfig(data); err != nil {
			return s, fmt.Errorf("%s: %w", SELinuxConfig, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return s, err
	}
	if !h.Live {
		return s, nil
	}
	data, err = h.ReadFile(SELinuxEnforce)
	switch {
	case err == nil:
		s.Runtime, err = parseEnforce(data)
		return s, err
	case errors.Is(err, fs.ErrNotExist) && !h.Exists(SELinuxFS+"/enforce"):
		s.Runtime = "disabled" // no selinuxfs: SELinux is off in the kernel
		return s, nil
	}
	return s, err
}

func checkSELinux(p *profiles.Profile) preflight.Check {
	want := p.SELinux
	return preflight.Func{
		CheckID:    "selinux.disabled",
		CheckTitle: "SELinux disabled",
		Fn: func(_ context.Context, h *host.Host) preflight.Result {
			if want != "disabled" {
				return preflight.Skipf("the profile does not require SELinux disabled (selinux: %q)", want)
			}
			s, err := readSELinux(h)
			if err != nil {
				return preflight.Errorf("cannot tell the SELinux mode: %v", err).
					Saw("", "SELINUX=disabled").
					Remedy("check %s (sestatus); to disable: %s", SELinuxConfig, SELinuxFix)
			}
			return judgeSELinux(s)
		},
	}
}
