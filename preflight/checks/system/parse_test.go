package system

import (
	"maps"
	"slices"
	"testing"
)

var osReleaseTests = []struct {
	name string
	in   string
	want map[string]string
	err  bool
}{
	{"debian", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n", map[string]string{"PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)", "VERSION_ID": "12", "VERSION_CODENAME": "bookworm", "ID": "debian"}, false},
	{"single quotes", "NAME='Alma Linux'\n", map[string]string{"NAME": "Alma Linux"}, false},
	{"escapes", `X="a \"b\" \$c \\ \` + "`" + `d\n"` + "\n", map[string]string{"X": `a "b" $c \ ` + "`d\\n"}, false},
	{"comments and blanks", "# c\n\n  ID=x  \n", map[string]string{"ID": "x"}, false},
	{"empty value", "VARIANT=\n", map[string]string{"VARIANT": ""}, false},
	{"crlf", "ID=debian\r\nVERSION_ID=\"12\"\r\n", map[string]string{"ID": "debian", "VERSION_ID": "12"}, false},
	{"no equals", "ID debian\n", nil, true},
	{"bad key", "1D=x\n", nil, true},
	{"unterminated", "NAME=\"Debian\n", nil, true},
	{"unterminated single", "NAME='Debian\n", nil, true},
	{"concatenation", "NAME=\"a\"\"b\"\n", nil, true},
	{"bare space", "NAME=Debian Linux\n", nil, true},
	{"binary", "\xff\xfe", nil, true},
}

func TestParseOSRelease(t *testing.T) {
	for _, tt := range osReleaseTests {
		got, err := ParseOSRelease([]byte(tt.in))
		if (err != nil) != tt.err {
			t.Errorf("%s: err = %v, want error %v", tt.name, err, tt.err)
			continue
		}
		if !tt.err && !maps.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func FuzzParseOSRelease(f *testing.F) {
	for _, tt := range osReleaseTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		kv, err := ParseOSRelease(data)
		if err != nil && kv != nil {
			t.Fatal("values returned with an error")
		}
	})
}

func TestParseYumRepo(t *testing.T) {
	in := `[a]
name=A
baseurl=http://one.example/a
  http://two.example/a,http://three.example/a
[b]
enabled=0
baseurl=http://disabled.example/
[c]
enabled = 1
metalink=https://mirrors.fedoraproject.org/metalink?repo=epel-8
; comment
[d]
mirrorlist=https://mirrors.almalinux.org/mirrorlist/$releasever/baseos
`
	got, err := parseYumRepo("/etc/yum.repos.d/t.repo", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []string{"a", "c", "d"}) {
		t.Errorf("enabled sections = %v", ids)
	}
	if !slices.Equal(got[0].URLs, []string{"http://one.example/a", "http://two.example/a", "http://three.example/a"}) {
		t.Errorf("baseurl continuation: %v", got[0].URLs)
	}
	for _, bad := range []string{"key=value\n", "[a\nx=1\n", "[a]\nnot a key\n"} {
		if _, err := parseYumRepo("x", []byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseApt(t *testing.T) {
	got, err := parseAptList("/etc/apt/sources.list", []byte("# c\ndeb [arch=amd64 signed-by=/k.gpg] https://download.docker.com/linux/ubuntu focal stable\ndeb-src http://deb.debian.org/debian bookworm main # trailing\n\n"))
	if err != nil || len(got) != 2 || got[0].URLs[0] != "https://download.docker.com/linux/ubuntu" || got[0].Line != 2 {
		t.Errorf("one-line: %+v %v", got, err)
	}
	got, err = parseDeb822("/x.sources", []byte("Types: deb\nURIs: http://deb.debian.org/debian\n  http://ftp.de.debian.org/debian\nSuites: bookworm\n\n# c\nTypes: deb\nURIs: https://deb.nodesource.com/node_20.x\nEnabled: no\n"))
	if err != nil || len(got) != 1 || len(got[0].URLs) != 2 {
		t.Errorf("deb822: %+v %v", got, err)
	}
}

func TestThirdParty(t *testing.T) {
	for u, want := range map[string]bool{
		"http://deb.debian.org/debian":                                false,
		"http://security.debian.org/debian-security":                  false,
		"http://archive.ubuntu.com/ubuntu":                            false,
		"http://ports.ubuntu.com/ubuntu-ports/":                       false,
		"https://mirrors.almalinux.org/mirrorlist/$releasever/baseos": false,
		"http://mirrorlist.centos.org/?release=$releasever&arch=x":    false,
		"https://cdn.redhat.com/content/dist/rhel8/":                  false,
		"https://dl.rockylinux.org/$contentdir/$releasever/BaseOS/":   false,
		"file:///media/cdrom/BaseOS":                                  false,
		"cdrom:[Debian GNU/Linux 12]/":                                false,
		"https://mirrors.fedoraproject.org/metalink?repo=epel-8":      true, // EPEL: third-party by decision
		"https://download.docker.com/linux/centos/7/x86_64/stable":    true,
		"http://ppa.launchpadcontent.net/deadsnakes/ppa/ubuntu":       true,
		"https://evil-debian.org/debian":                              true,
		"http://debian.org.evil.example/":                             true,
		"$mirror/os":                                                  true,
	} {
		if got := thirdParty(u); got != want {
			t.Errorf("thirdParty(%q) = %v, want %v", u, got, want)
		}
	}
}

func FuzzRepoParsers(f *testing.F) {
	for _, s := range []string{"[a]\nbaseurl=http://x/\n  http://y/\nenabled=1\n", "deb [a=b] http://x/ s c\n", "Types: deb\nURIs: http://x\n\n", "[\n", "deb [\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = parseYumRepo("f", data)
		_, _ = parseAptList("f", data)
		_, _ = parseDeb822("f", data)
		_ = judgeRepos("rhel", nil)
	})
}

func TestParseDpkgStatus(t *testing.T) {
	in := "Package: python3\nStatus: install ok installed\nProvides: python3-profiler, python3-supported-max (= 3.11)\nDescription: x\n more\n\nPackage: dmidecode\nStatus: deinstall ok config-files\n"
	got, err := parseDpkgStatus([]byte(in))
	if err != nil || len(got) != 2 {
		t.Fatalf("%+v %v", got, err)
	}
	if !got[0].Installed() || got[1].Installed() || !slices.Equal(got[0].Provides, []string{"python3-profiler", "python3-supported-max"}) {
		t.Errorf("%+v", got)
	}
	if m := dpkgMissing(got, []string{"python3", "dmidecode", "python3-profiler"}); !slices.Equal(m, []string{"dmidecode"}) {
		t.Errorf("missing = %v", m)
	}
}

func FuzzParseDpkgStatus(f *testing.F) {
	f.Add([]byte("Package: a\nStatus: install ok installed\n\n"))
	f.Add([]byte(" x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, err := parseDpkgStatus(data)
		if err == nil {
			_ = dpkgMissing(pkgs, []string{"a"})
		}
	})
}

func TestParseSELinuxConfig(t *testing.T) {
	for in, want := range map[string]string{
		"SELINUX=enforcing\nSELINUXTYPE=targeted\n": "enforcing",
		"# SELINUX=enforcing\nSELINUX=disabled\n":   "disabled",
		"SELINUX=\"permissive\"\n":                  "permissive",
		"SELINUX=enforcing\nSELINUX=disabled\n":     "disabled",
		"SELINUX=bogus\n":                           "",
		"":                                          "",
	} {
		got, err := parseSELinuxConfig([]byte(in))
		if got != want || (err != nil) != (want == "") {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
}

func FuzzParseSELinuxConfig(f *testing.F) {
	f.Add([]byte("SELINUX=enforcing\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = parseSELinuxConfig(data)
		_, _ = parseEnforce(data)
	})
}

func TestParsePromptSettings(t *testing.T) {
	for in, want := range map[string][]string{
		"PS1='custom '\n":               {"PS1"},
		"export PS1=\"\\h$ \"\n":        {"PS1"},
		"export PS1\n":                  {"PS1"},
		"PROMPT_COMMAND='history -a'\n": {"PROMPT_COMMAND"},
		"PROMPT_COMMAND+=';x'\n":        {"PROMPT_COMMAND"},
		"declare -x PS1='x'\n":          {"PS1"},
		"if true; then PS1='x'; fi\n":   {"PS1"},
		"# PS1='x'\n":                   nil,
		"[ -z \"$PS1\" ] && return\n":   nil,
		"echo $PS1\n":                   nil,
		"MYPS1=x\n":                     nil,
		"    PS1='${debian_chroot:+($debian_chroot)}\\u@\\h:\\w\\$ '\n": nil, // Debian/Ubuntu skel default
	} {
		got, err := parsePromptSettings("/root/.bashrc", []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		var vars []string
		for _, g := range got {
			vars = append(vars, g.Var)
		}
		if !slices.Equal(vars, want) {
			t.Errorf("%q: %v, want %v", in, vars, want)
		}
	}
}

func FuzzParsePromptSettings(f *testing.F) {
	f.Add([]byte("export PS1='x'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parsePromptSettings("f", data)
		if err == nil {
			_ = judgePrompt(s)
		}
	})
}
