package format

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/vmnode/vmnode/preflight"
)

// JUnitSuites is the JUnit XML schema as CI systems (Jenkins, GitLab, GitHub
// test reporters) read it; the cluster matrix renders the same shape.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one <testsuite>.
type JUnitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Hostname   string          `xml:"hostname,attr"`
	Properties []JUnitProperty `xml:"properties>property"`
	Cases      []JUnitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

// Add appends tc to the suite and counts it: a <failure> (fail or error) as
// a failure, <skipped> as skipped.
func (s *JUnitSuite) Add(tc JUnitCase) {
	s.Tests++
	switch {
	case tc.Failure != nil:
		s.Failures++
	case tc.Skipped != nil:
		s.Skipped++
	}
	s.Cases = append(s.Cases, tc)
}

// JUnitProperty is one <property> of a suite.
type JUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// JUnitCase is one <testcase>.
type JUnitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *JUnitMessage `xml:"skipped"`
	Failure   *JUnitMessage `xml:"failure"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// JUnitMessage is a <failure> or <skipped> element.
type JUnitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

// JUnit renders the report as JUnit XML: one testsuite, one testcase per
// check (classname is the area, name the check ID). fail and error become a
// <failure> (type "fail" or "error") whose body holds the message,
// observed/expected and remediation; skip becomes <skipped>; a warning
// passes with a <system-out> note. The failures attribute counts every
// <failure> element, so a consumer counting elements and one reading the
// attributes agree; errors is therefore always 0.
func JUnit(w io.Writer, r *preflight.Report, _ Options) error {
	r = printableReport(r)
	suite := JUnitSuite{
		Name:      fmt.Sprintf("vmnode preflight (%s)", r.Profile),
		Time:      seconds(r.Duration),
		Timestamp: r.StartedAt.Format(time.RFC3339),
		Hostname:  r.Hostname,
		Properties: []JUnitProperty{
			{"profile", r.Profile},
			{"address", r.Address},
		},
	}
	if r.Root != "" && r.Root != "/" {
		suite.Properties = append(suite.Properties, JUnitProperty{"root", r.Root})
	}
	if r.Offline {
		suite.Properties = append(suite.Properties, JUnitProperty{"offline", "true"})
	}
	for _, res := range r.Results {
		tc := JUnitCase{Classname: area(res.ID), Name: res.ID, Time: seconds(res.Duration)}
		switch res.Status {
		case preflight.Fail, preflight.Error:
			tc.Failure = &JUnitMessage{Message: res.Message, Type: string(res.Status), Body: junitBody(res)}
			suite.Failures++
		case preflight.Skip:
			tc.Skipped = &JUnitMessage{Message: res.Message}
			suite.Skipped++
		case preflight.Warn:
			tc.SystemOut = junitBody(res)
		}
		suite.Tests++
		suite.Cases = append(suite.Cases, tc)
	}
	if len(r.Notes) > 0 {
		suite.SystemOut = "note: " + strings.Join(r.Notes, "\nnote: ") + "\n"
	}
	doc := JUnitSuites{
		Name:     "vmnode preflight",
		Tests:    suite.Tests,
		Failures: suite.Failures,
		Skipped:  suite.Skipped,
		Time:     suite.Time,
		Suites:   []JUnitSuite{suite},
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	return nil
}

// junitBody is the text of a failure or warning: what a person reading the
// CI log needs to act on it.
func junitBody(res preflight.Result) string {
	var b strings.Builder
	line := func(label, v string) {
		if strings.TrimSpace(v) != "" {
			fmt.Fprintf(&b, "%s%s\n", label, strings.TrimRight(v, "\n"))
		}
	}
	line(string(res.Status)+": ", res.Message)
	if res.Title != "" {
		line("check: ", res.Title)
	}
	if res.Ignored {
		line("ignored: ", res.IgnoreNote)
	} else {
		line("", res.IgnoreNote)
	}
	line("observed: ", res.Observed)
	line("expected: ", res.Expected)
	line("remediation: ", res.Remediation)
	if res.Fix != "" {
		line("fix: ", fixCommand(res.Fix))
	}
	return b.String()
}

// seconds formats d as JUnit's time attribute: seconds, millisecond precision.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}
