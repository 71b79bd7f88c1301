package timesync

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseChronyConf parses chrony.conf(5) (and its .conf/.sources include
// files, which share the syntax). servers are the `server`, `pool` and
// `peer` addresses, as "host" or "host:port" when a `port` option is given
// ("[v6]:port" for IPv6). includes are glob patterns of further files:
// `include PATTERN`, `confdir DIR...` (DIR/*.conf) and `sourcedir DIR...`
// (DIR/*.sources). Comments start with #, %, ; or !.
func ParseChronyConf(data []byte) (servers []string, includes []string, err error) {
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return nil, nil, errors.New("not a text file")
	}
	for i, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.ContainsAny(f[0][:1], "#%;!") {
			continue
		}
		switch strings.ToLower(f[0]) {
		case "server", "pool", "peer":
			if len(f) < 2 {
				return nil, nil, fmt.Errorf("line %d: %s without an address", i+1, f[0])
			}
			addr := f[1]
			for j := 2; j < len(f); j++ {
				if f[j] == "port" {
					if j+1 >= len(f) {
						return nil, nil, fmt.Errorf("line %d: port without a number", i+1)
					}
					p, err := strconv.ParseUint(f[j+1], 10, 16)
					if err != nil || p == 0 {
						return nil, nil, fmt.Errorf("line %d: invalid port %q", i+1, f[j+1])
					}
					addr = net.JoinHostPort(addr, f[j+1])
					break
				}
			}
			servers = append(servers, addr)
		case "include":
			if len(f) < 2 {
				return nil, nil, fmt.Errorf("line %d: include without a pattern", i+1)
			}
			includes = append(includes, f[1])
		case "confdir", "sourcedir":
			if len(f) < 2 {
				return nil, nil, fmt.Errorf("line %d: %s without a directory", i+1, f[0])
			}
			ext := "*.conf"
			if strings.EqualFold(f[0], "sourcedir") {
				ext = "*.sources"
			}
			for _, d := range f[1:] {
				includes = append(includes, path.Join(d, ext))
			}
		}
	}
	return servers, includes, nil
}

// parseNTPConf reads server and pool lines of ntpd's ntp.conf, skipping the
// 127.127.x.x reference-clock pseudo-addresses.
func parseNTPConf(data []byte) ([]string, error) {
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return nil, errors.New("not a text file")
	}
	var out []string
	for i, line := range strings.Split(string(data), "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		f := strings.Fields(line)
		if len(f) == 0 || (f[0] != "server" && f[0] != "pool" && f[0] != "peer") {
			continue
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("line %d: %s without an address", i+1, f[0])
		}
		a := f[1]
		if a == "-4" || a == "-6" {
			if len(f) < 3 {
				return nil, fmt.Errorf("line %d: %s without an address", i+1, f[0])
			}
			a = f[2]
		}
		if strings.HasPrefix(a, "127.127.") {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// isLoopback reports whether an NTP server address ("host", "host:port",
// "[v6]:port") is on this host: 127.0.0.0/8, ::1 or localhost.
func isLoopback(server string) bool {
	h := server
	if host, _, err := net.SplitHostPort(server); err == nil {
		h = host
	}
	h = strings.Trim(h, "[]")
	if strings.EqualFold(h, "localhost") || strings.HasSuffix(strings.ToLower(h), ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
