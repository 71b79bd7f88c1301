package format

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/vmnode/vmnode/preflight"
)

func renderText(t *testing.T, r *preflight.Report, opt Options) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Text(&buf, r, opt); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestTextColor(t *testing.T) {
	plain := renderText(t, sample(), Options{})
	if i := strings.IndexByte(plain, 0x1b); i >= 0 {
		t.Errorf("text without colour has an escape byte at %d: %q", i, plain[max(0, i-30):min(len(plain), i+30)])
	}
	// The raw escape in shell.prompt's observed value is shown quoted.
	if !strings.Contains(plain, `PS1="\x1b[1;31m`) {
		t.Errorf("the escape read from the host is not shown quoted:\n%s", plain)
	}

	color := renderText(t, sample(), Options{Color: true})
	for _, want := range []string{
		ansiGreen + "[PASS]" + ansiReset,
		ansiYellow + "[WARN]" + ansiReset,
		ansiRed + "[FAIL]" + ansiReset,
		ansiGrey + "[SKIP]" + ansiReset,
		ansiMagenta + "[ERR ]" + ansiReset,
		ansiRed + "3 failed" + ansiReset,
	} {
		if !strings.Contains(color, want) {
			t.Errorf("coloured text lacks %q", want)
		}
	}
	if strings.Count(color, "\x1b[1;31m") != 0 {
		t.Error("coloured text passes the host's raw escape sequence through")
	}
	stripped := stripANSI(color)
	if stripped != plain {
		t.Errorf("colour changes more than colour:\n%s", firstDiff(stripped, plain))
	}
}

func stripANSI(s string) string {
	for _, c := range []string{ansiReset, ansiBold, ansiRed, ansiGreen, ansiYellow, ansiMagenta, ansiGrey} {
		s = strings.ReplaceAll(s, c, "")
	}
	return s
}

func TestTextDetails(t *testing.T) {
	out := renderText(t, sample(), Options{})
	lines := strings.Split(out, "\n")
	// after returns the lines between the result line of id and the next result.
	after := func(id string) string {
		for i, l := range lines {
			if strings.Contains(l, "] "+id+" ") {
				var b strings.Builder
				for _, d := range lines[i+1:] {
					if !strings.HasPrefix(d, detailIndent) {
						break
					}
					b.WriteString(strings.TrimSpace(d) + "\n")
				}
				return b.String()
			}
		}
		t.Fatalf("no line for %s in:\n%s", id, out)
		return ""
	}
	cases := []struct {
		id, want string
	}{
		{"network.hosts-entry", "remediation: Add the line `10.20.30.47 node-07.lab.example.com node-07` to /etc/hosts.\nfix:         vmnode provision --only hosts\n"},
		{"time.ntp-offset", "(ignored: waived in config: lab clock drifts, tracked in CHG-1234 (until 2025-04-30))\n"},
		{"memory.total", "(waiver expired on 2025-03-01)\n"},
		{"network.static-ip", "observed:    line 7: IPADDR=\"10.20.30.47\nline 8: PREFIX=24\n"},
		{"cpu.frequency", ""}, // a pass shows no details even with observed/expected
		{"hardware.motherboard", ""},
	}
	for _, tc := range cases {
		got := after(tc.id)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("details under %s:\n%s\nwant them to contain:\n%s", tc.id, got, tc.want)
		}
	}

	// Columns: every message starts in the same column.
	col := -1
	for _, l := range lines {
		if !strings.HasPrefix(l, "  [") {
			continue
		}
		rest := l[len(detailIndent):] // after "  [TAG] "
		id, msg, _ := strings.Cut(rest, " ")
		c := len(detailIndent) + len(id) + 1 + len(msg) - len(strings.TrimLeft(msg, " "))
		if col == -1 {
			col = c
		} else if c != col {
			t.Errorf("message column %d, want %d: %q", c, col, l)
		}
	}

	if !strings.Contains(out, "\n13 passed, 4 warnings (1 ignored), 3 failed, 2 skipped, 1 error in 143ms\n") {
		t.Errorf("summary line missing or wrong:\n%s", out)
	}
	if !strings.HasSuffix(out, "note: waiver for memory.total expired on 2025-03-01 and no longer applies\n") {
		t.Errorf("report does not end with its note:\n%s", out)
	}
}

func TestTextHeader(t *testing.T) {
	live := renderText(t, &preflight.Report{Profile: "vmnode", Hostname: "h", Root: "/", Duration: time.Second}, Options{})
	if strings.Contains(live, "root") || strings.Contains(live, "offline") {
		t.Errorf("live online report mentions root or offline:\n%s", live)
	}
	if !strings.Contains(live, "  address  -\n") {
		t.Errorf("unknown address not shown as -:\n%s", live)
	}
	if !strings.Contains(live, "no checks ran") || !strings.Contains(live, "0 passed, 0 warnings, 0 failed, 0 skipped, 0 errors in 1s") {
		t.Errorf("empty report:\n%s", live)
	}
	captured := renderText(t, &preflight.Report{Profile: "vmnode", Root: "/mnt/image", Offline: true}, Options{})
	for _, want := range []string{"  root     /mnt/image\n", "  mode     offline"} {
		if !strings.Contains(captured, want) {
			t.Errorf("captured offline report lacks %q:\n%s", want, captured)
		}
	}
}
