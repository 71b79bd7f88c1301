package cluster

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/format"
)

func renderText(t *testing.T, r *Report, opt format.Options) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Text(&buf, r, opt); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func stripANSI(s string) string {
	for _, c := range []string{ansiReset, ansiBold, ansiRed, ansiGreen, ansiYellow, ansiMagenta, ansiGrey} {
		s = strings.ReplaceAll(s, c, "")
	}
	return s
}

func TestTextColor(t *testing.T) {
	plain := renderText(t, sample(), format.Options{})
	if i := strings.IndexByte(plain, 0x1b); i >= 0 {
		t.Errorf("text without colour has an escape byte at %d: %q", i, plain[max(0, i-30):min(len(plain), i+30)])
	}
	if !strings.Contains(plain, `held by \x1b[31mbird\x1b[0m`) {
		t.Error("the escape a member reported is not shown quoted")
	}
	color := renderText(t, sample(), format.Options{Color: true})
	for _, want := range []string{
		ansiGreen + "[PASS]" + ansiReset, ansiYellow + "[WARN]" + ansiReset, ansiRed + "[FAIL]" + ansiReset,
		ansiGrey + "[SKIP]" + ansiReset, ansiMagenta + "[ERR ]" + ansiReset,
		ansiRed + "3 of 4 members answered" + ansiReset,
		ansiRed + "exit 1: not ready",
	} {
		if !strings.Contains(color, want) {
			t.Errorf("coloured text lacks %q", want)
		}
	}
	if strings.Contains(color, "\x1b[31mbird") {
		t.Error("coloured text passes a member's raw escape sequence through")
	}
	if stripped := stripANSI(color); stripped != plain {
		t.Errorf("colour changes more than colour:\n%s", firstDiff(stripped, plain))
	}
}

// matrixLines returns the matrix's rows: the header and one line per check.
func matrixLines(t *testing.T, out string) []string {
	t.Helper()
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "  check ") {
			var rows []string
			for _, r := range lines[i:] {
				if r == "" || strings.HasPrefix(r, "  - ") { // the legend
					return rows
				}
				rows = append(rows, r)
			}
		}
	}
	t.Fatalf("no matrix in:\n%s", out)
	return nil
}

func TestTextMatrix(t *testing.T) {
	out := renderText(t, sample(), format.Options{})
	rows := matrixLines(t, out)
	if got := strings.Fields(rows[0]); strings.Join(got, " ") != "check node-1 node-2 node-3 node-4" {
		t.Errorf("matrix header %q: want short member names in name order", rows[0])
	}
	want := map[string]string{
		"memory.total":     "[PASS] [FAIL] [PASS] [ERR ]",
		"selinux.disabled": "[PASS] [PASS] [SKIP] [ERR ]",
		"storage.zfs-pool": "[SKIP] [SKIP] - [ERR ]",
		"time.ntp-offset":  "[PASS] [WARN] [PASS] [ERR ]",
	}
	// Every cell starts in its member's column.
	cols := regexp.MustCompile(`node-\d`).FindAllStringIndex(rows[0], -1)
	for _, r := range rows[1:] {
		f := strings.Fields(r)
		if w, ok := want[f[0]]; ok {
			if got := strings.Join(f[1:], " "); got != w {
				t.Errorf("%s cells %q, want %q", f[0], got, w)
			}
			delete(want, f[0])
		}
		for _, c := range cols {
			if c[0] >= len(r) || r[c[0]] != '[' && r[c[0]+2] != '-' {
				t.Errorf("row %q: no cell at column %d", r, c[0])
			}
		}
	}
	for id := range want {
		t.Errorf("no matrix row for %s", id)
	}
	if !strings.Contains(out, "  - the member did not run the check; error: node-4 did not answer\n") {
		t.Error("no legend under the matrix")
	}
	for _, id := range IDs() {
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(id) + ` +\[(PASS|WARN|FAIL|SKIP|ERR )\]  \S`).MatchString(out) {
			t.Errorf("no cluster row for %s", id)
		}
	}
}

func TestTextFindings(t *testing.T) {
	out := renderText(t, sample(), format.Options{})
	_, findings, ok := strings.Cut(out, "\nfindings\n")
	if !ok {
		t.Fatalf("no findings section:\n%s", out)
	}
	for _, want := range []string{
		"  memory.total  Installed memory\n  [FAIL] node-2: about 4 GB installed; the profile needs 8 GB\n         observed:    MemTotal: 3931488 kB",
		"  [SKIP] node-1, node-2: the profile does not use ZFS storage\n",
		"         (ignored: waived in config: BGP via bird)\n",
		"         fix:         vmnode provision --only time\n",
		"  cluster.os-family-homogeneous  One OS family\n  [FAIL] members mix OS families",
		"         observed:    rhel: node-1 (almalinux 8.9), node-2 (almalinux 8.9)\n                      debian: node-3 (ubuntu 22.04)\n",
	} {
		if !strings.Contains(findings, want) {
			t.Errorf("findings lack:\n%s", want)
		}
	}
	for _, notThere := range []string{"cpu.virtualization", "cluster.hostname-unique", "node-4:"} {
		if strings.Contains(findings, notThere) {
			t.Errorf("findings mention %q: passes and silent members have no findings", notThere)
		}
	}
	if !strings.HasSuffix(out, "\n3 of 4 members answered; 14 passed, 5 warnings (1 ignored), 4 failed, 3 skipped, 1 error in 2.31s\nexit 1: not ready: 5 findings must be fixed\n") {
		t.Errorf("summary or exit line wrong:\n%s", out[strings.LastIndex(out[:len(out)-60], "\n"):])
	}
}

func TestTextMembers(t *testing.T) {
	out := renderText(t, sample(), format.Options{})
	for _, want := range []string{
		"  members  4, 3 answered\n",
		"  node-1.lab.example.com*  10.20.30.41  almalinux 8.9  0.4.0   9.0.0              8.2.0                   reference\n",
		"+1.8s ±4ms\n",
		"-250ms ±2ms\n",
		"  node-4.lab.example.com   10.20.30.44  did not answer: no response to the preflight query within 10s\n",
		"  * collected the report; clocks are relative to it\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("members table lacks %q", want)
		}
	}
}

func TestTextExitLine(t *testing.T) {
	cases := []struct {
		name string
		r    *Report
		want string
	}{
		{"clean", clean(), "exit 0: ready: every member meets the profile"},
		{"warnings", &Report{Members: []Member{mem("a", withResults(res("cpu.cores", preflight.Warn)))}}, "exit 0: ready, with warnings: 1 warning to review"},
		{"failed", sample(), "exit 1: not ready: 5 findings must be fixed"},
		{"only a silent member, its check ignored", &Report{Members: []Member{silent("a", "down")}}, "exit 1: not ready: 1 member did not answer"},
	}
	for _, tc := range cases {
		if out := renderText(t, tc.r, format.Options{}); !strings.Contains(out, "\n"+tc.want) {
			t.Errorf("%s: no %q in:\n%s", tc.name, tc.want, out)
		}
	}
}

func TestTextHostileNames(t *testing.T) {
	ms := []Member{
		mem("evil\x1b[2J.example.com", addr("10.0.0.1\x1b[0m"), self(), withResults(preflight.Result{ID: "cpu.\x1b[1m", Status: "b\x1bad", Message: "m\u202e"})),
		silent("quiet\r", "gone\x07"),
	}
	out := renderText(t, NewReport("p\x1b", ms, DefaultLimits()), format.Options{Color: true})
	for _, bad := range []string{"\x1b[2J", "\x1b[1m.", "\u202e", "\r", "\x07", "\x1bad"} {
		if strings.Contains(out, bad) {
			t.Errorf("raw %q reaches the terminal", bad)
		}
	}
}
