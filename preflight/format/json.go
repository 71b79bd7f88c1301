package format

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/vmnode/vmnode/preflight"
)

// jsonReport is the JSON report schema. Its field names are a contract with
// automation and with other nodes (cluster-wide preflight exchanges reports
// in this form): add fields, never rename or remove them.
type jsonReport struct {
	Profile    string       `json:"profile"`
	Hostname   string       `json:"hostname"`
	Address    string       `json:"address"`
	Root       string       `json:"root,omitempty"` // omitted for the live host
	Offline    bool         `json:"offline,omitempty"`
	StartedAt  time.Time    `json:"started_at"`
	DurationMS float64      `json:"duration_ms"`
	Checks     []JSONCheck  `json:"checks"`
	Summary    *jsonSummary `json:"summary"`
	Notes      []string     `json:"notes,omitempty"`
}

// JSONCheck is one element of the "checks" list in the JSON report. Other
// reports that carry check results (the cluster-wide preflight) use the same
// shape; the field names are the same contract as jsonReport's.
type JSONCheck struct {
	ID          string           `json:"id"`
	Title       string           `json:"title"`
	Status      preflight.Status `json:"status"`
	Message     string           `json:"message"`
	Remediation string           `json:"remediation"`
	Observed    string           `json:"observed"`
	Expected    string           `json:"expected"`
	Ignored     bool             `json:"ignored"`
	IgnoreNote  string           `json:"ignore_note,omitempty"`
	Fix         string           `json:"fix,omitempty"`
	DurationMS  float64          `json:"duration_ms"`
}

type jsonSummary struct {
	Pass  int `json:"pass"`
	Warn  int `json:"warn"`
	Fail  int `json:"fail"`
	Skip  int `json:"skip"`
	Error int `json:"error"`
}

// JSON renders the report as indented JSON:
//
//	{"profile","hostname","address","started_at","duration_ms",
//	 "checks":[{"id","title","status","message","remediation","observed",
//	            "expected","ignored","ignore_note","fix","duration_ms"}],
//	 "summary":{"pass","warn","fail","skip","error"},"notes"}
//
// status is one of pass|warn|fail|skip|error; started_at is RFC 3339;
// durations are milliseconds with microsecond precision; ignore_note, fix and
// notes are omitted when empty.
func JSON(w io.Writer, r *preflight.Report, _ Options) error {
	s := r.Summary()
	out := jsonReport{
		Profile:    r.Profile,
		Hostname:   r.Hostname,
		Address:    r.Address,
		Offline:    r.Offline,
		StartedAt:  r.StartedAt,
		DurationMS: millis(r.Duration),
		Checks:     make([]JSONCheck, 0, len(r.Results)),
		Summary: &jsonSummary{
			Pass:  s[preflight.Pass],
			Warn:  s[preflight.Warn],
			Fail:  s[preflight.Fail],
			Skip:  s[preflight.Skip],
			Error: s[preflight.Error],
		},
		Notes: r.Notes,
	}
	if r.Root != "/" {
		out.Root = r.Root
	}
	for _, res := range r.Results {
		out.Checks = append(out.Checks, NewJSONCheck(res))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}

// NewJSONCheck is res in the JSON schema.
func NewJSONCheck(res preflight.Result) JSONCheck {
	return JSONCheck{
		ID:          res.ID,
		Title:       res.Title,
		Status:      res.Status,
		Message:     res.Message,
		Remediation: res.Remediation,
		Observed:    res.Observed,
		Expected:    res.Expected,
		Ignored:     res.Ignored,
		IgnoreNote:  res.IgnoreNote,
		Fix:         res.Fix,
		DurationMS:  millis(res.Duration),
	}
}

// DecodeJSON reads a report written by JSON, such as one received from
// another node. Unknown fields are accepted (a newer node may add some); an
// unknown status, a missing checks list or summary, a summary that disagrees
// with the checks, or trailing data is an error. The JSON form does not carry
// Root or Offline; they are left zero.
func DecodeJSON(rd io.Reader) (*preflight.Report, error) {
	dec := json.NewDecoder(rd)
	var in jsonReport
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("decode json report: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("decode json report: trailing data after the report")
	}
	if in.Checks == nil {
		return nil, errors.New("decode json report: no \"checks\" list")
	}
	if in.Summary == nil {
		return nil, errors.New("decode json report: no \"summary\"")
	}
	d, err := fromMillis("report", in.DurationMS)
	if err != nil {
		return nil, err
	}
	r := &preflight.Report{
		Profile:   in.Profile,
		Hostname:  in.Hostname,
		Address:   in.Address,
		Root:      cmp.Or(in.Root, "/"),
		Offline:   in.Offline,
		StartedAt: in.StartedAt,
		Duration:  d,
		Results:   make([]preflight.Result, 0, len(in.Checks)),
		Notes:     in.Notes,
	}
	for i, c := range in.Checks {
		if !slices.Contains(preflight.Statuses, c.Status) {
			return nil, fmt.Errorf("decode json report: check %d (%q): unknown status %q", i, c.ID, c.Status)
		}
		d, err := fromMillis(fmt.Sprintf("check %d (%q)", i, c.ID), c.DurationMS)
		if err != nil {
			return nil, err
		}
		r.Results = append(r.Results, preflight.Result{
			ID:          c.ID,
			Title:       c.Title,
			Status:      c.Status,
			Message:     c.Message,
			Remediation: c.Remediation,
			Observed:    c.Observed,
			Expected:    c.Expected,
			Ignored:     c.Ignored,
			IgnoreNote:  c.IgnoreNote,
			Fix:         c.Fix,
			Duration:    d,
		})
	}
	s := r.Summary()
	got := jsonSummary{s[preflight.Pass], s[preflight.Warn], s[preflight.Fail], s[preflight.Skip], s[preflight.Error]}
	if got != *in.Summary {
		return nil, fmt.Errorf("decode json report: summary %+v does not match the checks %+v", *in.Summary, got)
	}
	return r, nil
}

// millis is d in milliseconds, rounded to the microsecond.
func millis(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond)/time.Microsecond) / 1000
}

// fromMillis is the inverse of millis; a negative or absurdly large value is
// an error.
func fromMillis(what string, ms float64) (time.Duration, error) {
	us := math.Round(ms * 1000)
	if us < 0 || us > float64(math.MaxInt64/int64(time.Microsecond)) {
		return 0, fmt.Errorf("decode json report: %s: duration_ms %v out of range", what, ms)
	}
	return time.Duration(us) * time.Microsecond, nil
}
