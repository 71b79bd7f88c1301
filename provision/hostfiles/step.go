// Package hostfiles holds the provisioning steps that edit host files:
// selinux, hosts, resolver, time (chrony sources) and the firewall's boot
// persistence. Each is a pure transform of the current content, wrapped in
// one file step that plans diffs and applies them through files.Editor.
package hostfiles

import (
	"bytes"
	"context"
	"io/fs"

	"github.com/vmnode/vmnode/provision"
	"github.com/vmnode/vmnode/provision/files"
)

// Edit is the content one file should have.
type Edit struct {
	Path    string
	Content []byte
	Mode    fs.FileMode // for a new file; an existing one keeps its mode
	Summary string
}

// desiredFunc reads the host through ed and says what the step's files
// should hold, plus notes for the operator.
type desiredFunc func(ed *files.Editor) ([]Edit, []string, error)

// fileStep is a provisioning step made of file edits.
type fileStep struct {
	name    string
	ed      *files.Editor
	desired desiredFunc
}

// Name implements provision.Step.
func (s *fileStep) Name() string { return s.name }

// Plan implements provision.Step.
func (s *fileStep) Plan(context.Context) (provision.StepPlan, error) {
	edits, notes, err := s.desired(s.ed)
	if err != nil {
		return provision.StepPlan{}, err
	}
	p := provision.StepPlan{Step: s.name}
	for _, e := range edits {
		cur, exists, err := s.ed.Read(e.Path)
		if err != nil {
			return p, err
		}
		if exists && bytes.Equal(cur, e.Content) {
			continue
		}
		diff, err := s.ed.Diff(e.Path, e.Content)
		if err != nil {
			return p, err
		}
		p.Changes = append(p.Changes, provision.Change{Kind: "file", Target: e.Path, Summary: e.Summary, Diff: diff})
	}
	if len(p.Changes) > 0 {
		p.Notes = notes
	}
	return p, nil
}

// Apply implements provision.Step. It recomputes the edits (the host may
// have moved since the plan) and writes them; the caller restores the
// files on error.
func (s *fileStep) Apply(context.Context, provision.StepPlan) error {
	edits, _, err := s.desired(s.ed)
	if err != nil {
		return err
	}
	for _, e := range edits {
		if _, err := s.ed.Write(e.Path, e.Content, e.Mode); err != nil {
			return err
		}
	}
	return nil
}

// lineEnding is "\r\n" when the content uses CRLF, else "\n".
func lineEnding(b []byte) string {
	if bytes.Contains(b, []byte("\r\n")) {
		return "\r\n"
	}
	return "\n"
}

// lines splits content into lines without their endings.
func lines(b []byte) []string {
	s := string(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")))
	if s == "" {
		return nil
	}
	out := bytes.Split([]byte(s), []byte("\n"))
	res := make([]string, 0, len(out))
	for i, l := range out {
		if i == len(out)-1 && len(l) == 0 {
			break
		}
		res = append(res, string(l))
	}
	return res
}

// join joins lines with eol and ends with it.
func join(ls []string, eol string) []byte {
	var b bytes.Buffer
	for _, l := range ls {
		b.WriteString(l)
		b.WriteString(eol)
	}
	return b.Bytes()
}
