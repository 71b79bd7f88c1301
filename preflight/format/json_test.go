package format

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmnode/vmnode/preflight"
)

func TestJSONRoundTrip(t *testing.T) {
	want := sample()
	var first bytes.Buffer
	if err := JSON(&first, want, Options{}); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeJSON(bytes.NewReader(first.Bytes()))
	if err != nil {
		t.Fatalf("DecodeJSON: %v", err)
	}
	if !got.StartedAt.Equal(want.StartedAt) {
		t.Errorf("started_at: got %v, want %v", got.StartedAt, want.StartedAt)
	}
	got.StartedAt = want.StartedAt
	if !reflect.DeepEqual(got, want) {
		for i := range min(len(got.Results), len(want.Results)) {
			if !reflect.DeepEqual(got.Results[i], want.Results[i]) {
				t.Errorf("result %d:\n got %+v\nwant %+v", i, got.Results[i], want.Results[i])
			}
		}
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, want)
	}
	if got.ExitCode() != want.ExitCode() {
		t.Errorf("exit code after round trip %d, want %d", got.ExitCode(), want.ExitCode())
	}

	var second bytes.Buffer
	if err := JSON(&second, got, Options{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Errorf("re-encoding the decoded report changes it:\n%s", firstDiff(second.String(), first.String()))
	}
}

// TestJSONSchema pins the field names: automation and other nodes depend on
// them.
func TestJSONSchema(t *testing.T) {
	var buf bytes.Buffer
	if err := JSON(&buf, sample(), Options{}); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) []string {
		var k []string
		for key := range m {
			k = append(k, key)
		}
		slices.Sort(k)
		return k
	}
	wantTop := []string{"address", "checks", "duration_ms", "hostname", "notes", "profile", "started_at", "summary"}
	if got := keys(doc); !slices.Equal(got, wantTop) {
		t.Errorf("top-level keys %v, want %v", got, wantTop)
	}
	if got := doc["started_at"]; got != "2025-03-14T09:26:53+01:00" {
		t.Errorf("started_at %v, want RFC 3339", got)
	}
	if got := doc["duration_ms"]; got != 143.0 {
		t.Errorf("duration_ms %v, want 143", got)
	}
	summary := doc["summary"].(map[string]any)
	wantSummary := map[string]any{"pass": 13.0, "warn": 4.0, "fail": 3.0, "skip": 2.0, "error": 1.0}
	if !reflect.DeepEqual(summary, wantSummary) {
		t.Errorf("summary %v, want %v", summary, wantSummary)
	}
	required := []string{"duration_ms", "expected", "id", "ignored", "message", "observed", "remediation", "status", "title"}
	optional := []string{"fix", "ignore_note"}
	statuses := map[string]bool{}
	for _, c := range doc["checks"].([]any) {
		check := c.(map[string]any)
		for _, k := range keys(check) {
			if !slices.Contains(required, k) && !slices.Contains(optional, k) {
				t.Errorf("check %v has unexpected key %q", check["id"], k)
			}
		}
		for _, k := range required {
			if _, ok := check[k]; !ok {
				t.Errorf("check %v lacks key %q", check["id"], k)
			}
		}
		statuses[check["status"].(string)] = true
	}
	for st := range statuses {
		if !slices.Contains(preflight.Statuses, preflight.Status(st)) {
			t.Errorf("status %q is not one of %v", st, preflight.Statuses)
		}
	}
	if len(statuses) != 5 {
		t.Errorf("sample covers statuses %v, want all five", statuses)
	}
}

func TestJSONEmptyReport(t *testing.T) {
	var buf bytes.Buffer
	if err := JSON(&buf, &preflight.Report{}, Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"checks": []`) || strings.Contains(buf.String(), "notes") {
		t.Errorf("empty report: want an empty checks list and no notes:\n%s", buf.String())
	}
	if _, err := DecodeJSON(&buf); err != nil {
		t.Errorf("DecodeJSON(empty report): %v", err)
	}
}

func TestJSONDurations(t *testing.T) {
	for _, d := range []time.Duration{0, time.Microsecond, 412 * time.Microsecond, 143 * time.Millisecond, 90 * time.Second} {
		got, err := fromMillis("t", millis(d))
		if err != nil || got != d {
			t.Errorf("fromMillis(millis(%v)) = %v, %v", d, got, err)
		}
	}
}

func TestDecodeJSONErrors(t *testing.T) {
	const valid = `{"profile":"p","hostname":"h","address":"","started_at":"2025-03-14T09:26:53Z","duration_ms":1,
		"checks":[{"id":"cpu.arch","title":"","status":"pass","message":"","remediation":"","observed":"","expected":"","ignored":false,"duration_ms":0.5}],
		"summary":{"pass":1,"warn":0,"fail":0,"skip":0,"error":0}}`
	if _, err := DecodeJSON(strings.NewReader(valid)); err != nil {
		t.Fatalf("valid report: %v", err)
	}
	withNewField := strings.Replace(valid, `"profile":"p"`, `"profile":"p","agent_version":"9.9"`, 1)
	if _, err := DecodeJSON(strings.NewReader(withNewField)); err != nil {
		t.Errorf("a field from a newer node should be accepted: %v", err)
	}
	cases := []struct {
		name, in, want string
	}{
		{"not json", "vmnode preflight\n", "decode json report"},
		{"unknown status", strings.Replace(valid, `"status":"pass"`, `"status":"ok"`, 1), `unknown status "ok"`},
		{"summary mismatch", strings.Replace(valid, `"pass":1`, `"pass":2`, 1), "does not match"},
		{"no checks", strings.Replace(valid, `"checks"`, `"tests"`, 1), `no "checks"`},
		{"no summary", strings.Replace(valid, `"summary"`, `"totals"`, 1), `no "summary"`},
		{"trailing data", valid + `{}`, "trailing data"},
		{"negative duration", strings.Replace(valid, `"duration_ms":0.5`, `"duration_ms":-3`, 1), "out of range"},
		{"huge duration", strings.Replace(valid, `"duration_ms":1,`, `"duration_ms":1e300,`, 1), "out of range"},
		{"bad time", strings.Replace(valid, `2025-03-14T09:26:53Z`, `yesterday`, 1), "decode json report"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeJSON(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeJSON = %v, %v; want an error containing %q", r, err, tc.want)
			}
		})
	}
}
