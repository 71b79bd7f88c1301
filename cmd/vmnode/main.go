// Command vmnode validates, provisions and joins KVM cluster nodes.
// Each file here is one command: flags, configuration and exit codes only.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vmnode/vmnode/preflight"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr marks err as a usage, config or profile error (exit 2).
func usageErr(err error) error { return &exitError{code: preflight.ExitUsage, err: err} }

// silentExit ends the process with code; the command already said why.
type silentExit int

func (s silentExit) Error() string { return fmt.Sprintf("exit %d", int(s)) }

func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var silent silentExit
	if errors.As(err, &silent) {
		return int(silent)
	}
	fmt.Fprintf(stderr, "vmnode: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// Cobra's own errors are about flags and arguments.
	return preflight.ExitUsage
}
