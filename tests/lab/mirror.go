package lab

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Mirror is the Debian mirror this machine's apt uses for suite, read from
// dir/sources.list.d/*.sources (deb822) and dir/sources.list (one-line
// format), so the lab never names a host of its own.
func Mirror(dir, suite string) (string, error) {
	matches, _ := filepath.Glob(filepath.Join(dir, "sources.list.d", "*.sources"))
	for _, f := range matches {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if uri := mirrorDeb822(b, suite); uri != "" {
			return uri, nil
		}
	}
	lists, _ := filepath.Glob(filepath.Join(dir, "sources.list.d", "*.list"))
	for _, f := range append([]string{filepath.Join(dir, "sources.list")}, lists...) {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if uri := mirrorOneLine(b, suite); uri != "" {
			return uri, nil
		}
	}
	return "", fmt.Errorf("no apt source for suite %s in %s/sources.list.d/*.sources or %s/sources.list", suite, dir, dir)
}

// mirrorDeb822 returns the first URI of a "Types: deb" stanza that lists suite.
func mirrorDeb822(b []byte, suite string) string {
	for _, stanza := range bytes.Split(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n\n")) {
		fields := map[string][]string{}
		var last string
		sc := bufio.NewScanner(bytes.NewReader(stanza))
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(strings.TrimSpace(line), "#") || strings.TrimSpace(line) == "":
			case line[0] == ' ' || line[0] == '\t': // continuation
				if last != "" {
					fields[last] = append(fields[last], strings.Fields(line)...)
				}
			default:
				k, v, ok := strings.Cut(line, ":")
				if !ok {
					continue
				}
				last = strings.ToLower(strings.TrimSpace(k))
				fields[last] = append(fields[last], strings.Fields(v)...)
			}
		}
		if en := fields["enabled"]; len(en) > 0 && strings.EqualFold(en[0], "no") {
			continue
		}
		if slices.Contains(fields["types"], "deb") && slices.Contains(fields["suites"], suite) && len(fields["uris"]) > 0 {
			return fields["uris"][0]
		}
	}
	return ""
}

// mirrorOneLine returns the URI of the first "deb [opts] URI SUITE ..." line.
func mirrorOneLine(b []byte, suite string) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if strings.HasPrefix(f[0], "[") { // options: [arch=amd64 signed-by=...]
			for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
				f = f[1:]
			}
			if len(f) > 0 {
				f = f[1:]
			}
		}
		if len(f) >= 2 && f[1] == suite {
			return f[0]
		}
	}
	return ""
}
