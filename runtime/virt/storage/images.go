package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vmnode/vmnode/runtime/virt/domain"
)

// Image is an imported base image, as recorded in images/NAME.json.
type Image struct {
	Name        string    `json:"name"`
	Format      string    `json:"format"` // qcow2 or raw
	SHA256      string    `json:"sha256"`
	Size        int64     `json:"size"`         // bytes on disk
	VirtualSize int64     `json:"virtual_size"` // bytes the guest sees
	Imported    time.Time `json:"imported"`
	Source      string    `json:"source"` // base name of the imported file
	// Path is where the image is (not stored; derived from Store.Dir).
	Path string `json:"-"`
}

func (s *Store) imagePath(name, format string) string {
	return filepath.Join(s.imagesDir(), name+"."+format)
}

func (s *Store) metaPath(name string) string {
	return filepath.Join(s.imagesDir(), name+".json")
}

// Import copies file into the store as image name. While copying it
// computes the SHA-256 and compares it with wantSHA256 or, when that is
// "", with the sidecar FILE.sha256 if there is one. It then asks qemu-img
// what the copy is: a qcow2 or raw image is accepted (other formats must be
// converted first), a qcow2 must pass `qemu-img check` and may not depend
// on another file (backing file, external data file). Only then is the copy
// moved into place, under a name that did not exist (no image is ever
// replaced), and its metadata written. On any failure nothing is left
// behind.
//
// progress, if not nil, is called as bytes are copied; total is -1 when
// the size of file is not known.
func (s *Store) Import(ctx context.Context, file, name, wantSHA256 string, progress func(done, total int64)) (img Image, err error) {
	if err := domain.ValidName(name); err != nil {
		return Image{}, fmt.Errorf("import image: %w", err)
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("import %s as image %s: %w", file, name, err)
		}
	}()
	if err := s.refuseExisting(name); err != nil {
		return Image{}, err
	}
	checksumFrom := "given checksum"
	if wantSHA256 == "" {
		sum, sidecar, found, err := sidecarSHA256(file)
		if err != nil {
			return Image{}, fmt.Errorf("read checksum file: %w", err)
		}
		if found {
			wantSHA256, checksumFrom = sum, sidecar
		}
	} else if !sha256RE.MatchString(wantSHA256) {
		return Image{}, fmt.Errorf("sha256 %q: want 64 hex digits", wantSHA256)
	}

	src, err := os.Open(file)
	if err != nil {
		return Image{}, err
	}
	defer src.Close()
	total := int64(-1)
	if st, err := src.Stat(); err == nil && st.Mode().IsRegular() {
		total = st.Size()
	}
	if err := os.MkdirAll(s.imagesDir(), 0o755); err != nil {
		return Image{}, err
	}
	if err := s.reachable(); err != nil {
		return Image{}, err
	}
	tmp, err := os.CreateTemp(s.imagesDir(), ".import-"+name+"-*.tmp")
	if err != nil {
		return Image{}, err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name()) // after a successful import, a second link to the image
	}()
	sum, size, err := copyHashing(ctx, tmp, src, total, progress)
	if err != nil {
		return Image{}, fmt.Errorf("copy: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return Image{}, err
	}
	if err := tmp.Close(); err != nil {
		return Image{}, err
	}
	if wantSHA256 != "" && !strings.EqualFold(sum, wantSHA256) {
		return Image{}, fmt.Errorf("checksum mismatch: the file's SHA-256 is %s, the %s says %s", sum, checksumFrom, strings.ToLower(wantSHA256))
	}

	inf, err := s.inspectForImport(ctx, tmp.Name(), file)
	if err != nil {
		return Image{}, err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return Image{}, err
	}
	img = Image{
		Name: name, Format: inf.Format, SHA256: sum, Size: size, VirtualSize: inf.VirtualSize,
		Imported: s.now().UTC(), Source: filepath.Base(file), Path: s.imagePath(name, inf.Format),
	}
	// Link, not rename: it fails instead of replacing an image imported
	// meanwhile under the same name.
	if err := os.Link(tmp.Name(), img.Path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return Image{}, s.refuseExisting(name)
		}
		return Image{}, fmt.Errorf("move into place: %w", err)
	}
	if err := writeJSON(s.metaPath(name), img); err != nil {
		os.Remove(img.Path)
		return Image{}, fmt.Errorf("write metadata: %w", err)
	}
	return img, nil
}

// refuseExisting fails when anything of image name exists.
func (s *Store) refuseExisting(name string) error {
	if img, err := s.Image(name); err == nil {
		return fmt.Errorf("image %s already exists (imported from %s on %s): choose another name, or remove the existing image first",
			name, img.Source, img.Imported.Format(time.DateOnly))
	}
	for _, p := range []string{s.metaPath(name), s.imagePath(name, "qcow2"), s.imagePath(name, "raw")} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("image %s already exists (%s): choose another name, or remove the existing image first", name, p)
		}
	}
	return nil
}

// inspectForImport asks qemu-img what the copy at path (of file) is.
func (s *Store) inspectForImport(ctx context.Context, path, file string) (imgInfo, error) {
	inf, err := s.info(ctx, path, "")
	if err != nil {
		return imgInfo{}, fmt.Errorf("not a disk image qemu-img can read: %w", err)
	}
	switch inf.Format {
	case "qcow2":
	case "raw":
		// Anything is a raw image; a file that says it is qcow2 but has no
		// qcow2 header is damaged or mislabelled.
		if ext := strings.ToLower(filepath.Ext(file)); ext == ".qcow2" || ext == ".qcow" {
			return imgInfo{}, fmt.Errorf("%s is named like a qcow2 image but qemu-img finds no qcow2 header in it (it would be a raw image): the file is corrupt or not a qcow2 image", filepath.Base(file))
		}
		return inf, nil
	default:
		return imgInfo{}, fmt.Errorf("image format %s is not supported: convert it first (qemu-img convert -O qcow2 %s OUT.qcow2)", inf.Format, file)
	}
	if inf.BackingFilename != "" {
		return imgInfo{}, fmt.Errorf("the qcow2 image has a backing file (%s): import a standalone image (qemu-img convert -O qcow2 %s OUT.qcow2 flattens it)", inf.BackingFilename, file)
	}
	if inf.FormatSpecific.Data.DataFile != "" {
		return imgInfo{}, fmt.Errorf("the qcow2 image keeps its data in another file (%s): import a standalone image", inf.FormatSpecific.Data.DataFile)
	}
	if inf.FormatSpecific.Data.Corrupt {
		return imgInfo{}, errors.New("qemu-img info marks the qcow2 image corrupt")
	}
	if err := s.check(ctx, path); err != nil {
		return imgInfo{}, fmt.Errorf("the qcow2 image is damaged: %w", err)
	}
	return inf, nil
}

// Images lists the imported images by name.
func (s *Store) Images() ([]Image, error) {
	files, err := filepath.Glob(filepath.Join(s.imagesDir(), "*.json"))
	if err != nil {
		return nil, err
	}
	var imgs []Image
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if domain.ValidName(name) != nil {
			continue // not ours (a temp file starts with '.')
		}
		img, err := s.readImage(name)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, img)
	}
	sort.Slice(imgs, func(i, j int) bool { return imgs[i].Name < imgs[j].Name })
	return imgs, nil
}

// Image returns image name; when there is none, the error lists those
// there are.
func (s *Store) Image(name string) (Image, error) {
	if err := domain.ValidName(name); err != nil {
		return Image{}, fmt.Errorf("image: %w", err)
	}
	img, err := s.readImage(name)
	if !errors.Is(err, fs.ErrNotExist) {
		return img, err
	}
	all, lerr := s.Images()
	if lerr != nil {
		return Image{}, fmt.Errorf("image %s not found (%v)", name, lerr)
	}
	if len(all) == 0 {
		return Image{}, fmt.Errorf("image %s not found: no images imported yet in %s", name, s.imagesDir())
	}
	names := make([]string, len(all))
	for i, im := range all {
		names[i] = im.Name
	}
	return Image{}, fmt.Errorf("image %s not found; images: %s", name, strings.Join(names, ", "))
}

func (s *Store) readImage(name string) (Image, error) {
	b, err := os.ReadFile(s.metaPath(name))
	if err != nil {
		return Image{}, err // fs.ErrNotExist is the caller's "not found"
	}
	var img Image
	if err := json.Unmarshal(b, &img); err != nil {
		return Image{}, fmt.Errorf("read image metadata %s: %w", s.metaPath(name), err)
	}
	if img.Name != name || (img.Format != "qcow2" && img.Format != "raw") {
		return Image{}, fmt.Errorf("read image metadata %s: name %q, format %q: not image %s", s.metaPath(name), img.Name, img.Format, name)
	}
	img.Path = s.imagePath(name, img.Format)
	return img, nil
}

// RemoveImage deletes image name, refusing while a VM's disk is an overlay
// on it (found by asking qemu-img for the backing file of every qcow2 under
// vms/). It does not lock out a PrepareDisks running at the same time.
func (s *Store) RemoveImage(name string) error {
	img, err := s.Image(name)
	if err != nil {
		return fmt.Errorf("remove image: %w", err)
	}
	users, err := s.imageUsers(context.Background(), img)
	if err != nil {
		return fmt.Errorf("remove image %s: %w", name, err)
	}
	if len(users) > 0 {
		return fmt.Errorf("remove image %s: in use by VM %s (its disks are overlays on it): delete the VMs first", name, strings.Join(users, ", "))
	}
	if err := os.Remove(s.metaPath(name)); err != nil {
		return fmt.Errorf("remove image %s: %w", name, err)
	}
	if err := os.Remove(img.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove image %s: %w", name, err)
	}
	return nil
}

// imageUsers lists the VMs with a qcow2 disk backed by img.
func (s *Store) imageUsers(ctx context.Context, img Image) ([]string, error) {
	want, err := canonical(img.Path)
	if err != nil {
		return nil, err
	}
	disks, err := filepath.Glob(filepath.Join(s.vmsDir(), "*", "*.qcow2"))
	if err != nil {
		return nil, err
	}
	var users []string
	for _, d := range disks {
		inf, err := s.info(ctx, d, "qcow2")
		if err != nil {
			return nil, fmt.Errorf("cannot tell whether %s uses it: %w", d, err)
		}
		backing := inf.FullBackingFilename
		if backing == "" {
			backing = inf.BackingFilename
		}
		if backing == "" {
			continue
		}
		if !filepath.IsAbs(backing) {
			backing = filepath.Join(filepath.Dir(d), backing)
		}
		if got, err := canonical(backing); err == nil && got == want {
			vm := filepath.Base(filepath.Dir(d))
			if len(users) == 0 || users[len(users)-1] != vm {
				users = append(users, vm)
			}
		}
	}
	return users, nil
}

// canonical is path made absolute with symlinks resolved.
func canonical(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r, nil
	}
	return abs, nil
}
