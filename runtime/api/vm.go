package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// VM operations, the Op of a VMRequest.
const (
	VMCreate   = "create"   // define it: on Host if set, else keep it pending until its first start
	VMStart    = "start"    // power on; a pending VM is placed first (on Host if set)
	VMShutdown = "shutdown" // ACPI power button; after Timeout, destroy if Force
	VMStop     = "stop"     // pull the plug (Force required)
	VMReboot   = "reboot"
	VMDelete   = "delete" // undefine and remove its disks unless KeepDisks; Force stops it first
	VMList     = "list"
	VMShow     = "show"
	VMConsole  = "console"
)

// VMRequest is one operation on a VM, sent to any member: the agent that
// receives it forwards it to the host that has the VM.
type VMRequest struct {
	Op        string        `json:"op"`
	Name      string        `json:"name,omitempty"`
	Host      string        `json:"host,omitempty"` // create/start: place it there
	Create    *VMSpec       `json:"create,omitempty"`
	Timeout   time.Duration `json:"timeout,omitempty"` // shutdown: how long the guest gets
	Force     bool          `json:"force,omitempty"`
	KeepDisks bool          `json:"keep_disks,omitempty"`

	// Between members: a pending VM's first start defines and starts it on
	// the host chosen, keeping the time it was created.
	StartNow bool      `json:"start_now,omitempty"`
	Created  time.Time `json:"created,omitzero"`
	// To is where migrate moves the VM; Offline moves a stopped VM's
	// definition only.
	To      string `json:"to,omitempty"`
	Offline bool   `json:"offline,omitempty"`
	// Bandwidth caps a migration's transfer, MiB/s; 0: no cap.
	Bandwidth uint64 `json:"bandwidth,omitempty"`
	// Passive is the passive host given to ha-enable.
	Passive string `json:"passive,omitempty"`
	// Between members: a migration target's or passive host's checks get
	// the VM's domain spec, the probe files' token and its CPU model; a
	// host's maintenance flag is set with Maintenance.
	Domain      json.RawMessage `json:"domain,omitempty"`
	Probe       string          `json:"probe,omitempty"`
	CPUModel    string          `json:"cpu_model,omitempty"`
	Maintenance bool            `json:"maintenance,omitempty"`
}

// VMSpec is what `vm create` asks for.
type VMSpec struct {
	VCPUs     int        `json:"vcpus"`
	MemoryMiB int        `json:"memory_mib"`
	DiskBytes int64      `json:"disk_bytes,omitempty"` // blank disk, or the overlay's size
	Image     string     `json:"image,omitempty"`
	NICs      []NIC      `json:"nics,omitempty"`
	CloudInit *CloudInit `json:"cloud_init,omitempty"`
}

// NIC is a network interface: Model virtio, e1000, rtl8139 or sriov.
type NIC struct {
	Model   string `json:"model"`
	Network string `json:"network,omitempty"`
	Bridge  string `json:"bridge,omitempty"`
	MAC     string `json:"mac,omitempty"`
	PF      string `json:"pf,omitempty"` // sriov: the physical function's interface, "" any
	VF      string `json:"vf,omitempty"` // sriov: the PCI address given (set by the host)
}

// CloudInit is the NoCloud seed the guest configures itself from on first boot.
type CloudInit struct {
	Hostname string   `json:"hostname,omitempty"`
	UserData string   `json:"user_data,omitempty"`
	SSHKeys  []string `json:"ssh_keys,omitempty"`
}

// VM is a virtual machine as the cluster sees it.
type VM struct {
	Name       string     `json:"name"`
	Host       string     `json:"host"`  // where it is defined; "" while pending
	State      string     `json:"state"` // running, shutoff, paused, crashed, …, or pending
	Reason     string     `json:"reason,omitempty"`
	VCPUs      int        `json:"vcpus"`
	MemoryMiB  int        `json:"memory_mib"`
	Image      string     `json:"image,omitempty"`
	Disks      []string   `json:"disks,omitempty"`
	NICs       []NIC      `json:"nics,omitempty"`
	HA         VMHA       `json:"ha"`
	Migratable bool       `json:"migratable"`
	NotWhy     string     `json:"not_migratable_because,omitempty"`
	Created    time.Time  `json:"created"`
	UUID       string     `json:"uuid,omitempty"`
	Console    *Console   `json:"console,omitempty"` // console only
	LastEvent  *LastEvent `json:"last_event,omitempty"`
	// HeldBy is the member keeping a pending VM's definition.
	HeldBy string `json:"held_by,omitempty"`
}

// VMHA is the VM's High Availability role.
type VMHA struct {
	Enabled bool   `json:"enabled"`
	Active  string `json:"active,omitempty"`
	Passive string `json:"passive,omitempty"`
	Epoch   uint64 `json:"epoch"`
}

// Console is where a VM's VNC console listens.
type Console struct {
	Address  string `json:"address"` // host:port
	Password string `json:"password,omitempty"`
}

// LastEvent is the last libvirt lifecycle event seen for the VM.
type LastEvent struct {
	Kind       string    `json:"kind"`
	Detail     string    `json:"detail,omitempty"`
	Unexpected bool      `json:"unexpected,omitempty"`
	At         time.Time `json:"at"`
}

// Placement is the scheduler's choice at a first start.
type Placement struct {
	Host     string      `json:"host"`
	Reason   string      `json:"reason"`
	Rejected []Rejection `json:"rejected,omitempty"`
}

// Rejection is a host that could not take the VM, and why.
type Rejection struct {
	Host   string `json:"host"`
	Reason string `json:"reason"`
}

// VMResponse is the outcome of a VMRequest.
type VMResponse struct {
	VM        *VM        `json:"vm,omitempty"`
	VMs       []VM       `json:"vms,omitempty"`
	Placement *Placement `json:"placement,omitempty"`
	Forced    bool       `json:"forced,omitempty"` // shutdown: the guest did not stop in time and was destroyed
	// Missing are members that did not answer, so their VMs are not listed.
	Missing   []string   `json:"missing,omitempty"`
	Warnings  []string   `json:"warnings,omitempty"`
	Migration *Migration `json:"migration,omitempty"`
}

// Image is a base image and the members that have it.
type Image struct {
	Name        string    `json:"name"`
	Format      string    `json:"format"`
	Size        int64     `json:"size"`
	VirtualSize int64     `json:"virtual_size"`
	SHA256      string    `json:"sha256"`
	Imported    time.Time `json:"imported"`
	Hosts       []string  `json:"hosts"`
}

// ImagesResponse lists the images of the cluster.
type ImagesResponse struct {
	Images  []Image  `json:"images"`
	Missing []string `json:"missing,omitempty"`
}

// VM runs a VM operation.
func (c *Client) VM(ctx context.Context, r VMRequest) (VMResponse, error) {
	var out VMResponse
	return out, c.do(ctx, http.MethodPost, "/v1/vm", r, &out)
}

// Images lists the images of every member.
func (c *Client) Images(ctx context.Context) (ImagesResponse, error) {
	var out ImagesResponse
	return out, c.do(ctx, http.MethodGet, "/v1/images", nil, &out)
}
