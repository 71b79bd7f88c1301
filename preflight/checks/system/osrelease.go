package system

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/profiles"
)

// OSReleasePaths are where os-release(5) lives, in the order it is looked for.
var OSReleasePaths = []string{"/etc/os-release", "/usr/lib/os-release"}

var osReleaseKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseOSRelease parses an os-release(5) file: KEY=VALUE lines, blank lines
// and # comments. A value is bare, or enclosed in double or single quotes;
// within double quotes (and in bare values) a backslash escapes $ " \ `
// and, as in the shell, other characters are kept with their backslash.
// Concatenated quoted strings are not supported, as the manual says.
func ParseOSRelease(data []byte) (map[string]string, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("os-release: not UTF-8 text")
	}
	out := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, raw, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("os-release line %d: %q is not KEY=VALUE", n, line)
		}
		if !osReleaseKey.MatchString(key) {
			return nil, fmt.Errorf("os-release line %d: invalid key %q", n, key)
		}
		val, err := unquoteOSRelease(raw)
		if err != nil {
			return nil, fmt.Errorf("os-release line %d: %s: %w", n, key, err)
		}
		out[key] = val
	}
	return out, nil
}

func unquoteOSRelease(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	switch q := raw[0]; q {
	case '\'':
		end := strings.IndexByte(raw[1:], '\'')
		if end < 0 {
			return "", errors.New("unterminated single quote")
		}
		if rest := raw[end+2:]; strings.TrimSpace(rest) != "" {
			return "", fmt.Errorf("unexpected %q after the closing quote", rest)
		}
		return raw[1 : end+1], nil
	case '"':
		var b strings.Builder
		for i := 1; i < len(raw); i++ {
			c := raw[i]
			switch {
			case c == '\\' && i+1 < len(raw):
				next := raw[i+1]
				if !strings.ContainsRune("$\"\\`", rune(next)) {
					b.WriteByte(c)
				}
				b.WriteByte(next)
				i++
			case c == '"':
				if rest := raw[i+1:]; strings.TrimSpace(rest) != "" {
					return "", fmt.Errorf("unexpected %q after the closing quote", rest)
				}
				return b.String(), nil
			default:
				b.WriteByte(c)
			}
		}
		return "", errors.New("unterminated double quote")
	default:
		var b strings.Builder
		for i := 0; i < len(raw); i++ {
			c := raw[i]
			switch {
			case c == '\\' && i+1 < len(raw):
				b.WriteByte(raw[i+1])
				i++
			case c == ' ' || c == '\t' || c == '"' || c == '\'' || c == ';' || c == '`' || c == '$' || c == '\\':
				return "", fmt.Errorf("bare value %q must be quoted", raw)
			default:
				b.WriteByte(c)
			}
		}
		return b.String(), nil
	}
}

// OSRelease is the release a host runs.
type OSRelease struct {
	ID, VersionID, PrettyName string
	IDLike                    []string
	Path                      string // the file it came from
}

func (r OSRelease) String() string {
	s := r.ID + " " + r.VersionID
	if r.PrettyName != "" {
		s += " (" + r.PrettyName + ")"
	}
	return s
}

// Family is "debian" or "rhel" (from ID and ID_LIKE), or "".
func (r OSRelease) Family() string {
	for _, id := range append([]string{r.ID}, r.IDLike...) {
		switch id {
		case "debian", "ubuntu":
			return "debian"
		case "rhel", "centos", "fedora", "almalinux", "rocky", "ol":
			return "rhel"
		}
	}
	return ""
}

// ReadOSRelease reads and parses the host's os-release.
func ReadOSRelease(h *host.Host) (OSRelease, error) {
	var firstErr error
	for _, p := range OSReleasePaths {
		data, err := h.ReadFile(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		kv, err := ParseOSRelease(data)
		if err != nil {
			return OSRelease{Path: p}, fmt.Errorf("%s: %w", p, err)
		}
		r := OSRelease{ID: kv["ID"], VersionID: kv["VERSION_ID"], PrettyName: kv["PRETTY_NAME"], IDLike: strings.Fields(kv["ID_LIKE"]), Path: p}
		if r.ID == "" {
			return r, fmt.Errorf("%s: no ID= line", p)
		}
		return r, nil
	}
	if firstErr != nil {
		return OSRelease{}, firstErr
	}
	return OSRelease{}, fmt.Errorf("neither %s exists", strings.Join(OSReleasePaths, " nor "))
}

func supportedList(p *profiles.Profile) string {
	var s []string
	for _, r := range p.OS.Supported {
		s = append(s, r.String())
	}
	if len(s) == 0 {
		return "any release"
	}
	return strings.Join(s, "; ")
}

// judgeOSRelease compares the release with the profile's lists.
func judgeOSRelease(p *profiles.Profile, r OSRelease) preflight.Result {
	supported := supportedList(p)
	observed := r.String()
	expected := "one of: " + supported
	for _, u := range p.OS.Unsupported {
		if u.Matches(r.ID, r.VersionID) {
			reason := u.Reason
			if reason == "" {
				reason = fmt.Sprintf("%s %s is not supported", r.ID, r.VersionID)
			}
			return preflight.Failf("%s: %s; supported: %s", observed, reason, supported).
				Saw(observed, expected).
				Remedy("reinstall the node with a supported release (%s)", supported)
		}
	}
	if len(p.OS.Supported) == 0 {
		return preflight.Passf("%s (the profile accepts any release)", observed).Saw(observed, "any release")
	}
	for _, s := range p.OS.Supported {
		if s.Matches(r.ID, r.VersionID) {
			return preflight.Passf("%s is supported", observed).Saw(observed, expected)
		}
	}
	return preflight.Failf("%s is not supported; supported: %s", observed, supported).
		Saw(observed, expected).
		Remedy("reinstall the node with a supported release (%s)", supported)
}

func checkOSRelease(p *profiles.Profile) preflight.Check {
	return preflight.Func{
		CheckID:    "os.release",
		CheckTitle: "Operating system release",
		Fn: func(_ context.Context, h *host.Host) preflight.Result {
			r, err := ReadOSRelease(h)
			if err != nil {
				return preflight.Errorf("cannot tell the OS release: %v", err).
					Saw("", "one of: "+supportedList(p)).
					Remedy("restore /etc/os-release (it belongs to the distribution's release package: base-files, almalinux-release, centos-release)")
			}
			return judgeOSRelease(p, r)
		},
	}
}
