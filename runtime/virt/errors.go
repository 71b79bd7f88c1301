package virt

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/digitalocean/go-libvirt"
)

var (
	// ErrDisconnected: libvirtd is not reachable right now. Operations
	// return it at once instead of blocking while Run reconnects; a call
	// that was in flight when the connection dropped returns it too (the
	// operation may or may not have happened).
	ErrDisconnected = errors.New("not connected to libvirtd")
	// ErrClosed: the Conn was closed.
	ErrClosed = errors.New("libvirt connection closed")
	// ErrNotFound: no domain with that name (libvirt's VIR_ERR_NO_DOMAIN).
	ErrNotFound = errors.New("domain not found")
	// ErrNotRunning: the operation needs a running domain and it is off
	// (Destroy, Shutdown or Reboot of a shut-off domain).
	ErrNotRunning = errors.New("domain is not running")
	// ErrAlreadyRunning: Start of a domain that is already running.
	ErrAlreadyRunning = errors.New("domain is already running")
	// ErrInvalidXML: libvirt rejected a definition (not well-formed, fails
	// the schema, or a semantic XML error).
	ErrInvalidXML = errors.New("invalid domain XML")
)

// Error is an error reported by libvirt, with libvirt's code
// (virErrorNumber) and message. errors.Is maps it onto ErrNotFound and
// ErrInvalidXML where the code says so.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is lets errors.Is(err, ErrNotFound) and errors.Is(err, ErrInvalidXML)
// work on libvirt's codes.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return libvirt.ErrorNumber(e.Code) == libvirt.ErrNoDomain
	case ErrInvalidXML:
		switch libvirt.ErrorNumber(e.Code) {
		case libvirt.ErrXMLError, libvirt.ErrXMLDetail, libvirt.ErrXMLInvalidSchema:
			return true
		}
	}
	return false
}

// libvirtCode returns libvirt's error code when err is a libvirt error.
func libvirtCode(err error) (libvirt.ErrorNumber, bool) {
	var le libvirt.Error
	if errors.As(err, &le) {
		return libvirt.ErrorNumber(le.Code), true
	}
	var e *Error
	if errors.As(err, &e) {
		return libvirt.ErrorNumber(e.Code), true
	}
	return 0, false
}

// translate turns what go-libvirt returned for a call on l into this
// package's errors: libvirt's own errors become *Error, a lost connection
// becomes ErrDisconnected.
func (c *Conn) translate(l *libvirt.Libvirt, err error) error {
	if err == nil {
		return nil
	}
	var le libvirt.Error
	if errors.As(err, &le) {
		return &Error{Code: int(le.Code), Message: le.Message}
	}
	if isConnLoss(err) || !l.IsConnected() {
		return fmt.Errorf("%w on %s: %v", ErrDisconnected, c.opts.Socket, err)
	}
	return err
}

// isConnLoss recognises the ways go-libvirt reports a connection that went
// away during or before a call.
func isConnLoss(err error) bool {
	return errors.Is(err, libvirt.ErrInterrupted) || // socket closed while waiting for the reply
		errors.Is(err, syscall.EINVAL) || // SendPacket on a disconnected socket
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}
