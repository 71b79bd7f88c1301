package api

import (
	"time"
)

// Status is the agent's view of itself and the cluster.
type Status struct {
	Node      string    `json:"node"`
	Address   string    `json:"address"` // gossip address, ip:port
	Version   string    `json:"version"`
	Started   time.Time `json:"started"`
	Encrypted bool      `json:"encrypted"` // gossip encryption on
	Quorum    Quorum    `json:"quorum"`
	Members   int       `json:"members"` // hosts of the cluster: alive and failed, not left
	Alive     int       `json:"alive"`
	Health    Health    `json:"health"`
}

// Quorum is a majority count over the cluster's hosts.
type Quorum struct {
	Seen   int  `json:"seen"`   // hosts alive, this one included
	Needed int  `json:"needed"` // a strict majority of Hosts
	Hosts  int  `json:"hosts"`
	Has    bool `json:"has"`
}

// Health is the outcome of the agent's last run of the local checks.
type Health struct {
	Status    string         `json:"status"` // worst: pass, warn, fail, error; "" before the first run
	Failing   []string       `json:"failing,omitempty"`
	Counts    map[string]int `json:"counts,omitempty"` // results by status
	CheckedAt time.Time      `json:"checked_at"`
}

// Member is one host of the cluster, from its gossip tags.
type Member struct {
	Name      string   `json:"name"`
	Address   string   `json:"address"` // ip:port
	Status    string   `json:"status"`  // alive, failed, leaving, left
	Role      string   `json:"role"`
	Profile   string   `json:"profile"`
	OSFamily  string   `json:"os_family"`
	OS        string   `json:"os"`
	Version   string   `json:"version"`
	Libvirt   string   `json:"libvirt,omitempty"`
	QEMU      string   `json:"qemu,omitempty"`
	CPUs      int      `json:"cpus,omitempty"`
	MemoryMiB int      `json:"memory_mib,omitempty"`
	Health    string   `json:"health"`
	Failing   []string `json:"failing,omitempty"`
	Quorate   bool     `json:"quorate"`
}

// JoinRequest asks the agent to join the cluster through any of Addrs
// (host or host:port, default port 7946).
type JoinRequest struct {
	Addrs []string `json:"addrs"`
}

// JoinResponse says how it went.
type JoinResponse struct {
	Joined   int      `json:"joined"`   // addresses that answered and admitted us
	Members  int      `json:"members"`  // hosts of the cluster now
	Warnings []string `json:"warnings"` // e.g. an even number of hosts
}

// ForceLeaveRequest removes a failed member so it stops counting.
type ForceLeaveRequest struct {
	Node string `json:"node"`
}

// KeyRequest manages the gossip keyring across the cluster.
type KeyRequest struct {
	Op  string `json:"op"`            // list, install, use, remove
	Key string `json:"key,omitempty"` // base64, for install/use/remove
}

// KeyResponse is Serf's answer, from every member.
type KeyResponse struct {
	Keys        map[string]int    `json:"keys"`         // key -> members that have it
	PrimaryKeys map[string]int    `json:"primary_keys"` // key -> members that use it
	Members     int               `json:"members"`
	Responses   int               `json:"responses"`
	Errors      int               `json:"errors"`
	Messages    map[string]string `json:"messages,omitempty"` // member -> what went wrong there
}

// ClusterPreflightRequest asks every member for its preflight report.
type ClusterPreflightRequest struct {
	Timeout time.Duration `json:"timeout"` // 0: the agent's default
}

// Error is the body of every failed request.
type Error struct {
	Error string `json:"error"`
}
