package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vmnode/vmnode/runtime/api"
)

// pendingVM is a VM created without a host: it is kept, as asked for, by the
// member that received `vm create`, until its first start places it.
type pendingVM struct {
	Name    string     `json:"name"`
	Spec    api.VMSpec `json:"spec"`
	Created time.Time  `json:"created"`
}

// pendingDir holds one JSON file per pending VM.
func (a *Agent) pendingDir() string { return filepath.Join(a.Config().Agent.DataDir, "pending") }

func (a *Agent) savePending(p pendingVM) error {
	dir := a.pendingDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".pending-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, p.Name+".json"))
}

func (a *Agent) loadPending(name string) (pendingVM, bool, error) {
	var p pendingVM
	b, err := os.ReadFile(filepath.Join(a.pendingDir(), name+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return p, false, nil
	}
	if err != nil {
		return p, false, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, false, fmt.Errorf("pending VM %s: %w", name, err)
	}
	return p, true, nil
}

func (a *Agent) removePending(name string) error {
	err := os.Remove(filepath.Join(a.pendingDir(), name+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (a *Agent) listPending() []pendingVM {
	entries, err := os.ReadDir(a.pendingDir())
	if err != nil {
		return nil
	}
	var out []pendingVM
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		if p, ok, err := a.loadPending(name); ok {
			out = append(out, p)
		} else if err != nil {
			a.log.Warn("unreadable pending VM", "file", e.Name(), "err", err)
		}
	}
	return out
}
