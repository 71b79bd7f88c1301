package network

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/host"
)

// hostsEntry is one line of /etc/hosts.
type hostsEntry struct {
	Addr  netip.Addr
	Names []string
	Line  int
}

// parseHosts parses /etc/hosts. A line whose first field is not an address,
// or that has no name, is an error naming the line.
func parseHosts(data []byte) ([]hostsEntry, error) {
	if !utf8.Valid(data) || strings.ContainsRune(string(data), 0) {
		return nil, errors.New("not a text file (invalid UTF-8 or NUL bytes)")
	}
	var out []hostsEntry
	for i, line := range strings.Split(string(data), "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: %q is not an IP address", i+1, clip(f[0]))
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("line %d: address %s without a host name", i+1, a)
		}
		out = append(out, hostsEntry{Addr: a.Unmap(), Names: f[1:], Line: i + 1})
	}
	return out, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// nameMatches reports whether an /etc/hosts name stands for hostname: the
// same name, or the short and fully qualified forms of each other.
func nameMatches(name, hostname string) bool {
	if strings.EqualFold(name, hostname) {
		return true
	}
	short := func(s string) string { f, _, _ := strings.Cut(s, "."); return f }
	return strings.EqualFold(short(name), hostname) || strings.EqualFold(name, short(hostname))
}

func checkHostsEntry(_ context.Context, h *host.Host) preflight.Result {
	addr := h.Address.Unmap()
	if !addr.IsValid() {
		return errNoAddress()
	}
	if h.Hostname == "" {
		return preflight.Errorf("no hostname to look for in /etc/hosts (see %s)", IDHostname)
	}
	want := addr.String() + " " + h.Hostname
	if short, _, ok := strings.Cut(h.Hostname, "."); ok {
		want += " " + short
	}
	fix := fmt.Sprintf("Add the line %q to /etc/hosts: echo '%s' >> /etc/hosts", want, want)
	b, err := h.ReadFile("/etc/hosts")
	if errors.Is(err, fs.ErrNotExist) {
		return preflight.Failf("/etc/hosts does not exist").Saw("(no file)", want).Remedy("%s", fix).FixedBy("hosts")
	}
	if err != nil {
		return preflight.Errorf("%v", err)
	}
	entries, err := parseHosts(b)
	if err != nil {
		return preflight.Errorf("/etc/hosts: %v", err)
	}
	var related []string
	for _, e := range entries {
		for _, n := range e.Names {
			if e.Addr == addr && nameMatches(n, h.Hostname) {
				return preflight.Passf("/etc/hosts line %d maps %s to %s", e.Line, addr, n)
			}
		}
		hasName := false
		for _, n := range e.Names {
			hasName = hasName || nameMatches(n, h.Hostname)
		}
		if e.Addr == addr || hasName {
			related = append(related, e.Addr.String()+" "+strings.Join(e.Names, " "))
		}
	}
	if len(related) == 0 {
		return preflight.Failf("/etc/hosts has no line for %s or %s", addr, h.Hostname).
			Saw("(no matching line)", want).Remedy("%s", fix).FixedBy("hosts")
	}
	msg := fmt.Sprintf("/etc/hosts does not map %s to %s", addr, h.Hostname)
	for _, r := range related {
		if strings.HasPrefix(r, "127.") || strings.HasPrefix(r, "::1 ") {
			msg += " (a loopback line such as " + r + " does not count: other nodes must resolve this one to " + addr.String() + ")"
			break
		}
	}
	return preflight.Failf("%s", msg).Saw(strings.Join(related, "; "), want).Remedy("%s", fix).FixedBy("hosts")
}
