package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// remembered is the set of host names this member has seen in the cluster,
// kept on disk so that after a restart the quorum counts the hosts gossip
// has not reached yet: a restarted member alone is not a majority.
type remembered struct {
	path  string
	names []string
}

func loadRemembered(path string) (*remembered, error) {
	r := &remembered{path: path}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("known hosts: %w", err)
	}
	if err := json.Unmarshal(data, &r.names); err != nil {
		return nil, fmt.Errorf("known hosts %s: %w", path, err)
	}
	return r, nil
}

// sync adds the members that count, drops those that left or were reaped,
// and keeps the rest: a member not seen since a restart is still a host. It
// reports whether the set changed.
func (r *remembered) sync(members []Member, reaped []string) (bool, error) {
	names := slices.Clone(r.names)
	for _, m := range members {
		switch {
		case m.Counts() && !slices.Contains(names, m.Name):
			names = append(names, m.Name)
		case !m.Counts():
			names = slices.DeleteFunc(names, func(n string) bool { return n == m.Name })
		}
	}
	names = slices.DeleteFunc(names, func(n string) bool { return slices.Contains(reaped, n) })
	sort.Strings(names)
	if slices.Equal(names, r.names) {
		return false, nil
	}
	r.names = names
	data, _ := json.Marshal(names)
	tmp := r.path + ".tmp"
	if err := os.MkdirAll(filepath.Dir(r.path), 0o700); err != nil {
		return true, err
	}
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return true, err
	}
	return true, os.Rename(tmp, r.path)
}
