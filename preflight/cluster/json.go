package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/format"
)

// jsonReport is the cluster JSON schema. Its field names are a contract with
// automation: add fields, never rename or remove them.
type jsonReport struct {
	Profile    string             `json:"profile"`
	StartedAt  time.Time          `json:"started_at"`
	DurationMS float64            `json:"duration_ms"`
	Members    []jsonMember       `json:"members"`
	Cluster    []format.JSONCheck `json:"cluster"`
	Summary    jsonSummary        `json:"summary"`
}

type jsonMember struct {
	Name          string            `json:"name"`
	Address       string            `json:"address"`
	Self          bool              `json:"self"`
	Answered      bool              `json:"answered"`
	Error         string            `json:"error,omitempty"`
	OS            jsonOS            `json:"os"`
	Versions      map[string]string `json:"versions"`
	ClockOffsetMS float64           `json:"clock_offset_ms"`
	ClockErrorMS  float64           `json:"clock_error_ms"`
	Ports         []jsonPort        `json:"ports"`
	Probes        []jsonProbe       `json:"probes"`
	Report        json.RawMessage   `json:"report"` // the single-host JSON report, or null
}

type jsonOS struct {
	Family  string `json:"family"`
	ID      string `json:"id"`
	Version string `json:"version"`
}

type jsonPort struct {
	From    int    `json:"from"`
	To      int    `json:"to"`
	Proto   string `json:"proto"`
	Service string `json:"service"`
	Gossip  bool   `json:"gossip,omitempty"`
}

type jsonProbe struct {
	To     string      `json:"to"`
	Port   int         `json:"port"`
	Proto  string      `json:"proto"`
	Result ProbeResult `json:"result"`
	Detail string      `json:"detail,omitempty"`
}

type jsonSummary struct {
	Members  int  `json:"members"`
	Answered int  `json:"answered"`
	Pass     int  `json:"pass"`
	Warn     int  `json:"warn"`
	Fail     int  `json:"fail"`
	Skip     int  `json:"skip"`
	Error    int  `json:"error"`
	Failed   bool `json:"failed"`
	ExitCode int  `json:"exit_code"`
}

// JSON renders the report as indented JSON:
//
//	{"profile","started_at","duration_ms",
//	 "members":[{"name","address","self","answered","error",
//	             "os":{"family","id","version"},
//	             "versions":{"vmnode","libvirt","qemu",…},
//	             "clock_offset_ms","clock_error_ms",
//	             "ports":[{"from","to","proto","service","gossip"}],
//	             "probes":[{"to","port","proto","result","detail"}],
//	             "report":{…}|null}],
//	 "cluster":[{"id","title","status","message","remediation","observed",
//	             "expected","ignored","ignore_note","fix","duration_ms"}],
//	 "summary":{"members","answered","pass","warn","fail","skip","error",
//	            "failed","exit_code"}}
//
// Members are in name order. A member's "report" is its preflight report in
// the single-host JSON schema (what `vmnode preflight -o json` writes, read
// back with format.DecodeJSON), or null when it did not answer; "error" then
// says why. "versions" holds only the versions the member knows. "cluster"
// holds the cluster.* checks in the single-host check shape. clock_offset_ms
// is the member's clock minus the collector's, clock_error_ms its
// uncertainty; a port's "to" equals "from" for a single port; "result" is
// open|refused|filtered|error; "gossip" and "detail" are omitted when empty.
// The summary counts the answering members' results and the cluster results
// by status; failed and exit_code are the report's verdict.
func JSON(w io.Writer, r *Report, opt format.Options) error {
	s := r.Summary()
	out := jsonReport{
		Profile:    r.Profile,
		StartedAt:  r.StartedAt,
		DurationMS: format.Millis(r.Duration),
		Members:    make([]jsonMember, 0, len(r.Members)),
		Cluster:    make([]format.JSONCheck, 0, len(r.Cluster)),
		Summary: jsonSummary{
			Members:  len(r.Members),
			Answered: r.Answered(),
			Pass:     s[preflight.Pass],
			Warn:     s[preflight.Warn],
			Fail:     s[preflight.Fail],
			Skip:     s[preflight.Skip],
			Error:    s[preflight.Error],
			Failed:   r.Failed(),
			ExitCode: r.ExitCode(),
		},
	}
	for _, m := range r.Members {
		jm, err := newJSONMember(m, opt)
		if err != nil {
			return err
		}
		out.Members = append(out.Members, jm)
	}
	for _, res := range r.Cluster {
		out.Cluster = append(out.Cluster, format.NewJSONCheck(res))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write cluster json report: %w", err)
	}
	return nil
}

func newJSONMember(m Member, opt format.Options) (jsonMember, error) {
	jm := jsonMember{
		Name:          m.Name,
		Address:       m.Address,
		Self:          m.Self,
		Answered:      m.Answered(),
		Error:         m.Error,
		OS:            jsonOS{Family: m.OS.Family, ID: m.OS.ID, Version: m.OS.Version},
		Versions:      map[string]string{},
		ClockOffsetMS: format.Millis(m.ClockOffset),
		ClockErrorMS:  format.Millis(m.ClockError),
		Ports:         make([]jsonPort, 0, len(m.Ports)),
		Probes:        make([]jsonProbe, 0, len(m.Probes)),
		Report:        json.RawMessage("null"),
	}
	for k, v := range m.Versions {
		if v != "" {
			jm.Versions[k] = v
		}
	}
	for _, p := range m.Ports {
		jm.Ports = append(jm.Ports, jsonPort{From: p.From, To: p.last(), Proto: p.Proto, Service: p.Service, Gossip: p.Gossip})
	}
	for _, p := range m.Probes {
		jm.Probes = append(jm.Probes, jsonProbe(p))
	}
	if m.Answered() {
		var buf bytes.Buffer
		if err := format.JSON(&buf, m.Report, opt); err != nil {
			return jm, fmt.Errorf("member %s: %w", m.Name, err)
		}
		jm.Report = buf.Bytes()
	}
	return jm, nil
}
