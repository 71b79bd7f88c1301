package cluster

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/format"
)

func renderHTML(t *testing.T, r *Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := HTML(&buf, r, format.Options{}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestHTMLEscapes(t *testing.T) {
	const evil = `<script>alert("x")</script>&<img src=x onerror=alert(1)>`
	hostile := preflight.Result{
		ID: "cpu." + evil, Title: evil, Status: preflight.Fail, Message: evil,
		Remediation: evil + "\nrun `" + evil + "`\n$ " + evil,
		Observed:    evil, Expected: evil, IgnoreNote: evil, Fix: evil,
	}
	ms := []Member{
		mem(evil+".example.com", addr(evil), self(), family(evil, evil), vers("qemu", evil, evil, evil), withResults(hostile),
			ports(Port{From: 22, Proto: "tcp", Service: evil})),
		{Name: "b" + evil, Address: evil, Error: evil, Ports: []Port{{From: 22, Proto: "tcp", Service: evil}}},
		mem("c"+evil, withResults(hostile), ports(Port{From: 22, Proto: "tcp", Service: evil})),
	}
	r := NewReport(evil, ms, DefaultLimits())
	r.Cluster = append(r.Cluster, hostile)
	out := renderHTML(t, r)
	for _, bad := range []string{"<script", "<img", `"x")`} {
		if i := strings.Index(out, bad); i >= 0 {
			t.Errorf("unescaped %q in the page: …%s…", bad, out[max(0, i-80):min(len(out), i+80)])
		}
	}
	if n := strings.Count(out, "&lt;script&gt;"); n < 30 {
		t.Errorf("the hostile text appears escaped %d times, want it everywhere it is shown", n)
	}
}

func TestHTMLSelfContained(t *testing.T) {
	for _, r := range []*Report{sample(), clean(), empty()} {
		out := renderHTML(t, r)
		for _, re := range []string{`(?i)<script`, `(?i)<link`, `(?i)\bsrc=`, `(?i)href="?(https?:|//)`, `(?i)@import`, `(?i)url\(`, `(?i)<iframe`} {
			if m := regexp.MustCompile(re).FindString(out); m != "" {
				t.Errorf("page loads something external or runs script: %q", m)
			}
		}
		if !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.Contains(out, "@media print") || !strings.HasSuffix(out, "</html>\n") {
			t.Error("not a complete, print-aware HTML document")
		}
	}
}

func TestHTMLMatrix(t *testing.T) {
	r := sample()
	out := renderHTML(t, r)
	matrix := out[strings.Index(out, `<table class="matrix">`):strings.Index(out, `id="findings"`)]

	heads := regexp.MustCompile(`<th class="member"[^>]*><span class="name">([^<]+)</span>`).FindAllStringSubmatch(matrix, -1)
	var got []string
	for _, h := range heads {
		got = append(got, h[1])
	}
	if strings.Join(got, " ") != "node-1 node-2 node-3 node-4" {
		t.Errorf("matrix columns %v", got)
	}
	rows := regexp.MustCompile(`(?s)<tr class="(clean|issues)"><th class="check" scope="row"><span class="id">([^<]+)</span>.*?</tr>`).FindAllStringSubmatch(matrix, -1)
	mx := newMatrix(r)
	if len(rows) != len(mx.Rows) {
		t.Fatalf("%d matrix rows, want %d", len(rows), len(mx.Rows))
	}
	cellRE := regexp.MustCompile(`<td class="cell (\w+)">`)
	// "Only checks with findings" hides the clean rows: a silent member
	// does not make every row an issue.
	wantClass := map[string]string{
		"cpu.virtualization": "clean", "memory.total": "issues", "selinux.disabled": "clean", "time.ntp-offset": "issues",
		"network.hosts-entry": "issues", "firewall.ports": "issues", "storage.zfs-pool": "clean",
	}
	for _, row := range rows {
		cells := cellRE.FindAllStringSubmatch(row[0], -1)
		if len(cells) != len(mx.Columns) {
			t.Errorf("row %s has %d cells, want %d", row[2], len(cells), len(mx.Columns))
			continue
		}
		var classes []string
		for _, c := range cells {
			classes = append(classes, c[1])
		}
		if row[2] == "memory.total" && strings.Join(classes, " ") != "pass fail pass error" {
			t.Errorf("memory.total cells %v", classes)
		}
		if row[2] == "storage.zfs-pool" && strings.Join(classes, " ") != "skip skip none error" {
			t.Errorf("storage.zfs-pool cells %v", classes)
		}
		if want := wantClass[row[2]]; row[1] != want {
			t.Errorf("row %s class %s, want %s", row[2], row[1], want)
		}
	}
	if !strings.Contains(matrix, `<td class="cell error"><span title="node-4 did not answer: no response to the preflight query within 10s">no answer</span></td>`) {
		t.Error("a silent member's cell does not say it did not answer")
	}
	if !strings.Contains(matrix, `title="node-2: about 4 GB installed; the profile needs 8 GB">fail</a>`) {
		t.Error("a cell's tooltip lacks its message")
	}

	// The cluster checks follow, one row each, spanning the members.
	cluster := regexp.MustCompile(`<td class="result" colspan="4"><span class="badge (\w+)">`).FindAllStringSubmatch(matrix, -1)
	var statuses []string
	for _, c := range cluster {
		statuses = append(statuses, c[1])
	}
	var want []string
	for _, res := range r.Cluster {
		want = append(want, string(res.Status))
	}
	if strings.Join(statuses, " ") != strings.Join(want, " ") {
		t.Errorf("cluster rows %v, want %v", statuses, want)
	}

	// Every link in the page leads to a finding that exists.
	links := regexp.MustCompile(`href="#([^"]+)"`).FindAllStringSubmatch(out, -1)
	if len(links) < 8 {
		t.Errorf("only %d links from the matrix to the findings", len(links))
	}
	for _, l := range links {
		if !strings.Contains(out, `id="`+l[1]+`"`) {
			t.Errorf("link to #%s, which does not exist", l[1])
		}
	}
}

func TestHTMLContent(t *testing.T) {
	out := renderHTML(t, sample())
	for _, want := range []string{
		`<h1>Cluster of 4 members</h1>`,
		`<span class="pill">Not ready</span><span class="detail">5 findings must be fixed</span>`,
		`<dt>Answered</dt><dd>3 of 4</dd>`,
		`<dt>Exit code</dt><dd>1</dd>`,
		"2025-03-14 09:26:53 CET",
		"<b>14</b> passed", "<b>5</b> warnings (1 ignored)", "<b>4</b> failed",
		`Findings <span class="count">(5 to fix, 5 to review)</span>`,
		`<span class="badge fail">fail</span><span class="host">node-2</span></div>`,
		`<span class="badge skip">skip</span><span class="host">node-1</span><span class="host">node-2</span></div>`,
		`<code>vmnode provision --only time</code>`,
		`<code>chronyc makestep</code>`,
		`Ignored: waived in config: BGP via bird`,
		`\x1b[31mbird`,
		`did not answer: no response to the preflight query within 10s`,
		`<td class="mono">-250ms ±2ms</td>`,
		`<td>1 failed · 2 warnings</td>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	good := renderHTML(t, clean())
	for _, want := range []string{`<span class="pill">Ready</span>`, `<dt>Exit code</dt><dd>0</dd>`, "all 7 checks passed or skipped"} {
		if !strings.Contains(good, want) {
			t.Errorf("clean page lacks %q", want)
		}
	}
}
