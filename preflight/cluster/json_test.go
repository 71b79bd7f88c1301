package cluster

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/format"
)

func renderJSON(t *testing.T, r *Report) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	if err := JSON(&buf, r, format.Options{}); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	return doc
}

func keys(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

// TestJSONSchema pins the field names: automation depends on them.
func TestJSONSchema(t *testing.T) {
	doc := renderJSON(t, sample())
	if got, want := keys(doc), []string{"cluster", "duration_ms", "members", "profile", "started_at", "summary"}; !slices.Equal(got, want) {
		t.Errorf("top-level keys %v, want %v", got, want)
	}
	if doc["started_at"] != "2025-03-14T09:26:53+01:00" || doc["duration_ms"] != 2310.0 {
		t.Errorf("started_at %v, duration_ms %v", doc["started_at"], doc["duration_ms"])
	}
	wantSummary := map[string]any{
		"members": 4.0, "answered": 3.0, "pass": 14.0, "warn": 5.0, "fail": 4.0, "skip": 3.0, "error": 1.0,
		"failed": true, "exit_code": 1.0,
	}
	if got := doc["summary"]; !reflect.DeepEqual(got, wantSummary) {
		t.Errorf("summary %v, want %v", got, wantSummary)
	}

	memberKeys := []string{"address", "answered", "clock_error_ms", "clock_offset_ms", "name", "os", "ports", "probes", "report", "self", "versions"}
	ms := doc["members"].([]any)
	var names []string
	for _, x := range ms {
		m := x.(map[string]any)
		names = append(names, m["name"].(string))
		got := keys(m)
		got = slices.DeleteFunc(got, func(k string) bool { return k == "error" })
		if !slices.Equal(got, memberKeys) {
			t.Errorf("member %v keys %v, want %v (+ error)", m["name"], keys(m), memberKeys)
		}
		if os := m["os"].(map[string]any); !slices.Equal(keys(os), []string{"family", "id", "version"}) {
			t.Errorf("os keys %v", keys(os))
		}
		for _, p := range m["ports"].([]any) {
			if k := keys(p.(map[string]any)); !slices.Equal(slices.DeleteFunc(k, func(s string) bool { return s == "gossip" }), []string{"from", "proto", "service", "to"}) {
				t.Errorf("port keys %v", k)
			}
		}
		for _, p := range m["probes"].([]any) {
			pr := p.(map[string]any)
			if k := keys(pr); !slices.Equal(slices.DeleteFunc(k, func(s string) bool { return s == "detail" }), []string{"port", "proto", "result", "to"}) {
				t.Errorf("probe keys %v", k)
			}
			if r := ProbeResult(pr["result"].(string)); !slices.Contains([]ProbeResult{ProbeOpen, ProbeRefused, ProbeFiltered, ProbeError}, r) {
				t.Errorf("probe result %q", r)
			}
		}
	}
	if want := []string{"node-1.lab.example.com", "node-2.lab.example.com", "node-3.lab.example.com", "node-4.lab.example.com"}; !slices.Equal(names, want) {
		t.Errorf("members %v, want in name order", names)
	}
	silent := ms[3].(map[string]any)
	if silent["answered"] != false || silent["report"] != nil || silent["error"] != "no response to the preflight query within 10s" {
		t.Errorf("silent member: %v", silent)
	}
	if v := ms[2].(map[string]any)["clock_offset_ms"]; v != -250.0 {
		t.Errorf("node-3 clock_offset_ms %v, want -250", v)
	}
	if v := ms[0].(map[string]any)["versions"]; !reflect.DeepEqual(v, map[string]any{"vmnode": "0.4.0", "libvirt": "9.0.0", "qemu": "8.2.0"}) {
		t.Errorf("versions %v", v)
	}

	checkKeys := []string{"duration_ms", "expected", "id", "ignored", "message", "observed", "remediation", "status", "title"}
	var ids []string
	for _, c := range doc["cluster"].([]any) {
		check := c.(map[string]any)
		ids = append(ids, check["id"].(string))
		if !slices.Equal(keys(check), checkKeys) {
			t.Errorf("cluster check keys %v, want the single-host check shape %v", keys(check), checkKeys)
		}
	}
	if !slices.Equal(ids, IDs()) {
		t.Errorf("cluster checks %v, want %v", ids, IDs())
	}
}

// TestJSONMemberReports: a member's report is the single-host JSON report,
// and reads back with format.DecodeJSON.
func TestJSONMemberReports(t *testing.T) {
	var buf bytes.Buffer
	r := sample()
	if err := JSON(&buf, r, format.Options{}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Members []struct {
			Name   string          `json:"name"`
			Report json.RawMessage `json:"report"`
		} `json:"members"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for i, m := range doc.Members {
		want := r.Members[i].Report
		if want == nil {
			if string(m.Report) != "null" {
				t.Errorf("%s: report %s, want null", m.Name, m.Report)
			}
			continue
		}
		got, err := format.DecodeJSON(bytes.NewReader(m.Report))
		if err != nil {
			t.Fatalf("%s: DecodeJSON: %v", m.Name, err)
		}
		if !got.StartedAt.Equal(want.StartedAt) {
			t.Errorf("%s: started_at %v, want %v", m.Name, got.StartedAt, want.StartedAt)
		}
		got.StartedAt = want.StartedAt
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: report round trip differs:\n got %+v\nwant %+v", m.Name, got, want)
		}
		var single bytes.Buffer
		if err := format.JSON(&single, want, format.Options{}); err != nil {
			t.Fatal(err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, single.Bytes()); err != nil {
			t.Fatal(err)
		}
		var embedded bytes.Buffer
		if err := json.Compact(&embedded, m.Report); err != nil {
			t.Fatal(err)
		}
		if compact.String() != embedded.String() {
			t.Errorf("%s: embedded report is not what `vmnode preflight -o json` writes", m.Name)
		}
	}
}

func TestJSONEmpty(t *testing.T) {
	for _, r := range []*Report{{}, empty()} {
		var buf bytes.Buffer
		if err := JSON(&buf, r, format.Options{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), `"members": []`) || strings.Contains(buf.String(), "null") {
			t.Errorf("empty report: want empty lists, not null:\n%s", buf.String())
		}
	}
	doc := renderJSON(t, &Report{Members: []Member{{Name: "a", Error: "down"}}})
	m := doc["members"].([]any)[0].(map[string]any)
	if m["versions"] == nil || m["ports"] == nil || m["probes"] == nil {
		t.Errorf("a silent member's lists and maps are null: %v", m)
	}
	if s := doc["summary"].(map[string]any); s["exit_code"] != float64(preflight.ExitFailed) {
		t.Errorf("summary %v", s)
	}
}
