package netconf

import (
	"fmt"
	"strings"
)

// Section is one [section] of an INI-style file (NetworkManager keyfiles and
// NetworkManager.conf, systemd .network and resolved.conf).
type Section struct {
	Name string
	Keys []KV
}

// KV is one key=value line; Line is its 1-based line number.
type KV struct {
	Key, Value string
	Line       int
}

// Get returns the last value of key in the section (later lines override).
func (s Section) Get(key string) (string, bool) {
	v, ok := "", false
	for _, kv := range s.Keys {
		if kv.Key == key {
			v, ok = kv.Value, true
		}
	}
	return v, ok
}

// ParseINI parses the INI dialect shared by GKeyFile and systemd: [section]
// headers, key=value lines, '#' and ';' comments, a trailing backslash
// continues a line. A line that is none of these, or a key before the first
// section, is an error naming the line.
func ParseINI(data []byte) ([]Section, error) {
	if err := checkText(data); err != nil {
		return nil, err
	}
	var out []Section
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := strings.TrimSpace(lines[i])
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + strings.TrimSpace(lines[i])
		}
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				return nil, fmt.Errorf("line %d: malformed section header %q", n, clip(line))
			}
			out = append(out, Section{Name: strings.TrimSpace(line[1 : len(line)-1])})
		default:
			k, v, ok := strings.Cut(line, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return nil, fmt.Errorf("line %d: want key=value, got %q", n, clip(line))
			}
			if len(out) == 0 {
				return nil, fmt.Errorf("line %d: key %q outside a [section]", n, clip(k))
			}
			s := &out[len(out)-1]
			s.Keys = append(s.Keys, KV{Key: k, Value: strings.TrimSpace(v), Line: n})
		}
	}
	return out, nil
}

// clip shortens garbage quoted in an error message.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
