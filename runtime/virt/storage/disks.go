package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/vmnode/vmnode/runtime/virt/domain"
)

// PrepareDisks creates the directory of VM vm and its disk:
//
//   - image set: disk0.qcow2, a qcow2 overlay backed by the image (by
//     absolute path, with its format given explicitly). sizeBytes 0 keeps
//     the image's virtual size; a larger size grows the disk; a smaller one
//     is refused (qemu-img would accept it and cut the guest's disk short).
//   - no image, sizeBytes > 0: disk0.qcow2, a blank qcow2 of that size.
//   - neither: no disk (the directory is still created, for the seed).
//
// qemu-img rounds sizes up to a multiple of 512 bytes. Before using an
// image, PrepareDisks does not re-hash it (that reads the whole image);
// it re-runs `qemu-img check` on a qcow2 and compares a raw image's size
// with the recorded one, which catches truncation and most damage.
//
// The directory must not exist yet. On any failure it is removed again.
// The returned disks have absolute paths, ready for a domain.Spec.
func (s *Store) PrepareDisks(ctx context.Context, vm, image string, sizeBytes int64) (disks []domain.Disk, err error) {
	if err := domain.ValidName(vm); err != nil {
		return nil, fmt.Errorf("prepare disks: VM %w", err)
	}
	if sizeBytes < 0 {
		return nil, fmt.Errorf("prepare disks for VM %s: size %d: want a positive number of bytes", vm, sizeBytes)
	}
	var img Image
	if image != "" {
		if img, err = s.Image(image); err != nil {
			return nil, fmt.Errorf("prepare disks for VM %s: %w", vm, err)
		}
	}
	dir, err := filepath.Abs(s.VMDir(vm))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("prepare disks for VM %s: %w", vm, err)
	}
	if err := s.reachable(); err != nil {
		return nil, fmt.Errorf("prepare disks for VM %s: %w", vm, err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("disks for VM %s already exist at %s: delete the VM or remove the directory", vm, dir)
		}
		return nil, fmt.Errorf("prepare disks for VM %s: %w", vm, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
			err = fmt.Errorf("prepare disks for VM %s: %w", vm, err)
		}
	}()

	disk := filepath.Join(dir, "disk0.qcow2")
	switch {
	case image != "":
		if err := s.verifyImage(ctx, img); err != nil {
			return nil, err
		}
		base, err := filepath.Abs(img.Path)
		if err != nil {
			return nil, err
		}
		args := []string{"create", "-q", "-f", "qcow2", "-F", img.Format, "-b", base, disk}
		switch {
		case sizeBytes > img.VirtualSize:
			args = append(args, strconv.FormatInt(sizeBytes, 10))
		case sizeBytes != 0 && sizeBytes < img.VirtualSize:
			return nil, fmt.Errorf("size %d bytes is smaller than image %s (%d bytes): a disk can grow, not shrink", sizeBytes, img.Name, img.VirtualSize)
		}
		if _, err := s.qemuImg(ctx, args...); err != nil {
			return nil, err
		}
	case sizeBytes > 0:
		if _, err := s.qemuImg(ctx, "create", "-q", "-f", "qcow2", disk, strconv.FormatInt(sizeBytes, 10)); err != nil {
			return nil, err
		}
	default:
		return nil, nil
	}
	return []domain.Disk{{Path: disk, Format: "qcow2"}}, nil
}

// verifyImage is the quick check before an image is used.
func (s *Store) verifyImage(ctx context.Context, img Image) error {
	st, err := os.Stat(img.Path)
	if err != nil {
		return fmt.Errorf("image %s: %w", img.Name, err)
	}
	if img.Format == "raw" {
		if st.Size() != img.Size {
			return fmt.Errorf("image %s: %s is %d bytes, %d when imported: it changed; re-import it", img.Name, img.Path, st.Size(), img.Size)
		}
		return nil
	}
	if err := s.check(ctx, img.Path); err != nil {
		return fmt.Errorf("image %s is damaged; re-import it: %w", img.Name, err)
	}
	return nil
}

// RemoveVM deletes the VM's directory with its disks and seed. Removing a
// VM that has none is not an error.
func (s *Store) RemoveVM(vm string) error {
	if err := domain.ValidName(vm); err != nil {
		return fmt.Errorf("remove VM disks: VM %w", err)
	}
	if err := os.RemoveAll(s.VMDir(vm)); err != nil {
		return fmt.Errorf("remove disks of VM %s: %w", vm, err)
	}
	return nil
}
