// Package domain owns vmnode's view of a libvirt domain: the Spec of a VM,
// its validation, its rendering into libvirt domain XML (XML) and the way
// back (Parse), including vmnode's own metadata element in the namespace
// Namespace.
//
// It is pure: no I/O, no libvirt connection, no files. It may import the
// standard library only; callers (the agent, runtime/virt) talk to libvirt
// and pass bytes in and out.
package domain
