// Package virt is vmnode's seam to the hypervisor: a thin, typed adapter
// over libvirtd's RPC protocol (github.com/digitalocean/go-libvirt, pure
// Go, no cgo).
//
// It owns one thing: the connection to the local libvirtd. A Conn is made
// with Dial (one attempt, clear error), kept alive by Run (reconnects with
// exponential backoff after libvirtd restarts and re-subscribes to
// lifecycle events), and released by Close (idempotent).
//
// What it offers on that connection:
//   - domain operations (Define, Start, Shutdown, Destroy, Reboot,
//     Undefine, Get, List, WaitState) with typed errors: ErrNotFound,
//     ErrNotRunning, ErrAlreadyRunning, ErrInvalidXML, ErrDisconnected,
//     ErrClosed, and *Error for anything else libvirt reports;
//   - lifecycle events on one channel for the Conn's life (Events), with
//     readable details and an Unexpected flag for VMs that died unasked,
//     plus EventDisconnected and EventResync markers around connection outages;
//   - peer-to-peer live and offline migration with progress and abort on
//     cancel (Migrate);
//   - host facts (NodeInfo, Versions).
//
// On top of the Conn, the Manager (manager.go) is this host's VMs: a view
// kept current from the events, and create and delete that combine
// storage, domain XML and libvirt without ever leaving half a VM.
//
// What it does not do: it never builds domain XML (runtime/virt/domain
// does; XML comes in as bytes), never manages storage
// (runtime/virt/storage), and never touches a domain by itself — not on
// connect, not on reconnect, not on Close. Policy (what to start, restart
// or migrate) belongs to the caller.
//
// Imports: the adapter files (conn, events, ops, node, migrate) import only the
// standard library and go-libvirt, and no go-libvirt type appears in the
// exported API, so the library can be replaced behind it.
package virt
