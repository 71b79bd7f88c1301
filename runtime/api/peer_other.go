//go:build !linux

package api

import (
	"context"
	"net"
)

func peerContext(ctx context.Context, _ net.Conn) context.Context { return ctx }

func rootPeer(context.Context) bool { return false }

func umask(m int) int { return m }
