package systemd

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/vmnode/vmnode/provision"
	"github.com/vmnode/vmnode/provision/files"
)

// Summaries of the changes the step plans; Apply performs a change by them.
const (
	ActionInstall = "install unit file"
	ActionEnable  = "enable"
	ActionStart   = "start"
)

// undoTimeout bounds putting things back after a failed Apply, which runs
// even when the Apply's context is done.
const undoTimeout = 2 * time.Minute

// Step is the `services` step: it installs, enables and starts units.
type Step struct {
	units  []Unit
	m      Manager
	editor *files.Editor
	// planned maps a change's Target to its unit, from the last Plan.
	planned map[string]Unit
}

var _ provision.Step = (*Step)(nil)

// NewStep makes the step for units on the host m manages.
func NewStep(units []Unit, m Manager) *Step {
	return &Step{units: units, m: m}
}

// WithEditor makes the step write unit files through e, so their backups
// join the run's; by default the step keeps its own under m.RootDir().
func (s *Step) WithEditor(e *files.Editor) *Step {
	s.editor = e
	return s
}

// Name implements provision.Step.
func (s *Step) Name() string { return "services" }

func (s *Step) files() *files.Editor {
	if s.editor == nil {
		s.editor = files.NewEditor(s.m.RootDir(), time.Now())
	}
	return s.editor
}

func unitFile(name string) string { return path.Join(configDir, name) }

// Plan implements provision.Step. Per unit, in order: install its unit file
// when Content differs from what is there, enable it, start it. Under
// --root, starting is a note: it happens at the next boot. A unit with no
// unit file (and no Content) is an error naming the package that ships it.
func (s *Step) Plan(ctx context.Context) (provision.StepPlan, error) {
	plan := provision.StepPlan{Step: s.Name()}
	s.planned = map[string]Unit{}
	var errs []error
	for _, u := range s.units {
		installing := false
		if u.Content != nil {
			p := unitFile(u.Name)
			old, exists, err := s.files().Read(p)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !exists || string(old) != string(u.Content) {
				diff, err := s.files().Diff(p, u.Content)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				plan.Changes = append(plan.Changes, provision.Change{Kind: "unit", Target: u.Name, Summary: ActionInstall, Diff: diff})
				s.planned[u.Name] = u
				installing = true
			}
		}
		st, err := s.m.Lookup(ctx, u.names()...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if installing {
			// What systemd will see after the new file is in place.
			prev := st
			st = UnitState{Name: u.Name, Installed: true, FileState: "disabled", ActiveState: prev.ActiveState}
			if in, err := parseInstall(u.Content); err != nil {
				errs = append(errs, fmt.Errorf("unit %s: %w", u.Name, err))
				continue
			} else if in.Empty() {
				st.FileState = "static"
			} else if prev.Installed && prev.Name == u.Name && prev.Enabled() {
				st.FileState = "enabled" // links name the unit, not its content
			}
			if st.Active() {
				plan.Notes = append(plan.Notes, fmt.Sprintf("%s is running with its previous unit file; restart it to use the new one", u.Name))
			}
		}
		switch {
		case st.Masked():
			errs = append(errs, fmt.Errorf("unit %s is masked: unmask it (systemctl unmask %s) for vmnode to manage it", st.Name, st.Name))
			continue
		case !st.Installed:
			errs = append(errs, notInstalled(s.m.RootDir(), u))
			continue
		}
		s.planned[st.Name] = u
		if u.Enable && !st.Enabled() {
			if st.Enableable() {
				diff := st.FileState + " -> enabled"
				if len(st.Links) > 0 {
					diff = "create " + strings.Join(st.Links, "\ncreate ")
				}
				plan.Changes = append(plan.Changes, provision.Change{Kind: "unit", Target: st.Name, Summary: ActionEnable, Diff: diff})
			} else {
				plan.Notes = append(plan.Notes, fmt.Sprintf("%s is %s: it has no [Install] section of its own to enable", st.Name, st.FileState))
			}
		}
		if u.Start {
			switch {
			case !s.m.Live():
				if u.Enable || st.Enabled() {
					plan.Notes = append(plan.Notes, st.Name+" will start at next boot")
				} else {
					plan.Notes = append(plan.Notes, st.Name+" is not enabled: under --root it cannot be started")
				}
			case !st.Active():
				from := st.ActiveState
				if from == "" {
					from = "inactive"
				}
				plan.Changes = append(plan.Changes, provision.Change{Kind: "unit", Target: st.Name, Summary: ActionStart, Diff: from + " -> active"})
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return provision.StepPlan{Step: s.Name()}, fmt.Errorf("services: %w", err)
	}
	return plan, nil
}

// Apply implements provision.Step: it makes exactly the plan's changes, in
// order, reloading systemd after unit files are written. When one fails, it
// undoes what it did, newest first (stop what it started, disable what it
// enabled, restore or remove unit files), and says what it could not undo.
func (s *Step) Apply(ctx context.Context, plan provision.StepPlan) (err error) {
	var undo []Undo
	var done []string
	defer func() {
		if err == nil {
			return
		}
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
		defer cancel()
		var uerrs []error
		for i := len(undo) - 1; i >= 0; i-- {
			if e := undo[i](uctx); e != nil {
				uerrs = append(uerrs, e)
			}
		}
		switch {
		case len(uerrs) > 0:
			err = fmt.Errorf("services: %w; undoing %s failed, the host may be left changed: %w",
				err, strings.Join(done, ", "), errors.Join(uerrs...))
		case len(done) > 0:
			err = fmt.Errorf("services: %w (undone: %s)", err, strings.Join(done, ", "))
		default:
			err = fmt.Errorf("services: %w (nothing was changed)", err)
		}
	}()
	reload := false
	for _, c := range plan.Changes {
		if err := ctx.Err(); err != nil {
			return err
		}
		u, ok := s.planned[c.Target]
		if c.Kind != "unit" || !ok {
			return fmt.Errorf("change %q is not one this step planned", c.String())
		}
		if reload && c.Summary != ActionInstall {
			if err := s.m.Reload(ctx); err != nil {
				return err
			}
			reload = false
		}
		var un Undo
		switch c.Summary {
		case ActionInstall:
			un, err = s.install(u)
			reload = s.m.Live()
		case ActionEnable:
			un, err = s.m.Enable(ctx, c.Target)
		case ActionStart:
			un, err = s.m.Start(ctx, c.Target)
		default:
			return fmt.Errorf("change %q is not one this step planned", c.String())
		}
		if err != nil {
			return err
		}
		undo = append(undo, un)
		done = append(done, c.Summary+" "+c.Target)
	}
	if reload {
		return s.m.Reload(ctx)
	}
	return nil
}

// install writes u's unit file; undo restores the previous one (or removes
// it) and reloads systemd.
func (s *Step) install(u Unit) (Undo, error) {
	e := s.files()
	mark := e.Mark()
	if _, err := e.Write(unitFile(u.Name), u.Content, 0o644); err != nil {
		return nil, fmt.Errorf("install unit %s: %w", u.Name, err)
	}
	return func(ctx context.Context) error {
		if err := e.RollbackTo(mark); err != nil {
			return fmt.Errorf("undo install %s: %w", u.Name, err)
		}
		if s.m.Live() {
			return s.m.Reload(ctx)
		}
		return nil
	}, nil
}
