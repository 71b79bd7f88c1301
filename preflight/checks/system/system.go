package system

import (
	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/profiles"
)

// Checks returns the system checks for p. It does no I/O. Every check is
// returned whatever the profile says (so every ID is known); one the
// profile does not require reports skip.
func Checks(p *profiles.Profile) []preflight.Check {
	return []preflight.Check{
		checkOSRelease(p),
		checkRepos(p),
		checkPackages(p),
		checkSELinux(p),
		checkPrompt(p),
	}
}
