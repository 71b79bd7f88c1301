package system

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/profiles"
)

// DpkgStatus is dpkg's database of installed packages.
const DpkgStatus = "/var/lib/dpkg/status"

// DpkgPackage is one stanza of the dpkg status file.
type DpkgPackage struct {
	Name     string
	Status   string   // "install ok installed" when installed
	Provides []string // virtual package names, without versions
}

// Installed reports whether dpkg considers the package installed.
func (p DpkgPackage) Installed() bool {
	f := strings.Fields(p.Status)
	return len(f) == 3 && f[2] == "installed"
}

// parseDpkgStatus parses /var/lib/dpkg/status: deb822 stanzas with
// Package:, Status: and Provides: fields (others are skipped).
func parseDpkgStatus(data []byte) ([]DpkgPackage, error) {
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return nil, errors.New("not a text file")
	}
	var out []DpkgPackage
	var cur DpkgPackage
	inStanza := false
	flush := func(line int) error {
		if !inStanza {
			return nil
		}
		inStanza = false
		if cur.Name == "" {
			return fmt.Errorf("stanza ending at line %d has no Package field", line)
		}
		out = append(out, cur)
		cur = DpkgPackage{}
		return nil
	}
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		if strings.TrimSpace(line) == "" {
			if err := flush(i + 1); err != nil {
				return nil, err
			}
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !inStanza {
				return nil, fmt.Errorf("line %d: continuation outside a stanza", i+1)
			}
			continue // Description and Conffiles continuations
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("line %d: %q is not Field: value", i+1, line)
		}
		inStanza = true
		v = strings.TrimSpace(v)
		switch k {
		case "Package":
			cur.Name = v
		case "Status":
			cur.Status = v
		case "Provides":
			for _, p := range strings.Split(v, ",") {
				if f := strings.Fields(p); len(f) > 0 {
					cur.Provides = append(cur.Provides, f[0])
				}
			}
		}
	}
	if err := flush(len(lines)); err != nil {
		return nil, err
	}
	return out, nil
}

// dpkgMissing lists the wanted packages dpkg does not have installed
// (directly or as a provided virtual package).
func dpkgMissing(pkgs []DpkgPackage, want []string) []string {
	have := map[string]bool{}
	for _, p := range pkgs {
		if p.Installed() {
			have[p.Name] = true
			for _, v := range p.Provides {
				have[v] = true
			}
		}
	}
	var missing []string
	for _, w := range want {
		if !have[w] {
			missing = append(missing, w)
		}
	}
	return missing
}

// PackageExecutables are the files that prove a package is installed when
// no package database can be asked (an RPM tree under --root).
var PackageExecutables = map[string][]string{
	"dmidecode": {"/usr/sbin/dmidecode"},
	"python3":   {"/usr/bin/python3"},
}

func executablesOf(name string) []string {
	if p, ok := PackageExecutables[name]; ok {
		return p
	}
	return []string{"/usr/bin/" + name, "/usr/sbin/" + name}
}

// present reports whether the path exists in the tree, without following a
// final symlink (/usr/bin/python3 -> /etc/alternatives/python3 would
// otherwise be resolved on the machine running vmnode).
func present(h *host.Host, p string) bool {
	_, err := fs.Lstat(h.Files, host.Rel(p))
	return err == nil
}

// rpmAnswer is what `rpm -q` said about one package.
type rpmAnswer int

const (
	rpmInstalled rpmAnswer = iota
	rpmMissing
	rpmUnusable // rpm is not there or did not run: use other evidence
)

func rpmQuery(ctx context.Context, h *host.Host, name string) rpmAnswer {
	ans := func(out []byte, err error) rpmAnswer {
		if err == nil {
			return rpmInstalled
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) || bytes.Contains(out, []byte("not installed")) || bytes.Contains(out, []byte("no package provides")) ||
			strings.Contains(err.Error(), "not installed") || strings.Contains(err.Error(), "no package provides") {
			return rpmMissing
		}
		return rpmUnusable
	}
	a := ans(h.Exec.Run(ctx, "rpm", "-q", name))
	if a != rpmMissing {
		return a
	}
	// EL8 ships python3 as python36 (and other names as provides): ask
	// what provides the name before calling it missing.
	return ans(h.Exec.Run(ctx, "rpm", "-q", "--whatprovides", name))
}

// installCommand is the command that installs pkgs on the family.
func installCommand(family string, pkgs []string) string {
	switch family {
	case "debian":
		return "apt-get install -y " + strings.Join(pkgs, " ")
	case "rhel7":
		return "yum install -y " + strings.Join(pkgs, " ")
	default:
		return "dnf install -y " + strings.Join(pkgs, " ")
	}
}

// judgePackages reports the missing packages; evidence says how they were
// found out.
func judgePackages(family, evidence string, want, missing []string) preflight.Result {
	expected := strings.Join(want, ", ") + " installed"
	if len(missing) == 0 {
		return preflight.Passf("%s installed (%s)", strings.Join(want, ", "), evidence).Saw(strings.Join(want, ", ")+" installed", expected)
	}
	var have []string
	for _, w := range want {
		if !slices.Contains(missing, w) {
			have = append(have, w)
		}
	}
	observed := "missing: " + strings.Join(missing, ", ")
	if len(have) > 0 {
		observed += "; installed: " + strings.Join(have, ", ")
	}
	return preflight.Failf("required packages missing: %s (%s)", strings.Join(missing, ", "), evidence).
		Saw(observed, expected).
		Remedy("%s", installCommand(family, missing))
}

func checkPackages(p *profiles.Profile) preflight.Check {
	want := slices.Clone(p.Packages)
	profFamily := p.OS.Family
	return preflight.Func{
		CheckID:    "packages.required",
		CheckTitle: "Required packages installed",
		Fn: func(ctx context.Context, h *host.Host) preflight.Result {
			if len(want) == 0 {
				return preflight.Skipf("the profile requires no packages")
			}
			family := repoFamily(h)
			if family == "" {
				family = profFamily
			}
			data, err := h.ReadFile(DpkgStatus)
			switch {
			case err == nil:
				pkgs, err := parseDpkgStatus(data)
				if err != nil {
					return preflight.Errorf("cannot read the dpkg database: %s: %v", DpkgStatus, err).
						Remedy("check %s (dpkg --audit); a backup is in /var/backups/dpkg.status.*", DpkgStatus)
				}
				if family == "" || family == "rhel" || family == "rhel7" {
					family = "debian"
				}
				return judgePackages(family, "from "+DpkgStatus, want, dpkgMissing(pkgs, want))
			case !errors.Is(err, fs.ErrNotExist):
				return preflight.Errorf("cannot read the dpkg database: %v", err)
			}
			if h.Live {
				var missing []string
				usable := true
				for _, w := range want {
					switch rpmQuery(ctx, h, w) {
					case rpmMissing:
						missing = append(missing, w)
					case rpmUnusable:
						usable = false
					}
					if !usable {
						break
					}
				}
				if usable {
					return judgePackages(family, "from rpm -q", want, missing)
				}
			}
			var missing, seen []string
			for _, w := range want {
				found := ""
				for _, f := range executablesOf(w) {
					if present(h, f) {
						found = f
						break
					}
				}
				if found == "" {
					missing = append(missing, w)
				} else {
					seen = append(seen, found)
				}
			}
			evidence := "no package database readable here; judged by executables"
			if len(seen) > 0 {
				evidence += " (found " + strings.Join(seen, ", ") + ")"
			}
			return judgePackages(family, evidence, want, missing)
		},
	}
}
