package storage

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestImport(t *testing.T) {
	s := newStore(t)
	src := qcow2WithData(t, t.TempDir(), "debian-12-generic.qcow2")
	st, _ := os.Stat(src)
	sum := sha256File(t, src)

	var calls [][2]int64
	img, err := s.Import(context.Background(), src, "debian-12", sum, func(done, total int64) {
		calls = append(calls, [2]int64{done, total})
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Image{
		Name: "debian-12", Format: "qcow2", SHA256: sum, Size: st.Size(), VirtualSize: 8 << 20,
		Imported: importTime, Source: "debian-12-generic.qcow2", Path: filepath.Join(s.Dir, "images", "debian-12.qcow2"),
	}
	if !reflect.DeepEqual(img, want) {
		t.Errorf("Import =\n  %+v\nwant\n  %+v", img, want)
	}
	if got := sha256File(t, img.Path); got != sum {
		t.Errorf("imported file's sha256 %s, source's %s", got, sum)
	}
	if fi, err := os.Stat(img.Path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("image file: %v, mode %v; want 0644 (qemu runs as another user)", err, fi.Mode())
	}
	if got := files(t, filepath.Join(s.Dir, "images")); !reflect.DeepEqual(got, []string{"debian-12.json", "debian-12.qcow2"}) {
		t.Errorf("images dir holds %v, want the image and its json only", got)
	}
	if len(calls) == 0 || calls[len(calls)-1] != [2]int64{st.Size(), st.Size()} {
		t.Errorf("progress calls end with %v, want done = total = %d", calls[len(calls)-1:], st.Size())
	}
	for i := 1; i < len(calls); i++ {
		if calls[i][0] < calls[i-1][0] {
			t.Errorf("progress went backwards: %v", calls)
		}
	}

	var onDisk map[string]any
	b, _ := os.ReadFile(filepath.Join(s.Dir, "images", "debian-12.json"))
	if err := json.Unmarshal(b, &onDisk); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "format", "sha256", "size", "virtual_size", "imported", "source"} {
		if _, ok := onDisk[k]; !ok {
			t.Errorf("metadata json lacks %q: %s", k, b)
		}
	}

	got, err := s.Image("debian-12")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Image = %+v, %v", got, err)
	}
	imgs, err := s.Images()
	if err != nil || len(imgs) != 1 || !reflect.DeepEqual(imgs[0], want) {
		t.Errorf("Images = %+v, %v", imgs, err)
	}
}

func TestImportRaw(t *testing.T) {
	s := newStore(t)
	src := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(src, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	img, err := s.Import(context.Background(), src, "blank", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if img.Format != "raw" || img.VirtualSize != 1<<20 || filepath.Base(img.Path) != "blank.raw" {
		t.Errorf("Import = %+v, want a raw image of 1 MiB at blank.raw", img)
	}
}

// assertNothingImported: a failed import leaves no file behind.
func assertNothingImported(t *testing.T, s *Store) {
	t.Helper()
	if got := files(t, filepath.Join(s.Dir, "images")); len(got) != 0 {
		t.Errorf("after a failed import the images dir holds %v", got)
	}
}

func TestImportRefuses(t *testing.T) {
	dir := t.TempDir()
	good := qcow2WithData(t, dir, "good.qcow2")
	goodSum := sha256File(t, good)
	zeros := strings.Repeat("0", 64)

	garbage := filepath.Join(dir, "garbage.qcow2")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not an image ", 10000)), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.qcow2")
	b, _ := os.ReadFile(good)
	if err := os.WriteFile(truncated, b[:300000], 0o644); err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(dir, "overlay.qcow2")
	qemuImg(t, "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", good, overlay)
	vmdk := filepath.Join(dir, "disk.vmdk")
	qemuImg(t, "create", "-q", "-f", "vmdk", vmdk, "1M")

	tests := []struct {
		name, file, image, sha string
		want                   []string
	}{
		{"checksum mismatch", good, "x", zeros, []string{"checksum mismatch: the file's SHA-256 is " + goodSum, "the given checksum says " + zeros}},
		{"checksum syntax", good, "x", "abc", []string{`sha256 "abc": want 64 hex digits`}},
		{"garbage named qcow2", garbage, "x", "", []string{"garbage.qcow2 is named like a qcow2 image but qemu-img finds no qcow2 header"}},
		{"truncated qcow2", truncated, "x", "", []string{"the qcow2 image is damaged", "qemu-img check -f qcow2", "errors were found on the image", "ERROR"}},
		{"backing file", overlay, "x", "", []string{"has a backing file (" + good + ")", "qemu-img convert -O qcow2"}},
		{"vmdk", vmdk, "x", "", []string{"image format vmdk is not supported", "qemu-img convert -O qcow2"}},
		{"missing file", filepath.Join(dir, "nope.qcow2"), "x", "", []string{"no such file"}},
		{"bad name", good, "../x", "", []string{`name "../x": must be`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			_, err := s.Import(context.Background(), tc.file, tc.image, tc.sha, nil)
			if err == nil {
				t.Fatal("Import succeeded, want an error")
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n  %v\nwant it to contain\n  %s", err, w)
				}
			}
			assertNothingImported(t, s)
		})
	}
}

func TestImportSidecar(t *testing.T) {
	dir := t.TempDir()
	src := qcow2WithData(t, dir, "cloud.qcow2")
	sum := sha256File(t, src)
	other := strings.Repeat("ab", 32)
	tests := []struct {
		name, sidecar, want string // want: "" success, else error substring
	}{
		{"sha256sum", sum + "  cloud.qcow2\n", ""},
		{"sha256sum binary, several files", other + "  other.qcow2\n" + strings.ToUpper(sum) + " *cloud.qcow2\n", ""},
		{"bsd", "SHA256 (cloud.qcow2) = " + sum + "\n", ""},
		{"bare", sum + "\n", ""},
		{"mismatch", other + "  cloud.qcow2\n", "the " + src + ".sha256 says " + other},
		{"no entry", other + "  other.qcow2\n", src + ".sha256 has no SHA-256 checksum for cloud.qcow2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(src+".sha256", []byte(tc.sidecar), 0o644); err != nil {
				t.Fatal(err)
			}
			s := newStore(t)
			img, err := s.Import(context.Background(), src, "cloud", "", nil)
			if tc.want == "" {
				if err != nil || img.SHA256 != sum {
					t.Fatalf("Import = %+v, %v", img, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Import: %v, want error containing %q", err, tc.want)
			}
			assertNothingImported(t, s)
		})
	}
}

func TestImportDuplicate(t *testing.T) {
	s := newStore(t)
	src := qcow2WithData(t, t.TempDir(), "a.qcow2")
	first, err := s.Import(context.Background(), src, "base", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	raw := filepath.Join(t.TempDir(), "b.raw")
	os.WriteFile(raw, make([]byte, 4096), 0o644)
	_, err = s.Import(context.Background(), raw, "base", "", nil)
	if err == nil || !strings.Contains(err.Error(), "image base already exists (imported from a.qcow2 on 2026-03-14): choose another name, or remove the existing image first") {
		t.Fatalf("second import: %v", err)
	}
	if got := files(t, filepath.Join(s.Dir, "images")); !reflect.DeepEqual(got, []string{"base.json", "base.qcow2"}) {
		t.Errorf("images dir holds %v", got)
	}
	if got, _ := s.Image("base"); !reflect.DeepEqual(got, first) {
		t.Errorf("first image changed: %+v", got)
	}
}

func TestImportCanceled(t *testing.T) {
	s := newStore(t)
	src := qcow2WithData(t, t.TempDir(), "a.qcow2")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Import(ctx, src, "a", "", nil); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("Import with a canceled context: %v", err)
	}
	assertNothingImported(t, s)
}

func TestImageNotFound(t *testing.T) {
	s := newStore(t)
	if _, err := s.Image("x"); err == nil || !strings.Contains(err.Error(), "image x not found: no images imported yet in "+filepath.Join(s.Dir, "images")) {
		t.Errorf("Image in an empty store: %v", err)
	}
	src := qcow2WithData(t, t.TempDir(), "a.qcow2")
	for _, n := range []string{"zeta", "alpha"} {
		if _, err := s.Import(context.Background(), src, n, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Image("x"); err == nil || err.Error() != "image x not found; images: alpha, zeta" {
		t.Errorf("Image: %v, want the list of images", err)
	}
	imgs, _ := s.Images()
	if len(imgs) != 2 || imgs[0].Name != "alpha" || imgs[1].Name != "zeta" {
		t.Errorf("Images not sorted by name: %+v", imgs)
	}
}

func TestRemoveImage(t *testing.T) {
	s := newStore(t)
	src := qcow2WithData(t, t.TempDir(), "a.qcow2")
	ctx := context.Background()
	for _, n := range []string{"base", "other"} {
		if _, err := s.Import(ctx, src, n, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, vm := range []string{"vm1", "vm2"} {
		if _, err := s.PrepareDisks(ctx, vm, "base", 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PrepareDisks(ctx, "blank", "", 1<<20); err != nil {
		t.Fatal(err)
	}
	err := s.RemoveImage("base")
	if err == nil || !strings.Contains(err.Error(), "remove image base: in use by VM vm1, vm2 (its disks are overlays on it): delete the VMs first") {
		t.Fatalf("RemoveImage of an image in use: %v", err)
	}
	if _, err := s.Image("base"); err != nil {
		t.Fatalf("refused removal still removed something: %v", err)
	}
	for _, vm := range []string{"vm1", "vm2"} {
		if err := s.RemoveVM(vm); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RemoveImage("base"); err != nil {
		t.Fatal(err)
	}
	if got := files(t, filepath.Join(s.Dir, "images")); !reflect.DeepEqual(got, []string{"other.json", "other.qcow2"}) {
		t.Errorf("after RemoveImage the images dir holds %v", got)
	}
	if err := s.RemoveImage("base"); err == nil || !strings.Contains(err.Error(), "image base not found; images: other") {
		t.Errorf("RemoveImage twice: %v", err)
	}
}
