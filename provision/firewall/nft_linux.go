package firewall

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/vmnode/vmnode/profiles"
)

// loIndex is the loopback interface's index, 1 in every network namespace
// (LOOPBACK_IFINDEX); nft compiles `iif "lo"` to it.
const loIndex = 1

var protoNumbers = map[string]byte{"icmp": unix.IPPROTO_ICMP, "icmpv6": unix.IPPROTO_ICMPV6, "tcp": unix.IPPROTO_TCP, "udp": unix.IPPROTO_UDP}

// icmpFamily is the nfproto nft checks before an icmp/icmpv6 match in an
// inet table.
var icmpFamily = map[string]byte{"icmp": unix.NFPROTO_IPV4, "icmpv6": unix.NFPROTO_IPV6}

// compileRule turns r into the expressions nft 1.0.6 generates for the same
// text, so a table loaded by `nft -f` at boot and one written here read back
// identically.
func compileRule(r Rule) ([]expr.Any, []byte, error) {
	var ex []expr.Any
	cmpEq := func(data []byte) *expr.Cmp { return &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: data} }
	switch r.IIF {
	case "":
	case "lo":
		ex = append(ex, &expr.Meta{Key: expr.MetaKeyIIF, Register: 1}, cmpEq(binaryutil.NativeEndian.PutUint32(loIndex)))
	default:
		return nil, nil, fmt.Errorf("rule %q: only iif \"lo\" is supported", r)
	}
	if r.CtState != 0 {
		ex = append(ex,
			&expr.Ct{Key: expr.CtKeySTATE, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binaryutil.NativeEndian.PutUint32(uint32(r.CtState)), Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)})
	}
	if r.Proto != "" {
		num, ok := protoNumbers[r.Proto]
		if !ok {
			return nil, nil, fmt.Errorf("rule %q: unknown protocol %q", r, r.Proto)
		}
		if fam, ok := icmpFamily[r.Proto]; ok {
			ex = append(ex, &expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1}, cmpEq([]byte{fam}))
		}
		ex = append(ex, &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, cmpEq([]byte{num}))
		switch {
		case icmpFamily[r.Proto] != 0:
			ex = append(ex, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1}, cmpEq([]byte{r.ICMPType}))
		case r.DPort.First != 0:
			ex = append(ex, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2})
			if r.DPort.First == r.DPort.Last {
				ex = append(ex, cmpEq(binaryutil.BigEndian.PutUint16(r.DPort.First)))
			} else {
				ex = append(ex,
					&expr.Cmp{Op: expr.CmpOpGte, Register: 1, Data: binaryutil.BigEndian.PutUint16(r.DPort.First)},
					&expr.Cmp{Op: expr.CmpOpLte, Register: 1, Data: binaryutil.BigEndian.PutUint16(r.DPort.Last)})
			}
		}
	}
	switch r.Verdict {
	case Accept:
		ex = append(ex, &expr.Verdict{Kind: expr.VerdictAccept})
	case Drop:
		ex = append(ex, &expr.Verdict{Kind: expr.VerdictDrop})
	default:
		return nil, nil, fmt.Errorf("rule %q: verdict %q is not accept or drop", r, r.Verdict)
	}
	var udata []byte
	if r.Comment != "" {
		udata = userdata.AppendString(nil, userdata.TypeComment, r.Comment)
	}
	return ex, udata, nil
}

// decompileRule is compileRule's inverse. ok is false for any expression
// sequence compileRule does not produce.
func decompileRule(ex []expr.Any, udata []byte) (r Rule, ok bool) {
	// cmpAt returns the Cmp at i if it has op and a data length of n.
	cmpAt := func(i int, op expr.CmpOp, n int) (*expr.Cmp, bool) {
		if i >= len(ex) {
			return nil, false
		}
		c, ok := ex[i].(*expr.Cmp)
		return c, ok && c.Op == op && c.Register == 1 && len(c.Data) == n
	}
	nfproto := byte(0)
	i := 0
	for i < len(ex) {
		switch e := ex[i].(type) {
		case *expr.Meta:
			if e.SourceRegister || e.Register != 1 {
				return Rule{}, false
			}
			switch e.Key {
			case expr.MetaKeyIIF:
				c, ok := cmpAt(i+1, expr.CmpOpEq, 4)
				if !ok || r.IIF != "" || binaryutil.NativeEndian.Uint32(c.Data) != loIndex {
					return Rule{}, false
				}
				r.IIF = "lo"
			case expr.MetaKeyNFPROTO:
				c, ok := cmpAt(i+1, expr.CmpOpEq, 1)
				if !ok || nfproto != 0 || r.Proto != "" {
					return Rule{}, false
				}
				nfproto = c.Data[0]
			case expr.MetaKeyL4PROTO:
				c, ok := cmpAt(i+1, expr.CmpOpEq, 1)
				if !ok || r.Proto != "" {
					return Rule{}, false
				}
				for name, num := range protoNumbers {
					if num == c.Data[0] {
						r.Proto = name
					}
				}
				if r.Proto == "" || icmpFamily[r.Proto] != nfproto {
					return Rule{}, false // icmp needs its nfproto; tcp/udp must not have one
				}
			default:
				return Rule{}, false
			}
			i += 2
		case *expr.Ct:
			b, isBitwise := exprAt(ex, i+1).(*expr.Bitwise)
			c, isCmp := cmpAt(i+2, expr.CmpOpNeq, 4)
			if e.Key != expr.CtKeySTATE || e.SourceRegister || e.Register != 1 || r.CtState != 0 ||
				!isBitwise || b.SourceRegister != 1 || b.DestRegister != 1 || b.Len != 4 || len(b.Mask) != 4 ||
				!bytes.Equal(b.Xor, make([]byte, 4)) || !isCmp || !bytes.Equal(c.Data, make([]byte, 4)) {
				return Rule{}, false
			}
			r.CtState = CtState(binaryutil.NativeEndian.Uint32(b.Mask))
			if r.CtState == 0 {
				return Rule{}, false
			}
			i += 3
		case *expr.Payload:
			if e.OperationType != expr.PayloadLoad || e.DestRegister != 1 || e.Base != expr.PayloadBaseTransportHeader {
				return Rule{}, false
			}
			switch {
			case (r.Proto == "icmp" || r.Proto == "icmpv6") && e.Offset == 0 && e.Len == 1:
				c, ok := cmpAt(i+1, expr.CmpOpEq, 1)
				if !ok {
					return Rule{}, false
				}
				r.ICMPType = c.Data[0]
				i += 2
			case (r.Proto == "tcp" || r.Proto == "udp") && e.Offset == 2 && e.Len == 2 && r.DPort.First == 0:
				if c, ok := cmpAt(i+1, expr.CmpOpEq, 2); ok {
					p := binaryutil.BigEndian.Uint16(c.Data)
					r.DPort = profiles.PortRange{First: p, Last: p}
					i += 2
					break
				}
				lo, okLo := cmpAt(i+1, expr.CmpOpGte, 2)
				hi, okHi := cmpAt(i+2, expr.CmpOpLte, 2)
				if !okLo || !okHi {
					return Rule{}, false
				}
				r.DPort = profiles.PortRange{First: binaryutil.BigEndian.Uint16(lo.Data), Last: binaryutil.BigEndian.Uint16(hi.Data)}
				i += 3
			default:
				return Rule{}, false
			}
		case *expr.Verdict:
			if i != len(ex)-1 {
				return Rule{}, false
			}
			switch e.Kind {
			case expr.VerdictAccept:
				r.Verdict = Accept
			case expr.VerdictDrop:
				r.Verdict = Drop
			default:
				return Rule{}, false
			}
			i++
		default:
			return Rule{}, false
		}
	}
	if r.Verdict == "" || (nfproto != 0 && r.Proto == "") {
		return Rule{}, false
	}
	if r.Proto == "icmp" || r.Proto == "icmpv6" {
		// "icmp type" always has its payload match; a bare l4proto icmp
		// is not something vmnode writes.
		if !hasPayload(ex) {
			return Rule{}, false
		}
	}
	if len(udata) > 0 {
		c, ok := userdata.GetString(udata, userdata.TypeComment)
		if !ok || !bytes.Equal(udata, userdata.AppendString(nil, userdata.TypeComment, c)) {
			return Rule{}, false // userdata besides a comment
		}
		r.Comment = c
	}
	return r, true
}

// fromBigEndian undoes a host-order decoding of a big-endian uint32.
func fromBigEndian(v uint32) uint32 {
	return binary.BigEndian.Uint32(binaryutil.NativeEndian.PutUint32(v))
}

func exprAt(ex []expr.Any, i int) expr.Any {
	if i < len(ex) {
		return ex[i]
	}
	return nil
}

func hasPayload(ex []expr.Any) bool {
	for _, e := range ex {
		if _, ok := e.(*expr.Payload); ok {
			return true
		}
	}
	return false
}

// describeExprs names a rule's expressions for a plan, for a rule vmnode
// does not recognise.
func describeExprs(ex []expr.Any) string {
	var b bytes.Buffer
	for i, e := range ex {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "[%T %+v]", e, e)
	}
	return b.String()
}

// kernelError wraps a netlink error from op. listing is true for the first
// read (a table dump), where EINVAL and ENOENT can only mean that nfnetlink
// has no nf_tables subsystem.
func kernelError(op string, err error, listing bool) error {
	switch {
	case errors.Is(err, unix.EPROTONOSUPPORT), errors.Is(err, unix.EAFNOSUPPORT), errors.Is(err, unix.EOPNOTSUPP),
		listing && (errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT)):
		return fmt.Errorf("%s: %w (%w)", op, ErrNoKernelSupport, err)
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("%s: %w (nftables needs root or CAP_NET_ADMIN in the network namespace)", op, err)
	case !listing && errors.Is(err, unix.ENOENT):
		return fmt.Errorf("%s: %w (the kernel may lack an nf_tables module the rules use: modprobe nf_tables nft_ct)", op, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Current reads table inet vmnode back from the kernel and normalises it
// into a Ruleset comparable with Equal. exists is false when there is no
// such table. Only that table's chains and rules are read.
func Current(conn *nftables.Conn) (rs Ruleset, exists bool, err error) {
	tables, err := conn.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return Ruleset{}, false, kernelError("list nftables inet tables", err, true)
	}
	var table *nftables.Table
	for _, t := range tables {
		if t.Name == TableName && t.Family == nftables.TableFamilyINet {
			table = t
		}
	}
	if table == nil {
		return Ruleset{}, false, nil
	}
	allChains, err := conn.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return Ruleset{}, true, kernelError("list chains of table "+Target, err, false)
	}
	var chains []*nftables.Chain
	for _, c := range allChains {
		if c.Table != nil && c.Table.Name == TableName {
			chains = append(chains, c)
		}
	}
	// google/nftables v0.3.0 decodes these big-endian attributes in host
	// byte order; undo that.
	flags, use := fromBigEndian(table.Flags), fromBigEndian(table.Use)
	if flags != 0 {
		rs.Unmanaged = append(rs.Unmanaged, fmt.Sprintf("table flags %#x (dormant or owned)", flags))
	}
	if n := int(use) - len(chains); n > 0 {
		rs.Unmanaged = append(rs.Unmanaged, fmt.Sprintf("%d sets, maps, flowtables or stateful objects", n))
	}
	found := false
	for _, c := range chains {
		if c.Name != ChainName {
			rs.Unmanaged = append(rs.Unmanaged, "chain "+c.Name)
			continue
		}
		found = true
		if c.Type != nftables.ChainTypeFilter || c.Hooknum == nil || *c.Hooknum != *nftables.ChainHookInput || c.Priority == nil || c.Policy == nil {
			rs.Unmanaged = append(rs.Unmanaged, fmt.Sprintf("chain %s is not a filter chain on the input hook", c.Name))
			continue
		}
		rs.Priority = int32(*c.Priority)
		rs.Policy = PolicyDrop
		if *c.Policy == nftables.ChainPolicyAccept {
			rs.Policy = PolicyAccept
		}
		rules, err := conn.GetRules(table, c)
		if err != nil {
			return Ruleset{}, true, kernelError("list rules of chain "+Target+" "+ChainName, err, false)
		}
		for _, kr := range rules {
			r, ok := decompileRule(kr.Exprs, kr.UserData)
			if !ok {
				rs.Unmanaged = append(rs.Unmanaged, fmt.Sprintf("rule (handle %d) %s", kr.Handle, describeExprs(kr.Exprs)))
				continue
			}
			rs.Rules = append(rs.Rules, r)
		}
	}
	if !found {
		rs.Unmanaged = append(rs.Unmanaged, "no chain "+ChainName)
	}
	return rs, true, nil
}

// BatchSize is the number of netlink messages Apply sends for rs in its one
// batch: batch begin, add table, delete table, add table, add chain, one per
// rule, batch end.
func BatchSize(rs Ruleset) int { return 2 + 3 + 1 + len(rs.Rules) }

// Apply replaces table inet vmnode with rs in one atomic netlink batch: add
// the table (a no-op when it exists), delete it, add it with its chain and
// rules. The kernel applies all of it or none of it, so on error the
// previous table, if any, is still in place, and at no instant are packets
// filtered by a half-built chain. It returns the batch's message count.
func Apply(conn *nftables.Conn, rs Ruleset) (int, error) { return apply(conn, rs, nil) }

func apply(conn *nftables.Conn, rs Ruleset, beforeFlush func(*nftables.Conn, *nftables.Table)) (int, error) {
	if len(rs.Unmanaged) > 0 {
		return 0, fmt.Errorf("firewall ruleset has parts vmnode does not manage: %v", rs.Unmanaged)
	}
	policy := nftables.ChainPolicyAccept
	switch rs.Policy {
	case PolicyAccept:
	case PolicyDrop:
		policy = nftables.ChainPolicyDrop
	default:
		return 0, fmt.Errorf("firewall ruleset: invalid policy %q", rs.Policy)
	}
	// Compile everything before queueing anything: a half-queued batch
	// must never be left in conn for a later Flush.
	type compiled struct {
		ex    []expr.Any
		udata []byte
	}
	rules := make([]compiled, len(rs.Rules))
	for i, r := range rs.Rules {
		ex, udata, err := compileRule(r)
		if err != nil {
			return 0, err
		}
		rules[i] = compiled{ex, udata}
	}

	table := &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
	conn.AddTable(table)
	conn.DelTable(table)
	conn.AddTable(table)
	chain := conn.AddChain(&nftables.Chain{
		Name:     ChainName,
		Table:    table,
		Type:     nftables.ChainTypeFilter,
		Hooknum:  nftables.ChainHookInput,
		Priority: nftables.ChainPriorityRef(nftables.ChainPriority(rs.Priority)),
		Policy:   &policy,
	})
	for _, r := range rules {
		conn.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: r.ex, UserData: r.udata})
	}
	if beforeFlush != nil {
		beforeFlush(conn, table)
	}
	if err := conn.Flush(); err != nil {
		return 0, kernelError("replace table "+Target+" (one atomic batch; the previous table is unchanged)", err, false)
	}
	return BatchSize(rs), nil
}
