package hostfiles

import (
	"strings"

	"github.com/vmnode/vmnode/provision"
	"github.com/vmnode/vmnode/provision/files"
)

// SELinuxConfig is the file the selinux step edits.
const SELinuxConfig = "/etc/selinux/config"

// SELinux sets SELINUX=disabled (seed 004). A host without SELinux has no
// config file and needs nothing. A reboot finishes the change.
func SELinux(ed *files.Editor) provision.Step {
	return &fileStep{name: "selinux", ed: ed, desired: func(ed *files.Editor) ([]Edit, []string, error) {
		cur, exists, err := ed.Read(SELinuxConfig)
		if err != nil || !exists {
			return nil, nil, err
		}
		return []Edit{{Path: SELinuxConfig, Content: disableSELinux(cur), Mode: 0o644, Summary: "set SELINUX=disabled"}},
			[]string{"reboot the host to finish disabling SELinux (the running kernel keeps its current mode until then)"}, nil
	}}
}

// disableSELinux sets every SELINUX= line to disabled, or appends one, and
// keeps everything else (SELINUXTYPE, comments, line endings).
func disableSELinux(b []byte) []byte {
	eol := lineEnding(b)
	ls := lines(b)
	found := false
	for i, l := range ls {
		if k, _, ok := strings.Cut(strings.TrimSpace(l), "="); ok && strings.TrimSpace(k) == "SELINUX" {
			ls[i], found = "SELINUX=disabled", true
		}
	}
	if !found {
		ls = append(ls, "SELINUX=disabled")
	}
	return join(ls, eol)
}
