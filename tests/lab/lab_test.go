package lab

import (
	"strings"
	"testing"
)

func TestMirror(t *testing.T) {
	tests := []struct {
		name, deb822, oneLine, want string
	}{
		{
			name: "deb822 picks the suite's stanza, not security",
			deb822: "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\nComponents: main\n\n" +
				"Types: deb deb-src\n# a comment\nURIs: http://mirror.example/debian\n  http://other.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n",
			want: "http://mirror.example/debian",
		},
		{
			name:   "disabled stanza is skipped",
			deb822: "Enabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\n\nTypes: deb\nURIs: http://on.example/debian\nSuites: bookworm\n",
			want:   "http://on.example/debian",
		},
		{
			name:    "one-line format with options",
			oneLine: "# deb http://commented.example/debian bookworm main\ndeb-src http://src.example/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://line.example/debian bookworm main\n",
			want:    "http://line.example/debian",
		},
		{name: "nothing for the suite", oneLine: "deb http://x.example/debian bullseye main\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mirrorDeb822([]byte(tt.deb822), "bookworm")
			if got == "" {
				got = mirrorOneLine([]byte(tt.oneLine), "bookworm")
			}
			if got != tt.want {
				t.Errorf("mirror = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestBoot boots the lab container: systemd runs as PID 1 and its bus answers.
func TestBoot(t *testing.T) {
	c := Boot(t, Rootfs(t))
	out, err := c.Exec("systemctl", "show", "-p", "Version", "--value")
	if err != nil || strings.TrimSpace(out) == "" {
		t.Fatalf("systemctl inside the container: %q, %v", out, err)
	}
	out, err = c.Exec("busctl", "--system", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId")
	if err != nil || !strings.HasPrefix(out, "s ") {
		t.Fatalf("system bus inside the container: %q, %v", out, err)
	}
	out, err = c.Exec("ls", "/sys/class/net")
	if err != nil {
		t.Fatal(err)
	}
	if links := strings.Fields(out); len(links) != 1 || links[0] != "lo" {
		t.Errorf("container links = %v, want only lo (--private-network)", links)
	}
}
