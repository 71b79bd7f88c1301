package storage

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sysTree builds the sysfs tree described by testdata/sriov-host.txt.
func sysTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	f, err := os.Open("testdata/sriov-host.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var err error
		if path, target, ok := strings.Cut(line, " -> "); ok {
			p := filepath.Join(root, path)
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = os.Symlink(target, p)
			}
		} else if path, text, ok := strings.Cut(line, " = "); ok {
			p := filepath.Join(root, path)
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = os.WriteFile(p, []byte(text+"\n"), 0o644)
			}
		} else {
			err = os.MkdirAll(filepath.Join(root, line), 0o755)
		}
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	return root
}

func TestVFs(t *testing.T) {
	vfs, err := VFs(sysTree(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(vfs) != 12 {
		t.Fatalf("got %d VFs, want 12: %+v", len(vfs), vfs)
	}
	want := []VF{{"eno1", 0, "0000:3b:02.0"}, {"eno1", 1, "0000:3b:02.1"}, {"eno1", 9, "0000:3b:03.1"}, {"eno1", 10, "0000:3b:03.2"}, {"eno1", 11, "0000:3b:03.3"}}
	got := []VF{vfs[0], vfs[1], vfs[9], vfs[10], vfs[11]}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("VFs (numeric order of virtfnN) =\n  %+v\nwant\n  %+v", got, want)
	}
}

func TestVFsNone(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "sys/class/net"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../devices/virtual/net/lo", filepath.Join(root, "sys/class/net/lo")); err != nil {
		t.Fatal(err)
	}
	vfs, err := VFs(root)
	if err != nil || len(vfs) != 0 {
		t.Fatalf("VFs = %v, %v; want none", vfs, err)
	}
	_, err = FreeVF(vfs, nil, "")
	want := "no SR-IOV virtual function on this host: no network interface has VFs enabled (echo N > /sys/class/net/IF/device/sriov_numvfs)"
	if err == nil || err.Error() != want {
		t.Errorf("FreeVF: %v\nwant %s", err, want)
	}
	if _, err := VFs(filepath.Join(root, "missing")); err == nil {
		t.Error("VFs of a root without sys/class/net: want an error")
	}
}

func TestFreeVF(t *testing.T) {
	vfs, err := VFs(sysTree(t))
	if err != nil {
		t.Fatal(err)
	}
	all := make([]string, len(vfs))
	for i, v := range vfs {
		all[i] = strings.ToUpper(v.Address) // used lists may come in any case
	}
	tests := []struct {
		name    string
		used    []string
		pf      string
		want    string // PCI address, or
		wantErr string
	}{
		{"first", nil, "", "0000:3b:02.0", ""},
		{"skips used", []string{"0000:3b:02.0", "0000:3B:02.1"}, "", "0000:3b:02.2", ""},
		{"on pf", all[:11], "eno1", "0000:3b:03.3", ""},
		{"all used", all, "", "", "all 12 SR-IOV virtual functions on this host are in use"},
		{"all used on pf", all, "eno1", "", "all 12 SR-IOV virtual functions of eno1 are in use"},
		{"pf without vfs", nil, "eno2", "", "no SR-IOV virtual function on interface eno2: it has no VFs enabled (echo N > /sys/class/net/eno2/device/sriov_numvfs); interfaces with VFs: eno1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vf, err := FreeVF(vfs, tc.used, tc.pf)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("FreeVF: %v, %v; want error %q", vf, err, tc.wantErr)
				}
				return
			}
			if err != nil || vf.Address != tc.want {
				t.Fatalf("FreeVF: %+v, %v; want %s", vf, err, tc.want)
			}
		})
	}
}
