package host

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options say which host to look at.
type Options struct {
	Root       string // "" or "/" for the live host
	Offline    bool
	Address    netip.Addr // given by --address or config; may be invalid
	NTPServers []string
	NTPTimeout time.Duration
}

// Open returns the view of the live host, or of the tree under o.Root.
func Open(o Options) (*Host, error) {
	root := o.Root
	if root == "" {
		root = "/"
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("--root %s: %w", root, err)
	}
	if info, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("--root %s: %w", root, err)
	} else if !info.IsDir() {
		return nil, fmt.Errorf("--root %s: not a directory", root)
	}
	h := &Host{
		Root:       abs,
		Files:      RootFS(abs),
		Live:       abs == "/",
		Offline:    o.Offline,
		Address:    o.Address,
		NTPServers: o.NTPServers,
		Clock:      time.Now,
	}
	if o.Address.IsValid() {
		h.AddressSource = "given"
	}
	if h.Live {
		h.Exec, h.Kernel, h.NTP = Exec{}, Live{}, NTPClient{Timeout: o.NTPTimeout}
		h.Hostname, _ = os.Hostname()
	} else {
		h.Exec, h.Kernel, h.NTP = NotLive{}, NotLive{}, NotLive{}
		if b, err := h.ReadFile("/etc/hostname"); err == nil {
			h.Hostname = strings.TrimSpace(string(b))
		}
	}
	return h, nil
}
