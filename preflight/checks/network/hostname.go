package network

import (
	"context"
	"fmt"
	"strings"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/host"
)

const hostnameFix = "Set a unique name: hostnamectl set-hostname node01.example.com " +
	"(or write it to /etc/hostname), then add it to /etc/hosts next to the node address."

func checkHostname(_ context.Context, h *host.Host) preflight.Result {
	name := h.Hostname
	const want = "a unique DNS name, not localhost"
	if name == "" {
		where := "the kernel hostname"
		if !h.Live {
			where = "/etc/hostname (missing or empty)"
		}
		return preflight.Failf("hostname is not set (%s)", where).Saw("(empty)", want).Remedy(hostnameFix)
	}
	if first, _, _ := strings.Cut(strings.ToLower(name), "."); first == "localhost" {
		return preflight.Failf("hostname is %q: cluster nodes need a unique name", name).Saw(name, want).Remedy(hostnameFix)
	}
	if err := validDNSName(name); err != nil {
		return preflight.Failf("hostname %q is not a valid DNS name: %v", name, err).Saw(name, want).Remedy(hostnameFix)
	}
	return preflight.Passf("hostname %s", name)
}

// validDNSName checks a host name against RFC 1123: dot-separated labels of
// 1-63 letters, digits and hyphens, not starting or ending with a hyphen,
// 253 characters in all.
func validDNSName(s string) error {
	if len(s) > 253 {
		return fmt.Errorf("longer than 253 characters")
	}
	for _, l := range strings.Split(s, ".") {
		switch {
		case l == "":
			return fmt.Errorf("empty label")
		case len(l) > 63:
			return fmt.Errorf("label %q longer than 63 characters", l)
		case l[0] == '-' || l[len(l)-1] == '-':
			return fmt.Errorf("label %q starts or ends with a hyphen", l)
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("character %q is not a letter, digit or hyphen", r)
			}
		}
	}
	return nil
}
