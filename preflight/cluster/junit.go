package cluster

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/format"
)

// The JUnit XML schema: the same shape as the single-host junit format.
type (
	junitSuites   = format.JUnitSuites
	junitSuite    = format.JUnitSuite
	junitProperty = format.JUnitProperty
	junitCase     = format.JUnitCase
	junitMessage  = format.JUnitMessage
)

// JUnit renders the report as JUnit XML: one testsuite per member (named
// after it, one testcase per check, classname "<host>.<area>" so that CI
// systems that group by classname keep the hosts apart), then a "cluster"
// suite with the cluster checks. Results map as in the single-host format:
// fail and error become a <failure> of that type, skip <skipped>, a warning
// passes with a <system-out> note. A member that did not answer has one
// testcase, "report", failed with type error. The failures attributes count
// every <failure>; errors is always 0.
func JUnit(w io.Writer, r *Report, _ format.Options) error {
	mx := newMatrix(r)
	doc := junitSuites{Name: "vmnode cluster preflight", Time: seconds(r.Duration)}
	stamp := ""
	if !r.StartedAt.IsZero() {
		stamp = r.StartedAt.Format(time.RFC3339)
	}
	for _, c := range mx.Columns {
		doc.Suites = append(doc.Suites, memberSuite(r, c, stamp))
	}
	cs := junitSuite{
		Name:       "cluster",
		Time:       "0.000",
		Timestamp:  stamp,
		Hostname:   collector(r),
		Properties: []junitProperty{{Name: "profile", Value: format.Printable(r.Profile)}, {Name: "members", Value: strconv.Itoa(len(r.Members))}, {Name: "answered", Value: strconv.Itoa(r.Answered())}},
	}
	for _, res := range r.Cluster {
		cs.Add(junitCaseFor("cluster", format.PrintableResult(res)))
	}
	doc.Suites = append(doc.Suites, cs)
	for _, s := range doc.Suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Skipped += s.Skipped
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write cluster junit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write cluster junit report: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write cluster junit report: %w", err)
	}
	return nil
}

// collector is the name of the member that collected the report.
func collector(r *Report) string {
	if i := slices.IndexFunc(r.Members, func(m Member) bool { return m.Self }); i >= 0 {
		return format.Printable(r.Members[i].Name)
	}
	return ""
}

func memberSuite(r *Report, c column, stamp string) junitSuite {
	m := c.Member
	s := junitSuite{
		Name:      format.Printable(m.Name),
		Time:      "0.000",
		Timestamp: stamp,
		Hostname:  format.Printable(m.Name),
		Properties: []junitProperty{
			{Name: "profile", Value: format.Printable(r.Profile)},
			{Name: "address", Value: format.Printable(m.Address)},
		},
	}
	prop := func(k, v string) {
		s.Properties = append(s.Properties, junitProperty{Name: k, Value: format.Printable(v)})
	}
	if m.Self {
		prop("self", "true")
	}
	// Dots separate packages in classnames: keep a host's own dots out.
	class := strings.ReplaceAll(format.Printable(c.Short), ".", "_")
	if !m.Answered() {
		why := orDash(m.Error)
		s.Add(junitCase{Classname: class, Name: "report", Time: "0.000", Failure: &junitMessage{
			Message: "did not answer: " + format.Printable(why),
			Type:    string(preflight.Error),
			Body:    format.Printable("error: " + m.Name + " did not answer: " + why + "\n"),
		}})
		return s
	}
	prop("os", m.OS.String())
	for _, comp := range components(r.Members) {
		if v := m.Versions[comp]; v != "" {
			prop(comp, v)
		}
	}
	if !m.Self {
		prop("clock", clockText(m))
	}
	s.Time = seconds(m.Report.Duration)
	if !m.Report.StartedAt.IsZero() {
		s.Timestamp = m.Report.StartedAt.Format(time.RFC3339)
	}
	for _, res := range m.Report.Results {
		res = format.PrintableResult(res)
		s.Add(junitCaseFor(class+"."+area(res.ID), res))
	}
	return s
}

func junitCaseFor(class string, res preflight.Result) junitCase {
	tc := junitCase{Classname: class, Name: res.ID, Time: seconds(res.Duration)}
	switch res.Status {
	case preflight.Fail, preflight.Error:
		tc.Failure = &junitMessage{Message: res.Message, Type: string(res.Status), Body: format.DetailText(res)}
	case preflight.Skip:
		tc.Skipped = &junitMessage{Message: res.Message}
	case preflight.Warn:
		tc.SystemOut = format.DetailText(res)
	}
	return tc
}

// area is the part of a check ID before the first dot.
func area(id string) string {
	a, _, _ := strings.Cut(id, ".")
	if a == "" {
		return "other"
	}
	return a
}

// seconds formats d as JUnit's time attribute: seconds, millisecond precision.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}
