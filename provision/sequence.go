package provision

import (
	"context"
	"fmt"
)

// Sequence is one named step made of parts applied in order, e.g. the
// firewall: its boot file, then the live table. Parts that edit files are
// restored by Apply's caller when a later part fails; parts that change
// live state undo themselves.
func Sequence(name string, parts ...Step) Step { return &sequence{name: name, parts: parts} }

type sequence struct {
	name  string
	parts []Step
}

func (s *sequence) Name() string { return s.name }

func (s *sequence) Plan(ctx context.Context) (StepPlan, error) {
	out := StepPlan{Step: s.name}
	for _, p := range s.parts {
		sp, err := p.Plan(ctx)
		if err != nil {
			return out, err
		}
		out.Changes = append(out.Changes, sp.Changes...)
		out.Notes = append(out.Notes, sp.Notes...)
	}
	return out, nil
}

func (s *sequence) Apply(ctx context.Context, _ StepPlan) error {
	for _, p := range s.parts {
		sp, err := p.Plan(ctx)
		if err != nil {
			return err
		}
		if sp.Empty() {
			continue
		}
		if err := p.Apply(ctx, sp); err != nil {
			return fmt.Errorf("%s: %w", p.Name(), err)
		}
	}
	return nil
}
