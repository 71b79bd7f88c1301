package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// imgInfo is the part of `qemu-img info --output=json` vmnode reads.
type imgInfo struct {
	Format              string `json:"format"`
	VirtualSize         int64  `json:"virtual-size"`
	BackingFilename     string `json:"backing-filename"`
	FullBackingFilename string `json:"full-backing-filename"`
	FormatSpecific      struct {
		Data struct {
			Corrupt  bool   `json:"corrupt"`
			DataFile string `json:"data-file"`
		} `json:"data"`
	} `json:"format-specific"`
}

// qemuImgError is a failed qemu-img run, with what it said on stderr.
type qemuImgError struct {
	args   []string
	err    error
	stderr string
}

func (e *qemuImgError) Error() string {
	msg := fmt.Sprintf("qemu-img %s: %v", strings.Join(e.args, " "), e.err)
	if out := summarize(e.stderr, 5); out != "" {
		msg += ": " + out
	}
	return msg
}

func (e *qemuImgError) Unwrap() error { return e.err }

// exitCode of a qemu-img run that ran and failed, or -1.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// qemuImg runs qemu-img with LC_ALL=C and returns its stdout.
func (s *Store) qemuImg(ctx context.Context, args ...string) (stdout []byte, err error) {
	bin := s.QemuImg
	if bin == "" {
		bin = "qemu-img"
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.WaitDelay = 5 * time.Second // a killed qemu-img's children may hold the pipes
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return out.Bytes(), &qemuImgError{args: args, err: err, stderr: errb.String()}
	}
	return out.Bytes(), nil
}

func (s *Store) info(ctx context.Context, path, format string) (imgInfo, error) {
	// -U: the image may be open in a running VM (qemu holds a lock).
	args := []string{"info", "--output=json", "-U"}
	if format != "" {
		args = append(args, "-f", format)
	}
	out, err := s.qemuImg(ctx, append(args, path)...)
	if err != nil {
		return imgInfo{}, err
	}
	var inf imgInfo
	if err := json.Unmarshal(out, &inf); err != nil {
		return imgInfo{}, fmt.Errorf("qemu-img info %s: read its JSON: %w", path, err)
	}
	return inf, nil
}

// check runs `qemu-img check` on a qcow2 image. Leaked clusters (exit 3)
// waste space but harm nothing and pass; corruption (2) and failures to
// check at all (1) do not.
func (s *Store) check(ctx context.Context, path string) error {
	out, err := s.qemuImg(ctx, "check", "-f", "qcow2", path)
	if err == nil || exitCode(err) == 3 {
		return nil
	}
	var qe *qemuImgError
	if errors.As(err, &qe) && exitCode(err) == 2 {
		// stdout has the verdict ("3 errors were found on the image."),
		// stderr possibly thousands of ERROR lines.
		verdict, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		qe.stderr = verdict + "\n" + qe.stderr
	}
	return err
}

// summarize keeps the first n non-empty lines of a tool's output.
func summarize(s string, n int) string {
	var lines []string
	for l := range strings.SplitSeq(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("(%d more lines)", len(lines)-n))
	}
	return strings.Join(lines, "\n")
}
