package firewall

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"

	"github.com/vmnode/vmnode/profiles"
)

func TestCompileRoundTrip(t *testing.T) {
	rules := desired(t, profilePorts(t, "vmnode"), PolicyDrop).Rules
	rules = append(rules,
		Rule{Proto: "udp", Verdict: Drop},
		Rule{Proto: "icmpv6", ICMPType: 133, Verdict: Accept},
		Rule{Proto: "icmp", ICMPType: 0, Verdict: Accept},
		Rule{IIF: "lo", CtState: CtNew, Proto: "tcp", DPort: profiles.PortRange{First: 1, Last: 65535}, Verdict: Accept, Comment: "all"},
	)
	for _, r := range rules {
		ex, udata, err := compileRule(r)
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		got, ok := decompileRule(ex, udata)
		if !ok || got != r {
			t.Errorf("round trip of %q: got %q ok=%v", r, got, ok)
		}
	}
	for _, bad := range []Rule{{IIF: "eth0", Verdict: Accept}, {Proto: "sctp", Verdict: Accept}, {Proto: "tcp", Verdict: "reject"}} {
		if _, _, err := compileRule(bad); err == nil {
			t.Errorf("compileRule(%+v) succeeded", bad)
		}
	}
}

// TestDecompileRejectsForeign: rules vmnode never writes are not mistaken
// for one of its own.
func TestDecompileRejectsForeign(t *testing.T) {
	ssh, udata, err := compileRule(Rule{Proto: "tcp", DPort: profiles.PortRange{First: 22, Last: 22}, Verdict: Accept})
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func([]expr.Any) []expr.Any) []expr.Any { return f(append([]expr.Any{}, ssh...)) }
	tests := map[string]struct {
		ex    []expr.Any
		udata []byte
	}{
		"counter": {ex: with(func(e []expr.Any) []expr.Any {
			return append(e[:len(e)-1], &expr.Counter{}, e[len(e)-1])
		})},
		"jump": {ex: with(func(e []expr.Any) []expr.Any {
			e[len(e)-1] = &expr.Verdict{Kind: expr.VerdictJump, Chain: "x"}
			return e
		})},
		"no verdict": {ex: ssh[:len(ssh)-1]},
		"iif 2": {ex: []expr.Any{&expr.Meta{Key: expr.MetaKeyIIF, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(2)}, &expr.Verdict{Kind: expr.VerdictAccept}}},
		"sport": {ex: with(func(e []expr.Any) []expr.Any { e[2].(*expr.Payload).Offset = 0; return e })},
		"port neq": {ex: with(func(e []expr.Any) []expr.Any {
			e[3] = &expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: e[3].(*expr.Cmp).Data}
			return e
		})},
		"icmp without nfproto": {ex: []expr.Any{&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_ICMP}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Len: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{8}}, &expr.Verdict{Kind: expr.VerdictAccept}}},
		"other userdata": {ex: ssh, udata: append(udata, userdata.AppendUint32(nil, 5, 1)...)},
	}
	for name, tt := range tests {
		if r, ok := decompileRule(tt.ex, tt.udata); ok {
			t.Errorf("%s: decompiled to %q", name, r)
		}
	}
}

// fakeKernel answers netlink like a kernel would, through nltest: every
// batch message is acknowledged, or the errno is returned for the first.
type fakeKernel struct {
	errno   int // returned for requests when non-zero
	batches [][]netlink.Message
}

func (k *fakeKernel) conn() *nftables.Conn {
	c, _ := nftables.New(nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
		if len(req) == 0 { // Receive after the batch: one ack per message
			return []netlink.Message{{Header: netlink.Header{Type: netlink.Error}, Data: make([]byte, 4)}}, nil
		}
		if req[0].Header.Type == netlink.HeaderType(unix.NFNL_MSG_BATCH_BEGIN) {
			k.batches = append(k.batches, req)
			if k.errno != 0 {
				return errorReply(k.errno, req[1]), nil
			}
			return nil, nil
		}
		if k.errno != 0 {
			return errorReply(k.errno, req[0]), nil
		}
		return nltest.Multipart(nil)
	}))
	return c
}

// errorReply is the kernel's NLMSG_ERROR for req: the negative errno, then
// the request's header and payload (nltest.Error omits the header, which
// netlink's parser now requires).
func errorReply(errno int, req netlink.Message) []netlink.Message {
	data := make([]byte, 4+16, 4+16+len(req.Data))
	binary.NativeEndian.PutUint32(data[0:], uint32(-int32(errno)))
	binary.NativeEndian.PutUint32(data[4:], uint32(16+len(req.Data)))
	binary.NativeEndian.PutUint16(data[8:], uint16(req.Header.Type))
	binary.NativeEndian.PutUint16(data[10:], uint16(req.Header.Flags))
	binary.NativeEndian.PutUint32(data[12:], req.Header.Sequence)
	binary.NativeEndian.PutUint32(data[16:], req.Header.PID)
	data = append(data, req.Data...)
	return []netlink.Message{{Header: netlink.Header{Type: netlink.Error, Sequence: req.Header.Sequence, PID: req.Header.PID}, Data: data}}
}

func TestBatchSizeIsWhatIsSent(t *testing.T) {
	for _, gc := range goldenCases {
		rs := desired(t, profilePorts(t, gc.profile), gc.policy)
		k := &fakeKernel{}
		n, err := Apply(k.conn(), rs)
		if err != nil {
			t.Fatal(err)
		}
		if len(k.batches) != 1 {
			t.Fatalf("%s: %d batches sent, want exactly one", gc.name, len(k.batches))
		}
		if got := len(k.batches[0]); got != n || n != BatchSize(rs) {
			t.Errorf("%s: sent %d messages, Apply says %d, BatchSize says %d", gc.name, got, n, BatchSize(rs))
		}
		// Delete precedes the new table, both in this one batch.
		types := []uint16{unix.NFT_MSG_NEWTABLE, unix.NFT_MSG_DELTABLE, unix.NFT_MSG_NEWTABLE, unix.NFT_MSG_NEWCHAIN}
		for i, want := range types {
			if got := uint16(k.batches[0][i+1].Header.Type) & 0xff; got != want {
				t.Errorf("%s: message %d is type %d, want %d", gc.name, i+1, got, want)
			}
		}
	}
}

func TestKernelWithoutSupport(t *testing.T) {
	rs := desired(t, nil, "")
	// nf_tables missing: nfnetlink answers EINVAL to a table dump.
	_, _, err := Current((&fakeKernel{errno: int(unix.EINVAL)}).conn())
	if !errors.Is(err, ErrNoKernelSupport) || !strings.Contains(err.Error(), "the kernel lacks nf_tables inet family support (modprobe nf_tables)") {
		t.Errorf("Current on a kernel without nf_tables: %v", err)
	}
	// The inet family missing: the batch is refused with EAFNOSUPPORT.
	_, err = Apply((&fakeKernel{errno: int(unix.EAFNOSUPPORT)}).conn(), rs)
	if !errors.Is(err, ErrNoKernelSupport) {
		t.Errorf("Apply on a kernel without inet: %v", err)
	}
	// Not root.
	_, err = Apply((&fakeKernel{errno: int(unix.EPERM)}).conn(), rs)
	if errors.Is(err, ErrNoKernelSupport) || !strings.Contains(err.Error(), "CAP_NET_ADMIN") {
		t.Errorf("Apply without privilege: %v", err)
	}
	// An unrelated error is not blamed on the kernel.
	if err := kernelError("op", errors.New("x"), false); errors.Is(err, ErrNoKernelSupport) {
		t.Errorf("a plain error classified as missing kernel support: %v", err)
	}
}
