package cluster

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func member(name, addr string, st Status, family string) Member {
	return Member{Name: name, Addr: netip.MustParseAddr(addr), Port: 7946, Status: st, Tags: Tags{OSFamily: family, Quorate: true}}
}

func TestTagsRoundTripAndLimit(t *testing.T) {
	tags := Tags{Role: "hypervisor", Profile: "vmnode", OSFamily: "debian", OS: "debian 12", Version: "1.2.3",
		Libvirt: "9.0.0", QEMU: "7.2.19", CPUs: 64, MemoryMiB: 262144, Health: "fail", Failing: []string{"cpu.frequency", "time.offset"}, Quorate: true}
	enc, err := tags.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got := DecodeTags(enc)
	if got.OS != "debian 12" || got.CPUs != 64 || got.MemoryMiB != 262144 || !got.Quorate || len(got.Failing) != 2 || got.Failing[1] != "time.offset" {
		t.Fatalf("round trip: %+v", got)
	}

	// Many failing checks: the list is trimmed to fit, marked as cut, and
	// every other tag survives.
	for i := 0; i < 60; i++ {
		tags.Failing = append(tags.Failing, "network.interface-names")
	}
	enc, err = tags.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := EncodedSize(enc); n > 512 {
		t.Fatalf("encoded %d bytes, over 512", n)
	}
	got = DecodeTags(enc)
	if got.Failing[len(got.Failing)-1] != "…" || len(got.Failing) > 40 || got.Libvirt != "9.0.0" || got.Health != "fail" {
		t.Fatalf("trimmed: %d failing, last %q, %+v", len(got.Failing), got.Failing[len(got.Failing)-1], got)
	}

	// Fields that cannot be trimmed and do not fit are an error, not a panic.
	if _, err := (Tags{Role: strings.Repeat("x", 600)}).Encode(); err == nil {
		t.Fatal("a 600-byte role encoded")
	}
	// Garbage numbers from an odd member read as zero.
	if d := DecodeTags(map[string]string{"cpu": "many", "q": "yes"}); d.CPUs != 0 || d.Quorate {
		t.Fatalf("garbage: %+v", d)
	}
}

func TestQuorum(t *testing.T) {
	tests := []struct {
		name                string
		members             []Member
		remembered          []string
		seen, hosts, needed int
		has                 bool
	}{
		{"alone", []Member{member("a", "10.0.0.1", Alive, "")}, nil, 1, 1, 1, true},
		{"3 alive", []Member{member("a", "10.0.0.1", Alive, ""), member("b", "10.0.0.2", Alive, ""), member("c", "10.0.0.3", Alive, "")}, nil, 3, 3, 2, true},
		{"1 of 3 failed", []Member{member("a", "10.0.0.1", Alive, ""), member("b", "10.0.0.2", Failed, ""), member("c", "10.0.0.3", Alive, "")}, nil, 2, 3, 2, true},
		{"isolated of 3", []Member{member("a", "10.0.0.1", Alive, ""), member("b", "10.0.0.2", Failed, ""), member("c", "10.0.0.3", Failed, "")}, nil, 1, 3, 2, false},
		{"left does not count", []Member{member("a", "10.0.0.1", Alive, ""), member("b", "10.0.0.2", Left, ""), member("c", "10.0.0.3", Left, "")}, []string{"a"}, 1, 1, 1, true},
		{"half of 4 is not a majority", []Member{member("a", "10.0.0.1", Alive, ""), member("b", "10.0.0.2", Alive, ""), member("c", "10.0.0.3", Failed, ""), member("d", "10.0.0.4", Failed, "")}, nil, 2, 4, 3, false},
		{"restarted alone, remembers 3", []Member{member("a", "10.0.0.1", Alive, "")}, []string{"a", "b", "c"}, 1, 3, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := QuorumOf(tt.members, tt.remembered)
			if q.Seen != tt.seen || q.Hosts != tt.hosts || q.Needed != tt.needed || q.Has() != tt.has {
				t.Fatalf("got %+v has=%v, want seen %d hosts %d needed %d has %v", q, q.Has(), tt.seen, tt.hosts, tt.needed, tt.has)
			}
		})
	}
}

func TestAdmit(t *testing.T) {
	three := []Member{member("a", "10.0.0.1", Alive, "debian"), member("b", "10.0.0.2", Alive, "debian"), member("c", "10.0.0.3", Failed, "debian")}
	quorate := Quorum{Seen: 2, Hosts: 3, Needed: 2}
	lost := Quorum{Seen: 1, Hosts: 3, Needed: 2}
	newcomer := member("d", "10.0.0.4", Unknown, "debian")
	noQuorumSeed := member("a", "10.0.0.1", Unknown, "debian")
	noQuorumSeed.Tags.Quorate = false
	tests := []struct {
		name     string
		local    []Member
		incoming []Member
		lim      Limits
		q        Quorum
		seed     *Member
		want     string // "" admits
	}{
		{"newcomer", three, []Member{newcomer}, Limits{MaxHosts: 7}, quorate, nil, ""},
		{"known members are gossip, not a join", three, three, Limits{MaxHosts: 2}, lost, nil, ""},
		{"max hosts", three, []Member{newcomer}, Limits{MaxHosts: 3}, quorate, nil, "would grow to 4 hosts, over its limit of 3"},
		{"failed members count toward max", three[:2], []Member{member("c", "10.0.0.3", Unknown, "debian"), newcomer}, Limits{MaxHosts: 3}, quorate, nil, "over its limit of 3"},
		{"left members do not", append(three[:2:2], member("c", "10.0.0.3", Left, "debian")), []Member{newcomer}, Limits{MaxHosts: 3}, Quorum{Seen: 2, Hosts: 2, Needed: 2}, nil, ""},
		{"duplicate name", three, []Member{member("b", "10.0.0.9", Unknown, "debian")}, Limits{}, quorate, nil, "a host named b is already a member, at 10.0.0.2:7946"},
		{"duplicate address", three, []Member{member("z", "10.0.0.3", Unknown, "debian")}, Limits{}, quorate, nil, "address 10.0.0.3:7946 is already member c's (failed)"},
		{"os family", three, []Member{member("d", "10.0.0.4", Unknown, "rhel")}, Limits{}, quorate, nil, "mixed OS families: debian (a, b, c) and rhel (d)"},
		{"unknown family is not a mix", three, []Member{member("d", "10.0.0.4", Unknown, "")}, Limits{}, quorate, nil, ""},
		{"no quorum here", three, []Member{newcomer}, Limits{}, lost, nil, "no quorum: this member sees 1 of 3 hosts, 2 needed"},
		{"joining side: its own stale count does not matter", []Member{member("d", "10.0.0.4", Alive, "debian")}, three, Limits{MaxHosts: 7}, Quorum{Seen: 1, Hosts: 3, Needed: 2}, &three[0], ""},
		{"joining side: seed without quorum", []Member{member("d", "10.0.0.4", Alive, "debian")}, []Member{noQuorumSeed}, Limits{}, Quorum{Seen: 1, Hosts: 1, Needed: 1}, &noQuorumSeed, "the member contacted, a, has no quorum"},
		{"joining side: cluster full", []Member{member("d", "10.0.0.4", Alive, "debian")}, three, Limits{MaxHosts: 3}, Quorum{Seen: 1, Hosts: 1, Needed: 1}, &three[0], "would grow to 4 hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Admit(tt.local, tt.incoming, tt.lim, tt.q, tt.seed)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var r *RefusedError
			if !errors.As(err, &r) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want a refusal containing %q", err, tt.want)
			}
		})
	}
}
