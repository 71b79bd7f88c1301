package systemd

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// Install is the [Install] section of a unit file: what enabling it creates.
type Install struct {
	WantedBy   []string // a link in TARGET.wants/
	RequiredBy []string // a link in TARGET.requires/
	Alias      []string // a link named ALIAS in /etc/systemd/system
	Also       []string // units enabled together with it (reported, not followed)
}

// Empty reports whether enabling the unit would create nothing: a static unit.
func (i Install) Empty() bool {
	return len(i.WantedBy) == 0 && len(i.RequiredBy) == 0 && len(i.Alias) == 0
}

// unitSuffixes are the unit types systemd knows.
var unitSuffixes = []string{".service", ".socket", ".target", ".timer", ".path", ".mount",
	".automount", ".swap", ".slice", ".scope", ".device"}

func validUnitName(name string) bool {
	if name == "" || strings.ContainsAny(name, "/ \t\\%") || len(name) > 255 {
		return false
	}
	for _, s := range unitSuffixes {
		if strings.HasSuffix(name, s) && len(name) > len(s) {
			return true
		}
	}
	return false
}

// parseInstall reads the [Install] section of a unit file as systemd does:
// comments start with # or ;, a trailing backslash continues a line, lists
// are space-separated and accumulate, and an empty assignment ("WantedBy=")
// clears what came before. Other sections are skipped. Specifiers (%i, %N)
// are not expanded and make the name invalid.
func parseInstall(b []byte) (Install, error) {
	var in Install
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	lineNo := 0
	var cont strings.Builder
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), "\r")
		if cont.Len() == 0 {
			t := strings.TrimSpace(line)
			if t == "" || t[0] == '#' || t[0] == ';' {
				continue
			}
		}
		if strings.HasSuffix(line, "\\") {
			cont.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cont.WriteString(line)
		line = strings.TrimSpace(cont.String())
		cont.Reset()
		if strings.HasPrefix(line, "[") {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return Install{}, fmt.Errorf("line %d: unterminated section header %q", lineNo, line)
			}
			section = line[1:end]
			continue
		}
		if section != "Install" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return Install{}, fmt.Errorf("line %d: [Install]: want KEY=VALUE, got %q", lineNo, line)
		}
		var list *[]string
		switch strings.TrimSpace(key) {
		case "WantedBy":
			list = &in.WantedBy
		case "RequiredBy":
			list = &in.RequiredBy
		case "Alias":
			list = &in.Alias
		case "Also":
			list = &in.Also
		default:
			continue // DefaultInstance, UpheldBy (newer systemd): not needed here
		}
		names := strings.Fields(value)
		if len(names) == 0 {
			*list = nil
			continue
		}
		for _, n := range names {
			if !validUnitName(n) {
				return Install{}, fmt.Errorf("line %d: [Install] %s: invalid unit name %q", lineNo, strings.TrimSpace(key), n)
			}
			if !slices.Contains(*list, n) {
				*list = append(*list, n)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return Install{}, err
	}
	return in, nil
}
