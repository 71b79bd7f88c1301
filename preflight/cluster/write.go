package cluster

import (
	"fmt"
	"io"
	"strings"

	"github.com/vmnode/vmnode/preflight/format"
)

// Renderer writes one cluster report in one format.
type Renderer func(w io.Writer, r *Report, opt format.Options) error

// registry lists the formats in the order the CLI presents them: the same
// names as the single-host formats.
var registry = []struct {
	name string
	fn   Renderer
}{
	{"text", Text},
	{"json", JSON},
	{"junit", JUnit},
	{"html", HTML},
}

// Formats returns the names Write accepts, in presentation order.
func Formats() []string {
	names := make([]string, len(registry))
	for i, f := range registry {
		names[i] = f.name
	}
	return names
}

// Write renders r to w in the named format (text, json, junit or html). An
// unknown name is an error that lists the valid ones.
func Write(w io.Writer, name string, r *Report, opt format.Options) error {
	for _, f := range registry {
		if f.name == name {
			if r == nil {
				return fmt.Errorf("render cluster %s: no report", name)
			}
			return f.fn(w, r, opt)
		}
	}
	return fmt.Errorf("unknown output format %q (valid: %s)", name, strings.Join(Formats(), ", "))
}
