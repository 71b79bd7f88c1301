package format

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/preflight"
)

// consumer reads JUnit XML the way a CI system does: it counts elements.
type consumerSuites struct {
	XMLName  xml.Name        `xml:"testsuites"`
	Tests    int             `xml:"tests,attr"`
	Failures int             `xml:"failures,attr"`
	Errors   int             `xml:"errors,attr"`
	Skipped  int             `xml:"skipped,attr"`
	Suites   []consumerSuite `xml:"testsuite"`
}

type consumerSuite struct {
	Name      string         `xml:"name,attr"`
	Tests     int            `xml:"tests,attr"`
	Failures  int            `xml:"failures,attr"`
	Errors    int            `xml:"errors,attr"`
	Skipped   int            `xml:"skipped,attr"`
	Timestamp string         `xml:"timestamp,attr"`
	Hostname  string         `xml:"hostname,attr"`
	Cases     []consumerCase `xml:"testcase"`
	SystemOut string         `xml:"system-out"`
}

type consumerCase struct {
	Classname string `xml:"classname,attr"`
	Name      string `xml:"name,attr"`
	Time      string `xml:"time,attr"`
	Failure   *struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Body    string `xml:",chardata"`
	} `xml:"failure"`
	Error   *struct{} `xml:"error"`
	Skipped *struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
	SystemOut string `xml:"system-out"`
}

func renderJUnit(t *testing.T, r *preflight.Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := JUnit(&buf, r, Options{}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestJUnitWellFormed(t *testing.T) {
	out := renderJUnit(t, sample())
	if !bytes.HasPrefix(out, []byte(xml.Header)) {
		t.Errorf("no XML declaration: %.60q", out)
	}
	dec := xml.NewDecoder(bytes.NewReader(out))
	dec.Strict = true
	depth, roots := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if depth != 0 || roots != 1 {
		t.Errorf("depth %d at end, %d root elements", depth, roots)
	}
	// XML 1.0 cannot carry the raw escape from shell.prompt; it is quoted.
	if bytes.IndexByte(out, 0x1b) >= 0 || !bytes.Contains(out, []byte(`\x1b[1;31m`)) {
		t.Error("the raw escape character is not quoted in the XML")
	}
}

func TestJUnitCounts(t *testing.T) {
	r := sample()
	var doc consumerSuites
	if err := xml.Unmarshal(renderJUnit(t, r), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d testsuites, want 1", len(doc.Suites))
	}
	s := doc.Suites[0]
	if s.Name != "vmnode preflight (vmmanager-kvm)" || s.Hostname != "node-07.lab.example.com" || s.Timestamp != "2025-03-14T09:26:53+01:00" {
		t.Errorf("suite name %q hostname %q timestamp %q", s.Name, s.Hostname, s.Timestamp)
	}

	var failures, errorElems, skipped int
	byID := map[string]consumerCase{}
	for _, c := range s.Cases {
		byID[c.Name] = c
		if c.Failure != nil {
			failures++
		}
		if c.Error != nil {
			errorElems++
		}
		if c.Skipped != nil {
			skipped++
		}
	}
	sum := r.Summary()
	// What a consumer counts from the elements must match the report...
	if len(s.Cases) != len(r.Results) || failures != sum[preflight.Fail]+sum[preflight.Error] || skipped != sum[preflight.Skip] || errorElems != 0 {
		t.Errorf("elements: %d cases, %d failures, %d errors, %d skipped; report: %v", len(s.Cases), failures, errorElems, skipped, sum)
	}
	// ...and the attributes, on the suite and on the root.
	for _, got := range [][4]int{{s.Tests, s.Failures, s.Errors, s.Skipped}, {doc.Tests, doc.Failures, doc.Errors, doc.Skipped}} {
		if want := [4]int{len(s.Cases), failures, errorElems, skipped}; got != want {
			t.Errorf("attributes tests/failures/errors/skipped = %v, elements say %v", got, want)
		}
	}

	hosts := byID["network.hosts-entry"]
	if hosts.Classname != "network" || hosts.Failure == nil || hosts.Failure.Type != "fail" {
		t.Fatalf("network.hosts-entry: %+v", hosts)
	}
	for _, want := range []string{"observed: 127.0.1.1", "expected: 10.20.30.47", "remediation: Add the line", "fix: vmnode provision --only hosts"} {
		if !strings.Contains(hosts.Failure.Body, want) {
			t.Errorf("hosts-entry failure body lacks %q:\n%s", want, hosts.Failure.Body)
		}
	}
	if c := byID["network.static-ip"]; c.Failure == nil || c.Failure.Type != "error" {
		t.Errorf("an error result is not a failure of type error: %+v", c)
	}
	if c := byID["hardware.motherboard"]; c.Skipped == nil || !strings.Contains(c.Skipped.Message, "board unknown") {
		t.Errorf("a skip is not <skipped> with its reason: %+v", c)
	}
	if c := byID["time.ntp-offset"]; c.Failure != nil || !strings.Contains(c.SystemOut, "ignored: waived in config") {
		t.Errorf("an ignored failure should pass with a note: %+v", c)
	}
	if c := byID["cpu.cores"]; c.Failure != nil || c.Skipped != nil || !strings.Contains(c.SystemOut, "warn: 6 logical CPUs") {
		t.Errorf("a warning should pass with a note: %+v", c)
	}
	if c := byID["cpu.virtualization"]; c.Failure != nil || c.Skipped != nil || c.SystemOut != "" || c.Time != "0.000" {
		t.Errorf("a pass should be bare: %+v", c)
	}
	if c := byID["time.ntp-offset"]; c.Time != "0.041" {
		t.Errorf("time.ntp-offset time %q, want 0.041", c.Time)
	}
	if !strings.Contains(s.SystemOut, "note: waiver for memory.total expired") {
		t.Errorf("suite system-out lacks the run note: %q", s.SystemOut)
	}
}
