package cluster

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/preflight/format"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// empty is a report with no members: what a broken collector would send.
func empty() *Report {
	r := NewReport("vmnode", nil, DefaultLimits())
	r.StartedAt = sampleStart
	return r
}

// TestGolden renders the sample reports and compares them byte for byte with
// testdata/<report>.<format>.golden.
func TestGolden(t *testing.T) {
	cases := []struct {
		file, format string
		report       func() *Report
		opt          format.Options
	}{
		{"sample.text.golden", "text", sample, format.Options{}},
		{"sample.text-color.golden", "text", sample, format.Options{Color: true}},
		{"sample.json.golden", "json", sample, format.Options{}},
		{"sample.junit.golden", "junit", sample, format.Options{}},
		{"sample.html.golden", "html", sample, format.Options{}},
		{"clean.text.golden", "text", clean, format.Options{}},
		{"clean.html.golden", "html", clean, format.Options{}},
		{"empty.text.golden", "text", empty, format.Options{}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, tc.format, tc.report(), tc.opt); err != nil {
				t.Fatalf("Write(%s): %v", tc.format, err)
			}
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./preflight/cluster/ -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s output differs from %s (run with -update and review the diff):\n%s", tc.format, path, firstDiff(buf.String(), string(want)))
			}
		})
	}
}

// firstDiff shows the first differing line of got and want.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + strconv.Quote(gl) + "\nwant: " + strconv.Quote(wl)
		}
	}
	return "(lengths differ)"
}

func TestFormats(t *testing.T) {
	if got := Formats(); !slices.Equal(got, format.Formats()) {
		t.Fatalf("Formats() = %v, want the single-host formats %v", got, format.Formats())
	}
	for _, name := range Formats() {
		for _, r := range []*Report{sample(), clean(), empty(), {}} {
			var buf bytes.Buffer
			if err := Write(&buf, name, r, format.Options{}); err != nil || buf.Len() == 0 {
				t.Errorf("Write(%q) wrote %d bytes, err %v", name, buf.Len(), err)
			}
		}
	}
}

func TestWriteUnknownFormat(t *testing.T) {
	var buf bytes.Buffer
	err := Write(&buf, "yaml", sample(), format.Options{})
	if err == nil {
		t.Fatal("Write(yaml) succeeded, want an error")
	}
	for _, want := range append([]string{`"yaml"`}, Formats()...) {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("Write(yaml) wrote %q", buf.String())
	}
}

func TestWriteNilReport(t *testing.T) {
	for _, name := range Formats() {
		if err := Write(&bytes.Buffer{}, name, nil, format.Options{}); err == nil {
			t.Errorf("Write(%s, nil report) succeeded, want an error", name)
		}
	}
}

type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrorsPropagate(t *testing.T) {
	for _, name := range Formats() {
		err := Write(brokenWriter{}, name, sample(), format.Options{})
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("Write(%q) to a broken writer: err %v, want one wrapping disk full", name, err)
		}
	}
}

// TestRenderersDoNotModify: rendering leaves the report as it was.
func TestRenderersDoNotModify(t *testing.T) {
	for _, name := range Formats() {
		r := sample()
		if err := Write(&bytes.Buffer{}, name, r, format.Options{Color: true}); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r, sample()) {
			t.Errorf("Write(%s) changed the report", name)
		}
	}
}
