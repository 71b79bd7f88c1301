// Package disk owns the disk.root check: the size of the filesystem holding /,
// which must hold the VM images (seed 004: "allocate as much space as possible for /").
package disk
