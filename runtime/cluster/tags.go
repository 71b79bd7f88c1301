package cluster

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/memberlist"
)

// Tags are what a member publishes about itself through gossip: what the
// others need to place work on it and to judge a join. Serf carries them in
// the member's metadata, at most memberlist.MetaMaxSize (512) bytes encoded.
type Tags struct {
	Role      string   // "hypervisor"
	Profile   string   // the cluster profile it was checked against
	OSFamily  string   // "debian" or "rhel"; joins across families are refused
	OS        string   // "ubuntu 22.04"
	Version   string   // vmnode
	Libvirt   string   // libvirt daemon version, "" when unknown
	QEMU      string   // QEMU version, "" when unknown
	CPUs      int      // logical CPUs
	MemoryMiB int      // total memory
	Health    string   // worst local check status: pass, warn, fail, error; "" before the first run
	Failing   []string // IDs of failing checks, as many as fit
	Quorate   bool     // the member sees a majority of the cluster's hosts
	MaxHosts  int      // its cluster.max_hosts: the smallest one in the cluster applies
	// Maintenance: the host is being drained (vmnode host drain): no new
	// placements, its HA VMs switch over to their passive hosts.
	Maintenance bool
}

const (
	tagRole    = "role"
	tagProfile = "prof"
	tagFamily  = "osf"
	tagOS      = "os"
	tagVersion = "v"
	tagLibvirt = "lv"
	tagQEMU    = "qv"
	tagCPUs    = "cpu"
	tagMemory  = "mem"
	tagHealth  = "h"
	tagFailing = "hf"
	tagQuorate = "q"
	tagMax     = "max"
	tagMaint   = "m"
)

// Encode returns the tags as Serf carries them, trimming the failing-check
// list (never the other fields) until the encoding fits Serf's limit.
func (t Tags) Encode() (map[string]string, error) {
	m := map[string]string{
		tagRole: t.Role, tagProfile: t.Profile, tagFamily: t.OSFamily, tagOS: t.OS,
		tagVersion: t.Version, tagLibvirt: t.Libvirt, tagQEMU: t.QEMU, tagHealth: t.Health,
	}
	if t.CPUs > 0 {
		m[tagCPUs] = strconv.Itoa(t.CPUs)
	}
	if t.MemoryMiB > 0 {
		m[tagMemory] = strconv.Itoa(t.MemoryMiB)
	}
	if t.MaxHosts > 0 {
		m[tagMax] = strconv.Itoa(t.MaxHosts)
	}
	if t.Maintenance {
		m[tagMaint] = "1"
	}
	if t.Quorate {
		m[tagQuorate] = "1"
	} else {
		m[tagQuorate] = "0"
	}
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	failing := t.Failing
	for {
		if len(failing) > 0 {
			m[tagFailing] = strings.Join(failing, ",")
			if len(failing) < len(t.Failing) {
				m[tagFailing] += ",…"
			}
		} else {
			delete(m, tagFailing)
		}
		n, err := EncodedSize(m)
		if err != nil {
			return nil, err
		}
		if n <= memberlist.MetaMaxSize {
			return m, nil
		}
		if len(failing) == 0 {
			return nil, fmt.Errorf("tags take %d bytes encoded, over Serf's limit of %d", n, memberlist.MetaMaxSize)
		}
		failing = failing[:len(failing)-1]
	}
}

// EncodedSize is the size of tags as Serf encodes them: a magic byte and a
// msgpack map.
func EncodedSize(tags map[string]string) (int, error) {
	var buf bytes.Buffer
	buf.WriteByte(255)
	if err := codec.NewEncoder(&buf, &codec.MsgpackHandle{}).Encode(tags); err != nil {
		return 0, fmt.Errorf("encode tags: %w", err)
	}
	return buf.Len(), nil
}

// DecodeTags reads what Encode wrote; unknown keys are ignored and bad
// numbers read as zero, so an older or newer member never breaks the view.
func DecodeTags(m map[string]string) Tags {
	t := Tags{
		Role: m[tagRole], Profile: m[tagProfile], OSFamily: m[tagFamily], OS: m[tagOS],
		Version: m[tagVersion], Libvirt: m[tagLibvirt], QEMU: m[tagQEMU], Health: m[tagHealth],
		Quorate: m[tagQuorate] == "1", Maintenance: m[tagMaint] == "1",
	}
	t.CPUs, _ = strconv.Atoi(m[tagCPUs])
	t.MemoryMiB, _ = strconv.Atoi(m[tagMemory])
	t.MaxHosts, _ = strconv.Atoi(m[tagMax])
	if f := m[tagFailing]; f != "" {
		t.Failing = strings.Split(f, ",")
	}
	return t
}
