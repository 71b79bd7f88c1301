package storage

import (
	"context"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/kdomanski/iso9660"
	"gopkg.in/yaml.v3"
)

const (
	key1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGf1 alice@laptop"
	key2 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC bob"
)

// readSeed reads the seed ISO back with the library's reader: its volume
// label and its files by name.
func readSeed(t *testing.T, path string) (string, map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := iso9660.OpenImage(f)
	if err != nil {
		t.Fatal(err)
	}
	label, err := img.Label()
	if err != nil {
		t.Fatal(err)
	}
	root, err := img.RootDir()
	if err != nil {
		t.Fatal(err)
	}
	children, err := root.GetChildren()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, c := range children {
		b, err := io.ReadAll(c.Reader())
		if err != nil {
			t.Fatal(err)
		}
		files[c.Name()] = string(b)
	}
	return label, files
}

func seedFor(t *testing.T, vm string, c CloudInit) (string, map[string]string) {
	t.Helper()
	s := newStore(t)
	if _, err := s.PrepareDisks(context.Background(), vm, "", 0); err != nil {
		t.Fatal(err)
	}
	path, err := s.WriteSeed(vm, c)
	if err != nil {
		t.Fatal(err)
	}
	if path != s.VMDir(vm)+"/seed.iso" {
		t.Errorf("seed at %s, want VMDir/seed.iso", path)
	}
	return readSeed(t, path)
}

func yamlOf(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%v\n%s", err, s)
	}
	return m
}

func TestWriteSeedGenerated(t *testing.T) {
	label, files := seedFor(t, "web-1", CloudInit{SSHKeys: []string{key1, key2}})
	if label != "cidata" {
		t.Errorf("volume label %q, want cidata (NoCloud looks for it)", label)
	}
	if len(files) != 2 {
		t.Errorf("ISO holds %d files, want meta-data and user-data: %v", len(files), files)
	}
	if got := yamlOf(t, files["meta-data"]); !reflect.DeepEqual(got, map[string]any{"instance-id": "web-1", "local-hostname": "web-1"}) {
		t.Errorf("meta-data = %v", got)
	}
	ud := files["user-data"]
	if !strings.HasPrefix(ud, "#cloud-config\n") {
		t.Errorf("user-data does not start with #cloud-config:\n%s", ud)
	}
	want := map[string]any{"hostname": "web-1", "ssh_authorized_keys": []any{key1, key2}}
	if got := yamlOf(t, ud); !reflect.DeepEqual(got, want) {
		t.Errorf("user-data = %v, want %v", got, want)
	}
}

func TestWriteSeedGivenUserData(t *testing.T) {
	script := "#!/bin/sh\necho hello > /tmp/hello\n"
	_, files := seedFor(t, "vm", CloudInit{Hostname: "app.example.org", InstanceID: "i-42", UserData: script})
	if files["user-data"] != script {
		t.Errorf("script user-data changed:\n%q", files["user-data"])
	}
	if got := yamlOf(t, files["meta-data"]); got["instance-id"] != "i-42" || got["local-hostname"] != "app.example.org" {
		t.Errorf("meta-data = %v", got)
	}

	cc := "#cloud-config\npackages: [nginx]\n"
	if _, files := seedFor(t, "vm", CloudInit{UserData: cc}); files["user-data"] != cc {
		t.Errorf("#cloud-config without keys changed:\n%q", files["user-data"])
	}
}

func TestWriteSeedMergesKeys(t *testing.T) {
	cc := "#cloud-config\n# install the web server\npackages:\n  - nginx\nssh_authorized_keys:\n  - " + key1 + "\n"
	_, files := seedFor(t, "vm", CloudInit{UserData: cc, SSHKeys: []string{key1, key2}})
	ud := files["user-data"]
	if !strings.HasPrefix(ud, "#cloud-config\n") || !strings.Contains(ud, "# install the web server") {
		t.Errorf("merged user-data lost its header or comment:\n%s", ud)
	}
	want := map[string]any{"packages": []any{"nginx"}, "ssh_authorized_keys": []any{key1, key2}}
	if got := yamlOf(t, ud); !reflect.DeepEqual(got, want) {
		t.Errorf("merged user-data = %v, want %v", got, want)
	}

	_, files = seedFor(t, "vm", CloudInit{UserData: "#cloud-config\n", SSHKeys: []string{key2}})
	if got := yamlOf(t, files["user-data"]); !reflect.DeepEqual(got, map[string]any{"ssh_authorized_keys": []any{key2}}) {
		t.Errorf("keys into an empty #cloud-config: %v", got)
	}
}

func TestWriteSeedRefuses(t *testing.T) {
	tests := []struct {
		name string
		vm   string
		c    CloudInit
		want string
	}{
		{"keys with script", "vm", CloudInit{UserData: "#!/bin/sh\ntrue\n", SSHKeys: []string{key1}},
			`user-data is not a #cloud-config (it starts with "#!/bin/sh"): SSH keys can only be merged into a #cloud-config`},
		{"invalid yaml", "vm", CloudInit{UserData: "#cloud-config\npackages: [nginx\n"}, "user-data: invalid #cloud-config YAML"},
		{"not a mapping", "vm", CloudInit{UserData: "#cloud-config\n- a\n- b\n"}, "a #cloud-config must be a YAML mapping"},
		{"keys not a list", "vm", CloudInit{UserData: "#cloud-config\nssh_authorized_keys: x\n", SSHKeys: []string{key1}}, "ssh_authorized_keys in the #cloud-config is not a list"},
		{"hostname from vm name", "db_1", CloudInit{}, `hostname "db_1": want labels of letters, digits and '-'`},
		{"hostname", "vm", CloudInit{Hostname: "-x"}, `hostname "-x"`},
		{"key", "vm", CloudInit{SSHKeys: []string{"AAAA"}}, `ssh key 0 "AAAA": want one line "TYPE KEY [COMMENT]"`},
		{"key newline", "vm", CloudInit{SSHKeys: []string{key1 + "\n" + key2}}, "ssh key 0"},
		{"instance id", "vm", CloudInit{InstanceID: "a b"}, `instance-id "a b": want one word`},
		{"instance id slash", "vm", CloudInit{InstanceID: "../x"}, `instance-id "../x": want one word`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if _, err := s.PrepareDisks(context.Background(), tc.vm, "", 0); err != nil {
				t.Fatal(err)
			}
			_, err := s.WriteSeed(tc.vm, tc.c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("WriteSeed: %v\nwant an error containing %s", err, tc.want)
			}
			if got := files(t, s.VMDir(tc.vm)); len(got) != 0 {
				t.Errorf("VM dir holds %v after a refused seed", got)
			}
		})
	}
}

func TestWriteSeedNeedsVMDir(t *testing.T) {
	s := newStore(t)
	_, err := s.WriteSeed("ghost", CloudInit{})
	if err == nil || !strings.Contains(err.Error(), "does not exist: prepare the VM's disks first") {
		t.Fatalf("WriteSeed without a VM dir: %v", err)
	}
}

func TestWriteSeedReplaces(t *testing.T) {
	s := newStore(t)
	if _, err := s.PrepareDisks(context.Background(), "vm", "", 0); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"one", "two"} {
		path, err := s.WriteSeed("vm", CloudInit{InstanceID: id})
		if err != nil {
			t.Fatal(err)
		}
		if _, files := readSeed(t, path); yamlOf(t, files["meta-data"])["instance-id"] != id {
			t.Errorf("after the seed for %s: meta-data %s", id, files["meta-data"])
		}
	}
	if got := files(t, s.VMDir("vm")); !reflect.DeepEqual(got, []string{"seed.iso"}) {
		t.Errorf("VM dir holds %v, want only seed.iso", got)
	}
}
