package storage

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/runtime/virt/domain"
)

func infoOf(t *testing.T, path string) imgInfo {
	t.Helper()
	var inf struct {
		imgInfo
		BackingFormat string `json:"backing-filename-format"`
	}
	if err := json.Unmarshal([]byte(qemuImg(t, "info", "--output=json", "-U", path)), &inf); err != nil {
		t.Fatal(err)
	}
	if inf.BackingFilename != "" && inf.BackingFormat == "" {
		t.Errorf("%s: overlay without a backing format (qemu would probe it)", path)
	}
	return inf.imgInfo
}

func importBase(t *testing.T, s *Store) Image {
	t.Helper()
	img, err := s.Import(context.Background(), qcow2WithData(t, t.TempDir(), "base.qcow2"), "base", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestPrepareDisksOverlay(t *testing.T) {
	s := newStore(t)
	img := importBase(t, s)
	tests := []struct {
		vm          string
		size        int64
		wantVirtual int64
	}{
		{"keep-size", 0, 8 << 20},
		{"same-size", 8 << 20, 8 << 20},
		{"grown", 64 << 20, 64 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.vm, func(t *testing.T) {
			disks, err := s.PrepareDisks(context.Background(), tc.vm, "base", tc.size)
			if err != nil {
				t.Fatal(err)
			}
			want := []domain.Disk{{Path: filepath.Join(s.Dir, "vms", tc.vm, "disk0.qcow2"), Format: "qcow2"}}
			if !reflect.DeepEqual(disks, want) {
				t.Fatalf("disks = %+v, want %+v", disks, want)
			}
			inf := infoOf(t, disks[0].Path)
			if inf.Format != "qcow2" || inf.BackingFilename != img.Path || inf.VirtualSize != tc.wantVirtual {
				t.Errorf("qemu-img info: format %s, backing %q, virtual size %d; want qcow2 backed by %s, %d bytes",
					inf.Format, inf.BackingFilename, inf.VirtualSize, img.Path, tc.wantVirtual)
			}
			if !filepath.IsAbs(disks[0].Path) {
				t.Errorf("disk path %s is not absolute", disks[0].Path)
			}
		})
	}
}

func TestPrepareDisksRelativeDir(t *testing.T) {
	// A relative Store.Dir still yields absolute disk and backing paths.
	t.Chdir(t.TempDir())
	s := newStore(t)
	s.Dir = "rel"
	importBase(t, s)
	disks, err := s.PrepareDisks(context.Background(), "vm", "base", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(disks[0].Path) || !filepath.IsAbs(infoOf(t, disks[0].Path).BackingFilename) {
		t.Errorf("disk %s, backing %s: want absolute paths", disks[0].Path, infoOf(t, disks[0].Path).BackingFilename)
	}
}

func TestPrepareDisksBlank(t *testing.T) {
	s := newStore(t)
	disks, err := s.PrepareDisks(context.Background(), "empty", "", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if len(disks) != 1 {
		t.Fatalf("disks = %+v, want one", disks)
	}
	inf := infoOf(t, disks[0].Path)
	if inf.Format != "qcow2" || inf.VirtualSize != 1<<30 || inf.BackingFilename != "" {
		t.Errorf("blank disk: %+v, want a 1 GiB qcow2 without backing file", inf)
	}
}

func TestPrepareDisksNone(t *testing.T) {
	s := newStore(t)
	disks, err := s.PrepareDisks(context.Background(), "pxe", "", 0)
	if err != nil || disks != nil {
		t.Fatalf("PrepareDisks = %v, %v; want no disks", disks, err)
	}
	if fi, err := os.Stat(s.VMDir("pxe")); err != nil || !fi.IsDir() {
		t.Errorf("VM dir not created: %v", err)
	}
	if got := files(t, s.VMDir("pxe")); len(got) != 0 {
		t.Errorf("VM dir holds %v, want nothing", got)
	}
}

func TestPrepareDisksExisting(t *testing.T) {
	s := newStore(t)
	if _, err := s.PrepareDisks(context.Background(), "vm", "", 1<<20); err != nil {
		t.Fatal(err)
	}
	_, err := s.PrepareDisks(context.Background(), "vm", "", 1<<20)
	dir, _ := filepath.Abs(s.VMDir("vm"))
	want := "disks for VM vm already exist at " + dir + ": delete the VM or remove the directory"
	if err == nil || err.Error() != want {
		t.Fatalf("PrepareDisks again: %v\nwant %s", err, want)
	}
	if got := files(t, dir); !reflect.DeepEqual(got, []string{"disk0.qcow2"}) {
		t.Errorf("the existing VM dir was touched: %v", got)
	}
}

func TestPrepareDisksRollback(t *testing.T) {
	s := newStore(t)
	img := importBase(t, s)
	ctx := context.Background()
	tests := []struct {
		name  string
		image string
		size  int64
		setup func(t *testing.T)
		want  string
	}{
		{"smaller than image", "base", 1 << 20, nil, "size 1048576 bytes is smaller than image base (8388608 bytes): a disk can grow, not shrink"},
		{"unknown image", "nope", 0, nil, "image nope not found; images: base"},
		{"negative size", "", -1, nil, "size -1: want a positive number of bytes"},
		{"qemu-img fails", "", 1 << 20, func(t *testing.T) {
			s.QemuImg = filepath.Join(t.TempDir(), "no-qemu-img")
			t.Cleanup(func() { s.QemuImg = "qemu-img" })
		}, "no-qemu-img"},
		{"damaged image", "base", 0, func(t *testing.T) {
			b, _ := os.ReadFile(img.Path)
			if err := os.WriteFile(img.Path, b[:300000], 0o644); err != nil {
				t.Fatal(err)
			}
		}, "image base is damaged; re-import it: qemu-img check -f qcow2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup(t)
			}
			_, err := s.PrepareDisks(ctx, "vm", tc.image, tc.size)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("PrepareDisks: %v\nwant an error containing %s", err, tc.want)
			}
			t.Log(err)
			if _, err := os.Stat(s.VMDir("vm")); !os.IsNotExist(err) {
				t.Errorf("VM dir left behind after a failure: %v (holds %v)", err, files(t, s.VMDir("vm")))
			}
		})
	}
}

func TestPrepareDisksRawImage(t *testing.T) {
	s := newStore(t)
	src := filepath.Join(t.TempDir(), "disk.raw")
	os.WriteFile(src, make([]byte, 2<<20), 0o644)
	img, err := s.Import(context.Background(), src, "rawbase", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	disks, err := s.PrepareDisks(context.Background(), "vm", "rawbase", 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	out := qemuImg(t, "info", "--output=json", "-U", disks[0].Path)
	if !strings.Contains(out, `"backing-filename-format": "raw"`) || !strings.Contains(out, `"backing-filename": "`+img.Path+`"`) {
		t.Errorf("overlay on a raw image:\n%s", out)
	}
	// A raw image that changed size since import is refused.
	if err := os.Truncate(img.Path, 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PrepareDisks(context.Background(), "vm2", "rawbase", 0); err == nil || !strings.Contains(err.Error(), "it changed; re-import it") {
		t.Errorf("PrepareDisks on a truncated raw image: %v", err)
	}
}

func TestRemoveVM(t *testing.T) {
	s := newStore(t)
	if _, err := s.PrepareDisks(context.Background(), "vm", "", 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveVM("vm"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.VMDir("vm")); !os.IsNotExist(err) {
		t.Errorf("VM dir still there: %v", err)
	}
	if err := s.RemoveVM("vm"); err != nil {
		t.Errorf("RemoveVM of a removed VM: %v, want nil", err)
	}
	if err := s.RemoveVM(".."); err == nil {
		t.Error("RemoveVM(\"..\"): want a name error, not a removal outside vms/")
	}
	if _, err := os.Stat(s.Dir); err != nil {
		t.Errorf("store dir: %v", err)
	}
}
