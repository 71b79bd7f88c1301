package system

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/profiles"
)

// Repo is one enabled package repository.
type Repo struct {
	File string   // the file that defines it
	ID   string   // yum section name; "" for apt
	URLs []string // baseurl, mirrorlist and metalink (yum) or URIs (apt)
	Line int      // apt one-line format: the line number
}

// DistributionDomains are the domains whose repositories belong to the
// distribution itself. EPEL (fedoraproject.org) is deliberately absent: it
// is an add-on repository, third-party for an "unmodified minimal OS".
var DistributionDomains = []string{
	"debian.org", "ubuntu.com", "almalinux.org", "centos.org", "rockylinux.org", "redhat.com",
}

// parseYumRepo parses a yum/dnf .repo file (INI): every section with
// enabled unset or true is returned with its baseurl (which may continue on
// indented lines), mirrorlist and metalink.
func parseYumRepo(file string, data []byte) ([]Repo, error) {
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return nil, fmt.Errorf("%s: not a text file", file)
	}
	type section struct {
		repo    Repo
		enabled bool
	}
	var secs []*section
	var cur *section
	var lastKey string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	n := 0
	for sc.Scan() {
		n++
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if raw[0] == ' ' || raw[0] == '\t' { // continuation of the previous value
			if cur != nil && lastKey == "baseurl" {
				cur.repo.URLs = append(cur.repo.URLs, strings.Fields(strings.ReplaceAll(line, ",", " "))...)
			}
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				return nil, fmt.Errorf("%s line %d: bad section header %q", file, n, line)
			}
			cur = &section{repo: Repo{File: file, ID: strings.TrimSpace(line[1 : len(line)-1])}, enabled: true}
			secs = append(secs, cur)
			lastKey = ""
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s line %d: %q is not key=value", file, n, line)
		}
		if cur == nil {
			return nil, fmt.Errorf("%s line %d: %q before any [section]", file, n, line)
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		lastKey = k
		switch k {
		case "enabled":
			cur.enabled = slices.Contains([]string{"1", "yes", "true", "on"}, strings.ToLower(v))
		case "baseurl":
			cur.repo.URLs = append(cur.repo.URLs, strings.Fields(strings.ReplaceAll(v, ",", " "))...)
		case "mirrorlist", "metalink":
			if v != "" {
				cur.repo.URLs = append(cur.repo.URLs, v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var out []Repo
	for _, s := range secs {
		if s.enabled {
			out = append(out, s.repo)
		}
	}
	return out, nil
}

// parseAptList parses the one-line format of sources.list(5):
// "deb [options] URI suite [component...]" and deb-src lines.
func parseAptList(file string, data []byte) ([]Repo, error) {
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return nil, fmt.Errorf("%s: not a text file", file)
	}
	var out []Repo
	for i, line := range strings.Split(string(data), "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] != "deb" && f[0] != "deb-src" {
			return nil, fmt.Errorf("%s line %d: %q is not a deb or deb-src line", file, i+1, strings.TrimSpace(line))
		}
		rest := strings.TrimSpace(strings.Join(f[1:], " "))
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("%s line %d: unterminated [options]", file, i+1)
			}
			rest = rest[end+1:]
		}
		args := strings.Fields(rest)
		if len(args) < 2 {
			return nil, fmt.Errorf("%s line %d: want URI and suite", file, i+1)
		}
		out = append(out, Repo{File: file, URLs: []string{args[0]}, Line: i + 1})
	}
	return out, nil
}

// parseDeb822 parses the deb822 format of sources.list(5) (*.sources):
// stanzas separated by blank lines, with URIs: and optional Enabled: no.
func parseDeb822(file string, data []byte) ([]Repo, error) {
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return nil, fmt.Errorf("%s: not a text file", file)
	}
	var out []Repo
	fields := map[string]string{}
	var last string
	start := 0
	flush := func() error {
		if len(fields) == 0 {
			return nil
		}
		defer clear(fields)
		if strings.EqualFold(fields["enabled"], "no") {
			return nil
		}
		uris := strings.Fields(fields["uris"])
		if len(uris) == 0 {
			return fmt.Errorf("%s: stanza at line %d has no URIs", file, start)
		}
		out = append(out, Repo{File: file, URLs: uris, Line: start})
		return nil
	}
	for i, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if strings.TrimSpace(line) == "" {
			if err := flush(); err != nil {
				return nil, err
			}
			last = ""
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last == "" {
				return nil, fmt.Errorf("%s line %d: continuation line without a field", file, i+1)
			}
			fields[last] += " " + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("%s line %d: %q is not Field: value", file, i+1, line)
		}
		if len(fields) == 0 {
			start = i + 1
		}
		last = strings.ToLower(k)
		fields[last] = strings.TrimSpace(v)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// thirdParty reports whether a repository URL points outside the
// distribution. Local media and mirror lists (file:, cdrom:, copy:,
// mirror+file:) count as the distribution's own: they name no host.
func thirdParty(raw string) bool {
	switch {
	case strings.HasPrefix(raw, "cdrom:"), strings.HasPrefix(raw, "file:"), strings.HasPrefix(raw, "copy:"), strings.HasPrefix(raw, "mirror+file:"):
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return true
	}
	h := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	for _, d := range DistributionDomains {
		if h == d || strings.HasSuffix(h, "."+d) {
			return false
		}
	}
	return true
}

// Finding is a third-party repository.
type Finding struct {
	Repo Repo
	URL  string
}

func (f Finding) String() string {
	where := f.Repo.File
	switch {
	case f.Repo.ID != "":
		where += " [" + f.Repo.ID + "]"
	case f.Repo.Line > 0:
		where += fmt.Sprintf(":%d", f.Repo.Line)
	}
	return where + " " + f.URL
}

// judgeRepos warns about every third-party repository URL.
func judgeRepos(family string, repos []Repo) preflight.Result {
	var bad []Finding
	for _, r := range repos {
		for _, u := range r.URLs {
			if thirdParty(u) {
				bad = append(bad, Finding{Repo: r, URL: u})
			}
		}
	}
	expected := "only the distribution's repositories (" + strings.Join(DistributionDomains, ", ") + ")"
	if len(bad) == 0 {
		if len(repos) == 0 {
			return preflight.Passf("no enabled package repositories").Saw("none", expected)
		}
		return preflight.Passf("%d enabled repositories, all from the distribution", len(repos)).Saw(fmt.Sprintf("%d distribution repositories", len(repos)), expected)
	}
	var lines []string
	for _, f := range bad {
		lines = append(lines, f.String())
	}
	return preflight.Warnf("third-party package repositories (the node should run an unmodified minimal OS): %s", strings.Join(lines, "; ")).
		Saw(strings.Join(lines, "\n"), expected).
		Remedy("%s", repoRemedy(family, bad))
}

func repoRemedy(family string, bad []Finding) string {
	var yumIDs, files, lines []string
	for _, f := range bad {
		switch {
		case f.Repo.ID != "":
			if !slices.Contains(yumIDs, f.Repo.ID) {
				yumIDs = append(yumIDs, f.Repo.ID)
			}
		case strings.HasSuffix(f.Repo.File, "/sources.list"):
			lines = append(lines, fmt.Sprintf("%s:%d", f.Repo.File, f.Repo.Line))
		default:
			if !slices.Contains(files, f.Repo.File) {
				files = append(files, f.Repo.File)
			}
		}
	}
	var out []string
	if len(yumIDs) > 0 {
		if family == "rhel7" {
			out = append(out, "yum-config-manager --disable "+strings.Join(yumIDs, " "))
		} else {
			out = append(out, "dnf config-manager --set-disabled "+strings.Join(yumIDs, " "))
		}
	}
	if len(files) > 0 {
		out = append(out, "rm "+strings.Join(files, " ")+" && apt-get update")
	}
	if len(lines) > 0 {
		out = append(out, "comment out "+strings.Join(lines, ", ")+", then apt-get update")
	}
	return "disable the third-party repositories (or waive os.repositories if the cluster needs them): " + strings.Join(out, "; ")
}

// readRepos gathers every enabled repository of the host.
func readRepos(h *host.Host) ([]Repo, error) {
	type source struct {
		pattern string
		parse   func(string, []byte) ([]Repo, error)
	}
	var repos []Repo
	for _, s := range []source{
		{"/etc/yum.repos.d/*.repo", parseYumRepo},
		{"/etc/apt/sources.list", parseAptList},
		{"/etc/apt/sources.list.d/*.list", parseAptList},
		{"/etc/apt/sources.list.d/*.sources", parseDeb822},
	} {
		files, err := h.Glob(s.pattern)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", s.pattern, err)
		}
		for _, f := range files {
			data, err := h.ReadFile(f)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && path.Base(f) == "sources.list" {
					continue
				}
				return nil, err
			}
			r, err := s.parse(f, data)
			if err != nil {
				return nil, err
			}
			repos = append(repos, r...)
		}
	}
	return repos, nil
}

func checkRepos(_ *profiles.Profile) preflight.Check {
	return preflight.Func{
		CheckID:    "os.repositories",
		CheckTitle: "No third-party package repositories",
		Fn: func(_ context.Context, h *host.Host) preflight.Result {
			repos, err := readRepos(h)
			if err != nil {
				return preflight.Errorf("cannot read the package repositories: %v", err).
					Remedy("fix or remove the unreadable repository file")
			}
			return judgeRepos(repoFamily(h), repos)
		},
	}
}

// repoFamily is "rhel7" for yum-only releases, else the os-release family.
func repoFamily(h *host.Host) string {
	r, err := ReadOSRelease(h)
	if err != nil {
		return ""
	}
	if r.Family() == "rhel" && (r.VersionID == "7" || strings.HasPrefix(r.VersionID, "7.")) {
		return "rhel7"
	}
	return r.Family()
}
