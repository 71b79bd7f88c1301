package format

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/preflight"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden renders the sample report in every format and compares it byte
// for byte with testdata/sample.<format>.golden.
func TestGolden(t *testing.T) {
	cases := []struct {
		file, format string
		opt          Options
	}{
		{"sample.text.golden", "text", Options{}},
		{"sample.text-color.golden", "text", Options{Color: true}},
		{"sample.json.golden", "json", Options{}},
		{"sample.junit.golden", "junit", Options{}},
		{"sample.html.golden", "html", Options{}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, tc.format, sample(), tc.opt); err != nil {
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
				t.Fatalf("%v (run go test ./preflight/format/ -update)", err)
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
			return "line " + itoa(i+1) + ":\n got: " + strconvQuote(gl) + "\nwant: " + strconvQuote(wl)
		}
	}
	return "(lengths differ)"
}

func TestFormats(t *testing.T) {
	want := []string{"text", "json", "junit", "html"}
	if got := Formats(); !slices.Equal(got, want) {
		t.Fatalf("Formats() = %v, want %v", got, want)
	}
	for _, name := range Formats() {
		var buf bytes.Buffer
		if err := Write(&buf, name, sample(), Options{}); err != nil || buf.Len() == 0 {
			t.Errorf("Write(%q) wrote %d bytes, err %v", name, buf.Len(), err)
		}
	}
}

func TestWriteUnknownFormat(t *testing.T) {
	var buf bytes.Buffer
	err := Write(&buf, "yaml", sample(), Options{})
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
	if err := Write(&bytes.Buffer{}, "text", nil, Options{}); err == nil {
		t.Fatal("Write(nil report) succeeded, want an error")
	}
}

type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrorsPropagate(t *testing.T) {
	for _, name := range Formats() {
		err := Write(brokenWriter{}, name, sample(), Options{})
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("Write(%q) to a broken writer: err %v, want one wrapping disk full", name, err)
		}
	}
}

func TestGroupByArea(t *testing.T) {
	ids := []string{"zfs.pool", "shell.prompt", "cpu.cores", "libvirt.socket", "cpu.arch", "noarea", "memory.total", "zfs.arc"}
	var rs []preflight.Result
	for _, id := range ids {
		rs = append(rs, preflight.Result{ID: id, Status: preflight.Pass})
	}
	var got []string
	for _, g := range groupByArea(rs) {
		for _, r := range g.Results {
			got = append(got, g.Area+":"+r.ID)
		}
	}
	want := []string{
		"cpu:cpu.cores", "cpu:cpu.arch", "memory:memory.total", "shell:shell.prompt",
		"zfs:zfs.pool", "zfs:zfs.arc", "libvirt:libvirt.socket", "noarea:noarea",
	}
	if !slices.Equal(got, want) {
		t.Errorf("groupByArea order:\n got %v\nwant %v", got, want)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func strconvQuote(s string) string { return strconv.Quote(s) }
