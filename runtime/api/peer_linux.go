package api

import (
	"context"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

type peerKey struct{}

// peerContext records the connecting process's uid (SO_PEERCRED).
func peerContext(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return ctx
	}
	var cred *unix.Ucred
	_ = raw.Control(func(fd uintptr) {
		cred, _ = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if cred == nil {
		return ctx
	}
	return context.WithValue(ctx, peerKey{}, cred.Uid)
}

// rootPeer reports whether the peer is root. The socket's mode already
// keeps others out; this holds even if someone loosens it.
func rootPeer(ctx context.Context) bool {
	uid, ok := ctx.Value(peerKey{}).(uint32)
	return ok && uid == 0
}

func umask(m int) int { return syscall.Umask(m) }
