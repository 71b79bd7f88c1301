package firewall

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vmnode/vmnode/profiles"
)

// The table and chain vmnode owns. Nothing else is ever read or written.
const (
	TableFamily = "inet"
	TableName   = "vmnode"
	ChainName   = "input"
	// Target names the table in plans ("inet vmnode").
	Target = TableFamily + " " + TableName
)

// Priority of the input base chain: 0, the standard "filter" priority (the
// one `nft` calls priority filter). Every base chain on the input hook sees
// each packet in priority order; an accept here is final only for this
// chain, so a drop in another component's chain (firewalld at filter+10, for
// instance) still wins. That is deliberate: vmnode adds what the cluster
// needs and never overrides another component's decision.
const Priority int32 = 0

// ErrNoKernelSupport is wrapped by errors caused by a kernel without
// nf_tables, its inet family, or an expression vmnode's rules use.
var ErrNoKernelSupport = errors.New("the kernel lacks nf_tables inet family support (modprobe nf_tables)")

// SSH is accepted whatever the profile says: provisioning must never lock
// the operator out.
var SSH = profiles.Port{Port: profiles.PortRange{First: 22, Last: 22}, Proto: "tcp", Purpose: "SSH"}

// Policy is the verdict for inbound packets no rule accepted.
type Policy string

// Policies. PolicyAccept is the default: adding vmnode's table then never
// closes anything that was open before.
const (
	PolicyAccept Policy = "accept"
	PolicyDrop   Policy = "drop"
)

// ParsePolicy accepts "accept", "drop" or "" (PolicyAccept).
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(strings.ToLower(strings.TrimSpace(s))); p {
	case "":
		return PolicyAccept, nil
	case PolicyAccept, PolicyDrop:
		return p, nil
	}
	return "", fmt.Errorf("invalid firewall policy %q: want %q or %q", s, PolicyAccept, PolicyDrop)
}

// Options tune the desired ruleset.
type Options struct {
	Policy Policy // "" means PolicyAccept
}

// Verdict of a rule.
type Verdict string

// Verdicts used by vmnode's rules.
const (
	Accept Verdict = "accept"
	Drop   Verdict = "drop"
)

// CtState is a bit set of conntrack states (the kernel's NF_CT_STATE bits).
type CtState uint32

// Conntrack states.
const (
	CtInvalid     CtState = 1
	CtEstablished CtState = 2
	CtRelated     CtState = 4
	CtNew         CtState = 8
	CtUntracked   CtState = 64
)

var ctNames = []struct {
	bit  CtState
	name string
}{{CtInvalid, "invalid"}, {CtEstablished, "established"}, {CtRelated, "related"}, {CtNew, "new"}, {CtUntracked, "untracked"}}

// String is the state list as nft prints it: "established,related".
func (s CtState) String() string {
	var names []string
	rest := s
	for _, n := range ctNames {
		if s&n.bit != 0 {
			names = append(names, n.name)
			rest &^= n.bit
		}
	}
	if rest != 0 {
		names = append(names, "0x"+strconv.FormatUint(uint64(rest), 16))
	}
	return strings.Join(names, ",")
}

// ICMP types vmnode accepts. Without the neighbour-discovery ones a drop
// policy breaks IPv6 altogether.
const (
	ICMPEchoRequest       uint8 = 8   // icmp
	ICMPv6EchoRequest     uint8 = 128 // icmpv6
	ICMPv6RouterAdvert    uint8 = 134
	ICMPv6NeighborSolicit uint8 = 135
	ICMPv6NeighborAdvert  uint8 = 136
)

var icmpNames = map[string]map[uint8]string{
	"icmp":   {ICMPEchoRequest: "echo-request"},
	"icmpv6": {ICMPv6EchoRequest: "echo-request", 133: "nd-router-solicit", ICMPv6RouterAdvert: "nd-router-advert", ICMPv6NeighborSolicit: "nd-neighbor-solicit", ICMPv6NeighborAdvert: "nd-neighbor-advert"},
}

// Rule is one rule of the input chain. Its matches are ANDed in the order
// nft prints them; a zero field matches anything. Proto is "tcp" or "udp"
// (with DPort) or "icmp"/"icmpv6" (with ICMPType).
type Rule struct {
	IIF      string // input interface; only "lo" (ifindex 1 in every namespace)
	CtState  CtState
	Proto    string
	ICMPType uint8
	DPort    profiles.PortRange
	Verdict  Verdict
	Comment  string
}

// String is the rule in nft syntax, exactly as `nft list` prints it.
func (r Rule) String() string {
	var parts []string
	if r.IIF != "" {
		parts = append(parts, `iif "`+r.IIF+`"`)
	}
	if r.CtState != 0 {
		parts = append(parts, "ct state "+r.CtState.String())
	}
	switch r.Proto {
	case "":
	case "icmp", "icmpv6":
		name, ok := icmpNames[r.Proto][r.ICMPType]
		if !ok {
			name = strconv.Itoa(int(r.ICMPType))
		}
		parts = append(parts, r.Proto+" type "+name)
	default:
		if r.DPort.First != 0 {
			parts = append(parts, r.Proto+" dport "+r.DPort.String())
		} else {
			parts = append(parts, "meta l4proto "+r.Proto)
		}
	}
	parts = append(parts, string(r.Verdict))
	if r.Comment != "" {
		parts = append(parts, `comment "`+r.Comment+`"`) // nft strings have no escapes
	}
	return strings.Join(parts, " ")
}

// Ruleset is the content of table inet vmnode: one base chain "input"
// (type filter, hook input, priority Priority) with a policy and rules.
type Ruleset struct {
	Policy   Policy
	Priority int32
	Rules    []Rule
	// Unmanaged lists what a table read from the kernel holds that this
	// model does not describe (another chain, a set, a rule vmnode never
	// writes). It is always empty in a desired ruleset; when it is not,
	// the table differs from any desired one and is rebuilt.
	Unmanaged []string
}

// Equal reports whether a and b are the same table, as nft would list it.
func Equal(a, b Ruleset) bool { return renderTable(a) == renderTable(b) }

// Desired is the ruleset for a profile's ports, in this order: loopback,
// established/related, (with policy drop) invalid dropped, the ICMP and
// ICMPv6 essentials, then the ports sorted by protocol and number, with
// 22/tcp added when the profile does not open it. Duplicate and overlapping
// ports of one protocol are merged.
func Desired(ports []profiles.Port, opt Options) (Ruleset, error) {
	policy, err := ParsePolicy(string(opt.Policy))
	if err != nil {
		return Ruleset{}, err
	}
	rs := Ruleset{Policy: policy, Priority: Priority}
	rs.Rules = append(rs.Rules,
		Rule{IIF: "lo", Verdict: Accept},
		Rule{CtState: CtEstablished | CtRelated, Verdict: Accept},
	)
	if policy == PolicyDrop {
		rs.Rules = append(rs.Rules, Rule{CtState: CtInvalid, Verdict: Drop})
	}
	rs.Rules = append(rs.Rules,
		Rule{Proto: "icmp", ICMPType: ICMPEchoRequest, Verdict: Accept},
		Rule{Proto: "icmpv6", ICMPType: ICMPv6EchoRequest, Verdict: Accept},
		Rule{Proto: "icmpv6", ICMPType: ICMPv6NeighborSolicit, Verdict: Accept},
		Rule{Proto: "icmpv6", ICMPType: ICMPv6NeighborAdvert, Verdict: Accept},
		Rule{Proto: "icmpv6", ICMPType: ICMPv6RouterAdvert, Verdict: Accept},
	)
	portRules, err := portRules(ports)
	if err != nil {
		return Ruleset{}, err
	}
	rs.Rules = append(rs.Rules, portRules...)
	return rs, nil
}

func portRules(ports []profiles.Port) ([]Rule, error) {
	var errs []error
	var rules []Rule
	for _, p := range ports {
		proto := strings.ToLower(strings.TrimSpace(p.Proto))
		switch {
		case proto != "tcp" && proto != "udp":
			errs = append(errs, fmt.Errorf("firewall port %s: protocol %q is not tcp or udp", p.Port, p.Proto))
			continue
		case p.Port.First == 0 || p.Port.Last < p.Port.First:
			errs = append(errs, fmt.Errorf("firewall port %s/%s: not a port or range in 1-65535", p.Port, proto))
			continue
		}
		rules = append(rules, Rule{Proto: proto, DPort: p.Port, Verdict: Accept, Comment: comment(p.Purpose)})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if !slices.ContainsFunc(rules, func(r Rule) bool { return r.Proto == SSH.Proto && r.DPort.Contains(SSH.Port.First) }) {
		rules = append(rules, Rule{Proto: SSH.Proto, DPort: SSH.Port, Verdict: Accept, Comment: "SSH (always open)"})
	}
	slices.SortStableFunc(rules, func(a, b Rule) int {
		return cmp.Or(cmp.Compare(a.Proto, b.Proto), cmp.Compare(a.DPort.First, b.DPort.First), cmp.Compare(a.DPort.Last, b.DPort.Last))
	})
	// Merge duplicates and overlaps of one protocol; keep every purpose.
	var out []Rule
	for _, r := range rules {
		if n := len(out); n > 0 && out[n-1].Proto == r.Proto && r.DPort.First <= out[n-1].DPort.Last {
			last := &out[n-1]
			last.DPort.Last = max(last.DPort.Last, r.DPort.Last)
			if r.Comment != "" && !slices.Contains(strings.Split(last.Comment, ", "), r.Comment) {
				last.Comment = comment(strings.TrimPrefix(last.Comment+", "+r.Comment, ", "))
			}
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// comment makes s a valid nft comment: no double quotes or control
// characters, at most 128 bytes (nft's limit).
func comment(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r < ' ' || r == 0x7f:
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	for len(s) > 128 {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
