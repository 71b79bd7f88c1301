package cluster

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/format"
)

// consumer* read JUnit XML the way a CI system does: by counting elements.
type consumerSuites struct {
	Tests    int             `xml:"tests,attr"`
	Failures int             `xml:"failures,attr"`
	Skipped  int             `xml:"skipped,attr"`
	Suites   []consumerSuite `xml:"testsuite"`
}

type consumerSuite struct {
	Name       string `xml:"name,attr"`
	Tests      int    `xml:"tests,attr"`
	Failures   int    `xml:"failures,attr"`
	Skipped    int    `xml:"skipped,attr"`
	Hostname   string `xml:"hostname,attr"`
	Properties []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	} `xml:"properties>property"`
	Cases []struct {
		Classname string `xml:"classname,attr"`
		Name      string `xml:"name,attr"`
		Failure   *struct {
			Message string `xml:"message,attr"`
			Type    string `xml:"type,attr"`
			Body    string `xml:",chardata"`
		} `xml:"failure"`
		Skipped   *struct{} `xml:"skipped"`
		SystemOut string    `xml:"system-out"`
	} `xml:"testcase"`
}

func renderJUnit(t *testing.T, r *Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := JUnit(&buf, r, format.Options{}); err != nil {
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
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
	}
	if bytes.ContainsRune(out, 0x1b) {
		t.Error("a raw escape character in XML (XML 1.0 cannot hold one)")
	}
}

func TestJUnitSuites(t *testing.T) {
	var doc consumerSuites
	if err := xml.Unmarshal(renderJUnit(t, sample()), &doc); err != nil {
		t.Fatal(err)
	}
	var names []string
	tests, failures, skipped := 0, 0, 0
	for _, s := range doc.Suites {
		names = append(names, s.Name)
		f, sk := 0, 0
		for _, c := range s.Cases {
			if c.Failure != nil {
				f++
			}
			if c.Skipped != nil {
				sk++
			}
		}
		if s.Tests != len(s.Cases) || s.Failures != f || s.Skipped != sk {
			t.Errorf("suite %s: attributes tests=%d failures=%d skipped=%d, elements %d, %d, %d", s.Name, s.Tests, s.Failures, s.Skipped, len(s.Cases), f, sk)
		}
		tests, failures, skipped = tests+len(s.Cases), failures+f, skipped+sk
	}
	if doc.Tests != tests || doc.Failures != failures || doc.Skipped != skipped {
		t.Errorf("testsuites attributes %d/%d/%d, elements %d/%d/%d", doc.Tests, doc.Failures, doc.Skipped, tests, failures, skipped)
	}
	want := "node-1.lab.example.com node-2.lab.example.com node-3.lab.example.com node-4.lab.example.com cluster"
	if strings.Join(names, " ") != want {
		t.Fatalf("suites %q, want one per member then cluster: %q", strings.Join(names, " "), want)
	}

	node2 := doc.Suites[1]
	if c := node2.Cases[1]; c.Classname != "node-2.memory" || c.Name != "memory.total" || c.Failure == nil || c.Failure.Type != "fail" ||
		!strings.Contains(c.Failure.Body, "remediation: Install more RAM") {
		t.Errorf("node-2 memory.total: %+v", c)
	}
	silent := doc.Suites[3]
	if len(silent.Cases) != 1 || silent.Cases[0].Failure == nil || silent.Cases[0].Failure.Type != "error" ||
		!strings.Contains(silent.Cases[0].Failure.Message, "did not answer: no response") {
		t.Errorf("silent member suite: %+v", silent)
	}
	cluster := doc.Suites[4]
	if len(cluster.Cases) != len(IDs()) || cluster.Hostname != "node-1.lab.example.com" {
		t.Errorf("cluster suite: %d cases, hostname %q", len(cluster.Cases), cluster.Hostname)
	}
	for i, c := range cluster.Cases {
		if c.Classname != "cluster" || c.Name != IDs()[i] {
			t.Errorf("cluster case %d: %s %s", i, c.Classname, c.Name)
		}
	}
	ports := cluster.Cases[6]
	if ports.Failure == nil || !strings.Contains(ports.Failure.Body, "node-1 -> node-2:16514/tcp (libvirt TLS): filtered") {
		t.Errorf("cluster.ports-reachable: %+v", ports)
	}
}

func TestJUnitClassnames(t *testing.T) {
	r := NewReport("p", []Member{
		mem("10.0.0.1", withResults(res("cpu.arch", preflight.Pass))),
		mem("kvm.example.com", withResults(res("cpu.arch", preflight.Pass))),
	}, DefaultLimits())
	var doc consumerSuites
	if err := xml.Unmarshal(renderJUnit(t, r), &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Suites[0].Cases[0].Classname; got != "10_0_0_1.cpu" {
		t.Errorf("classname %q: a host's dots must not read as packages", got)
	}
	if got := doc.Suites[1].Cases[0].Classname; got != "kvm.cpu" {
		t.Errorf("classname %q, want the short name", got)
	}
}
