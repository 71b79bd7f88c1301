// Package strictyaml decodes YAML strictly: an unknown key or a value of the
// wrong type is an error that names the file, the line and the dotted key.
// Profiles and the vmnode configuration file are both read through it.
package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a decoding problem located in a file.
type Error struct {
	File string
	Line int    // 0 when unknown
	Key  string // dotted path, e.g. "cpu.cores.min"; empty when unknown
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": key %q", e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one file.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Located lets a custom UnmarshalYAML report the node it failed on, so the
// error names the right line and key.
type Located struct {
	Line int
	Err  error
}

func (l *Located) Error() string { return fmt.Sprintf("line %d: %v", l.Line, l.Err) }
func (l *Located) Unwrap() error { return l.Err }

// At wraps err with the line of node.
func At(node *yaml.Node, err error) error { return &Located{Line: node.Line, Err: err} }

var lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// Decode decodes data (read from file) into out, rejecting unknown keys.
func Decode(file string, data []byte, out any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return &Error{File: file, Msg: "file is empty"}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return locate(file, nil, err.Error())
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(out)
	if err == nil || errors.Is(err, io.EOF) {
		if err != nil {
			return &Error{File: file, Msg: "file holds no YAML document"}
		}
		return nil
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var es Errors
		for _, msg := range te.Errors {
			es = append(es, locate(file, &root, msg))
		}
		if len(es) == 1 {
			return es[0]
		}
		return es
	}
	var le *Located
	if errors.As(err, &le) {
		return &Error{File: file, Line: le.Line, Key: keyAt(&root, le.Line), Msg: le.Err.Error()}
	}
	return locate(file, &root, err.Error())
}

// locate turns a yaml.v3 message ("line 5: field foo not found in type x")
// into an Error with the dotted key found at that line.
func locate(file string, root *yaml.Node, msg string) *Error {
	m := lineRE.FindStringSubmatch(strings.TrimSpace(msg))
	if m == nil {
		return &Error{File: file, Msg: strings.TrimPrefix(msg, "yaml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	e := &Error{File: file, Line: line, Msg: m[2]}
	if root != nil {
		e.Key = keyAt(root, line)
	}
	if f := unknownFieldRE.FindStringSubmatch(e.Msg); f != nil {
		e.Msg = fmt.Sprintf("unknown key %q", f[1])
	}
	return e
}

var unknownFieldRE = regexp.MustCompile(`^field (\S+) not found in type`)

// keyAt returns the dotted path of the mapping key (or sequence item) that
// sits on line, searching depth first.
func keyAt(n *yaml.Node, line int) string {
	path, ok := find(n, line, nil)
	if !ok {
		return ""
	}
	return strings.Join(path, ".")
}

func find(n *yaml.Node, line int, path []string) ([]string, bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if p, ok := find(c, line, path); ok {
				return p, true
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := append(append([]string(nil), path...), k.Value)
			if deeper, ok := find(v, line, p); ok {
				return deeper, true
			}
			if k.Line == line {
				return p, true
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := append(append([]string(nil), path...), strconv.Itoa(i))
			if deeper, ok := find(c, line, p); ok {
				return deeper, true
			}
			if c.Line == line {
				return p, true
			}
		}
	}
	return nil, false
}

// LineOf returns the line of the dotted key path in data (sequence items by
// index), or 0 when it is not there. Validation uses it to point at a value
// that decoded fine but is not acceptable.
func LineOf(data []byte, path string) int {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return 0
	}
	n := &root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, part := range strings.Split(path, ".") {
		next := (*yaml.Node)(nil)
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == part {
					line, next = n.Content[i].Line, n.Content[i+1]
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(part); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
				line = next.Line
			}
		}
		if next == nil {
			return 0
		}
		n = next
	}
	return line
}
