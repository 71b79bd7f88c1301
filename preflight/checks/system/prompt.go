package system

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/profiles"
)

// PromptFiles are root's shell start-up files the prompt check reads.
var PromptFiles = []string{"/root/.bashrc", "/root/.bash_profile"}

// PromptSetting is a line that sets or exports PS1 or PROMPT_COMMAND.
type PromptSetting struct {
	File string
	Line int
	Var  string // PS1 or PROMPT_COMMAND
	Text string // the line, trimmed
}

var promptRE = regexp.MustCompile(`(?:^|[\s;&|(])(?:(?:export|declare|typeset|readonly|local)(?:\s+-\w+)*\s+)?(PS1|PROMPT_COMMAND)(?:\+?=|\s*$|\s*;)`)

// stockPromptLines are the PS1 lines of the distributions' own default
// .bashrc (Debian and Ubuntu skel, as copied to /root on Ubuntu). They are
// the default prompt, not a change to it.
var stockPromptLines = map[string]bool{
	`PS1='${debian_chroot:+($debian_chroot)}\[\033[01;32m\]\u@\h\[\033[00m\]:\[\033[01;34m\]\w\[\033[00m\]\$ '`: true,
	`PS1='${debian_chroot:+($debian_chroot)}\u@\h:\w\$ '`:                                                       true,
	`PS1="\[\e]0;${debian_chroot:+($debian_chroot)}\u@\h: \w\a\]$PS1"`:                                          true,
}

// parsePromptSettings finds the lines of a shell start-up file that set or
// export PS1 or PROMPT_COMMAND, skipping comments and the distributions'
// stock lines.
func parsePromptSettings(file string, data []byte) ([]PromptSetting, error) {
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, fmt.Errorf("%s: not a text file", file)
	}
	var out []PromptSetting
	for i, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' {
			continue
		}
		if stockPromptLines[t] {
			continue
		}
		code := t
		if j := strings.Index(code, " #"); j >= 0 {
			code = code[:j]
		}
		if m := promptRE.FindStringSubmatch(code); m != nil {
			out = append(out, PromptSetting{File: file, Line: i + 1, Var: m[1], Text: t})
		}
	}
	return out, nil
}

// judgePrompt warns about every prompt setting found.
func judgePrompt(found []PromptSetting) preflight.Result {
	const expected = "the distribution's default prompt (no PS1 or PROMPT_COMMAND set in root's .bashrc)"
	if len(found) == 0 {
		return preflight.Passf("root's shell start-up files keep the default prompt").Saw("no PS1 or PROMPT_COMMAND changes", expected)
	}
	var lines, where []string
	for _, f := range found {
		lines = append(lines, fmt.Sprintf("%s:%d: %s", f.File, f.Line, f.Text))
		where = append(where, fmt.Sprintf("%s line %d", f.File, f.Line))
	}
	return preflight.Warnf("root's prompt is changed (the platform relies on the default command prompt greeting): %s", strings.Join(where, ", ")).
		Saw(strings.Join(lines, "\n"), expected).
		Remedy("remove or comment out %s (restore the default: cp /etc/skel/.bashrc /root/.bashrc on Debian/Ubuntu, or the bashrc from the bash package on EL)", strings.Join(where, ", "))
}

func checkPrompt(_ *profiles.Profile) preflight.Check {
	return preflight.Func{
		CheckID:    "shell.prompt",
		CheckTitle: "Root's shell prompt unchanged",
		Fn: func(_ context.Context, h *host.Host) preflight.Result {
			var found []PromptSetting
			for _, f := range PromptFiles {
				data, err := h.ReadFile(f)
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				if err != nil {
					return preflight.Errorf("cannot read root's shell start-up file: %v", err)
				}
				s, err := parsePromptSettings(f, data)
				if err != nil {
					return preflight.Errorf("%v", err)
				}
				found = append(found, s...)
			}
			return judgePrompt(found)
		},
	}
}
