package format

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/preflight"
)

func renderHTML(t *testing.T, r *preflight.Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := HTML(&buf, r, Options{}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestHTMLEscapes(t *testing.T) {
	const evil = `<script>alert("x")</script>&<img src=x onerror=alert(1)>`
	r := &preflight.Report{
		Profile:  evil,
		Hostname: evil,
		Address:  evil,
		Root:     evil,
		Notes:    []string{evil},
		Results: []preflight.Result{{
			ID: "cpu." + evil, Title: evil, Status: preflight.Fail, Message: evil,
			Remediation: evil + "\nrun `" + evil + "`\n$ " + evil,
			Observed:    evil, Expected: evil, IgnoreNote: evil, Fix: evil,
		}},
	}
	out := renderHTML(t, r)
	for _, bad := range []string{"<script", "<img", `"x")`} {
		if strings.Contains(out, bad) {
			i := strings.Index(out, bad)
			t.Errorf("unescaped %q in the page: …%s…", bad, out[max(0, i-80):min(len(out), i+80)])
		}
	}
	if n := strings.Count(out, "&lt;script&gt;"); n < 10 {
		t.Errorf("the hostile text appears escaped %d times, want it everywhere it is shown", n)
	}
}

func TestHTMLSelfContained(t *testing.T) {
	out := renderHTML(t, sample())
	for _, re := range []string{`(?i)<script`, `(?i)<link`, `(?i)\bsrc=`, `(?i)href="?(https?:|//)`, `(?i)@import`, `(?i)url\(`, `(?i)<iframe`} {
		if m := regexp.MustCompile(re).FindString(out); m != "" {
			t.Errorf("page loads something external or runs script: %q", m)
		}
	}
	if !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.Contains(out, "@media print") {
		t.Error("not a complete, print-aware HTML document")
	}
}

func TestHTMLContent(t *testing.T) {
	out := renderHTML(t, sample())
	for _, want := range []string{
		"<h1>node-07.lab.example.com</h1>",
		"10.20.30.47", "vmmanager-kvm", "2025-03-14 09:26:53 CET", "143ms",
		`<span class="pill">Not ready</span>`,
		"<b>13</b> passed", "<b>4</b> warnings (1 ignored)", "<b>3</b> failed", "<b>2</b> skipped", "<b>1</b> error<",
		"waiver for memory.total expired on 2025-03-01",
		"<code>vmnode provision --only hosts</code>",
		"<code>dnf config-manager --set-disabled epel</code>",
		`<code class="cmd">$ reboot</code>`,
		"Ignored: waived in config",
		`PS1=&#34;\x1b[1;31m`, // the raw escape is shown quoted
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	// Needs attention lists failures and errors first, then warnings,
	// ignored last, and all of that before the full table.
	attention := out[strings.Index(out, `id="attention"`):strings.Index(out, `id="all"`)]
	order := regexp.MustCompile(`<article class="issue (\w+)">\s*<div class="top"><span class="badge \w+">\w+</span><span class="id">([^<]+)</span>`).FindAllStringSubmatch(attention, -1)
	var got []string
	for _, m := range order {
		got = append(got, m[1]+" "+m[2])
	}
	want := []string{
		"fail memory.total", "fail selinux.disabled", "error network.static-ip", "fail network.hosts-entry",
		"warn cpu.cores", "warn os.repositories", "warn shell.prompt", "warn time.ntp-offset",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("needs attention order:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The table lists every check exactly once, grouped by area in order.
	table := out[strings.Index(out, `id="all"`):]
	if n := strings.Count(table, `<tr class="check `); n != len(sample().Results) {
		t.Errorf("table has %d check rows, want %d", n, len(sample().Results))
	}
	areas := regexp.MustCompile(`<tr><th colspan="4">([^<]+)<`).FindAllStringSubmatch(table, -1)
	var gotAreas []string
	for _, m := range areas {
		gotAreas = append(gotAreas, m[1])
	}
	wantAreas := "CPU Memory Disk Operating system Packages SELinux Time Network Firewall Hardware Shell storage"
	if strings.Join(gotAreas, " ") != wantAreas {
		t.Errorf("areas %q, want %q", strings.Join(gotAreas, " "), wantAreas)
	}
}

func TestHTMLVerdict(t *testing.T) {
	cases := []struct {
		name    string
		results []preflight.Result
		want    string
	}{
		{"all pass", []preflight.Result{{ID: "cpu.arch", Status: preflight.Pass}, {ID: "hardware.motherboard", Status: preflight.Skip}}, `verdict pass"><span class="pill">Ready</span>`},
		{"warning", []preflight.Result{{ID: "cpu.arch", Status: preflight.Pass}, {ID: "cpu.cores", Status: preflight.Warn}}, `verdict warn"><span class="pill">Ready, with warnings</span>`},
		{"ignored failure", []preflight.Result{{ID: "cpu.cores", Status: preflight.Warn, Ignored: true}}, `verdict warn"><span class="pill">Ready, with warnings</span>`},
		{"error", []preflight.Result{{ID: "cpu.arch", Status: preflight.Error}}, `verdict fail"><span class="pill">Not ready</span><span class="detail">1 check must be fixed</span>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := renderHTML(t, &preflight.Report{Hostname: "h", Results: tc.results})
			if !strings.Contains(out, tc.want) {
				t.Errorf("page lacks %q", tc.want)
			}
			if tc.name == "all pass" && !strings.Contains(out, "Nothing blocks this host") {
				t.Error("a clean report does not say nothing needs fixing")
			}
		})
	}
}
