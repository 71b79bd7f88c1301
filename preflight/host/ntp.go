package host

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/beevik/ntp"
)

// DefaultNTPTimeout bounds one NTP query when NTPClient.Timeout is zero.
const DefaultNTPTimeout = 2 * time.Second

// NTPClient is the production TimeSource: one SNTP query (beevik/ntp) per
// Offset call, with the response validated before its offset is trusted.
type NTPClient struct {
	Timeout time.Duration // per query; DefaultNTPTimeout when zero
}

// Offset queries server ("host", "host:port", "[v6]:port"; port 123 when
// none is given) and returns the local clock's offset: positive when the
// server is ahead of this host. It honours ctx's deadline and cancellation.
func (c NTPClient) Offset(ctx context.Context, server string) (time.Duration, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultNTPTimeout
	}
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return 0, fmt.Errorf("ntp %s: %w", server, context.DeadlineExceeded)
		}
		timeout = min(timeout, left)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("ntp %s: %w", server, err)
	}
	var stop func() bool
	opt := ntp.QueryOptions{
		Timeout: timeout,
		// Resolve and dial under ctx, and close the socket when ctx ends so
		// the blocked read returns at once.
		Dialer: func(_, remote string) (net.Conn, error) {
			var d net.Dialer
			conn, err := d.DialContext(ctx, "udp", remote)
			if err != nil {
				return nil, err
			}
			stop = context.AfterFunc(ctx, func() { conn.Close() })
			return conn, nil
		},
	}
	resp, err := ntp.QueryWithOptions(server, opt)
	if stop != nil {
		stop()
	}
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("ntp %s: %w", server, ctx.Err())
		}
		return 0, fmt.Errorf("ntp %s: %w", server, err)
	}
	if err := resp.Validate(); err != nil {
		return 0, fmt.Errorf("ntp %s: unusable answer (stratum %d, leap %d): %w", server, resp.Stratum, resp.Leap, err)
	}
	return resp.ClockOffset, nil
}
