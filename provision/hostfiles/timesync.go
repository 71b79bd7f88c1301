package hostfiles

import (
	"fmt"
	"strings"

	"github.com/vmnode/vmnode/provision"
	"github.com/vmnode/vmnode/provision/files"
)

// ChronyConfs are chrony's main configuration files: Debian's, then RHEL's.
var ChronyConfs = []string{"/etc/chrony/chrony.conf", "/etc/chrony.conf"}

const (
	blockBegin = "# BEGIN vmnode: NTP servers managed by vmnode provision"
	blockEnd   = "# END vmnode"
)

// ChronyServers puts the profile's/config's NTP servers in chrony's main
// configuration, in a block vmnode owns; the distribution's own lines are
// kept. No servers configured means nothing to do.
func ChronyServers(ed *files.Editor, servers []string) provision.Step {
	return &fileStep{name: "time", ed: ed, desired: func(ed *files.Editor) ([]Edit, []string, error) {
		if len(servers) == 0 {
			return nil, nil, nil
		}
		for _, conf := range ChronyConfs {
			cur, exists, err := ed.Read(conf)
			if err != nil {
				return nil, nil, err
			}
			if !exists {
				continue
			}
			return []Edit{{Path: conf, Content: chronyBlock(cur, servers), Mode: 0o644,
					Summary: "use NTP servers " + strings.Join(servers, ", ")}},
				[]string{"run `systemctl restart chronyd` (chrony on Debian) for the servers to take effect"}, nil
		}
		return nil, nil, fmt.Errorf("chrony is not installed (no %s): install it with apt-get install chrony or dnf install chrony", strings.Join(ChronyConfs, " or "))
	}}
}

// chronyBlock replaces vmnode's block in a chrony.conf, or appends it.
func chronyBlock(b []byte, servers []string) []byte {
	eol := lineEnding(b)
	block := []string{blockBegin}
	for _, s := range servers {
		block = append(block, "server "+s+" iburst")
	}
	block = append(block, blockEnd)
	var out []string
	in, done := false, false
	for _, l := range lines(b) {
		switch {
		case strings.TrimSpace(l) == blockBegin:
			in = true
		case in && strings.TrimSpace(l) == blockEnd:
			in = false
			if !done {
				out, done = append(out, block...), true
			}
		case !in:
			out = append(out, l)
		}
	}
	if !done {
		out = append(out, block...)
	}
	return join(out, eol)
}
