package firewall

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Socket is one line of /proc/net/{tcp,tcp6,udp,udp6}.
type Socket struct {
	Local  netip.AddrPort
	Remote netip.AddrPort
	State  uint8 // TCP state; 0x0A is LISTEN, 0x07 (CLOSE) an unconnected UDP socket
	UID    uint32
	Inode  uint64 // 0 for sockets the kernel holds itself (e.g. a VXLAN device)
}

// Socket states in /proc/net.
const (
	StateEstablished = 0x01
	StateClose       = 0x07
	StateListen      = 0x0A
)

// parseProcNet parses /proc/net/tcp, tcp6, udp or udp6. Addresses are
// printed by the kernel as 32-bit words in host byte order; the hosts
// vmnode runs on (x86_64, arm64) are little-endian.
func parseProcNet(data []byte) ([]Socket, error) {
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) == 0 || !strings.Contains(lines[0], "local_address") {
		return nil, errors.New("no header line with local_address")
	}
	var out []Socket
	for i, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 10 || !strings.HasSuffix(f[0], ":") {
			return nil, fmt.Errorf("line %d: %d fields, want at least 10", i+2, len(f))
		}
		var s Socket
		var err error
		if s.Local, err = parseHexAddrPort(f[1]); err != nil {
			return nil, fmt.Errorf("line %d: local address: %w", i+2, err)
		}
		if s.Remote, err = parseHexAddrPort(f[2]); err != nil {
			return nil, fmt.Errorf("line %d: remote address: %w", i+2, err)
		}
		st, err := strconv.ParseUint(f[3], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("line %d: state %q: %w", i+2, f[3], err)
		}
		s.State = uint8(st)
		uid, err := strconv.ParseUint(f[7], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("line %d: uid %q: %w", i+2, f[7], err)
		}
		s.UID = uint32(uid)
		if s.Inode, err = strconv.ParseUint(f[9], 10, 64); err != nil {
			return nil, fmt.Errorf("line %d: inode %q: %w", i+2, f[9], err)
		}
		out = append(out, s)
	}
	return out, nil
}

// parseHexAddrPort parses "0100007F:0016" (IPv4) or 32 hex digits and a
// port (IPv6).
func parseHexAddrPort(s string) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%q: want ADDR:PORT", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil || len(p) != 4 {
		return netip.AddrPort{}, fmt.Errorf("%q: bad port", s)
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("%q: bad address", s)
	}
	var b bytes.Buffer
	for i := 0; i < len(raw); i += 4 {
		var w [4]byte
		binary.BigEndian.PutUint32(w[:], binary.LittleEndian.Uint32(raw[i:i+4]))
		b.Write(w[:])
	}
	addr, _ := netip.AddrFromSlice(b.Bytes())
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), nil
}
