package agent

import (
	"context"
	"runtime"
	"strings"
	"time"

	"github.com/vmnode/vmnode/preflight/checks/memory"
	"github.com/vmnode/vmnode/preflight/checks/system"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/runtime/cluster"
)

// facts fills the tags that describe the host itself.
func facts(ctx context.Context, h *host.Host, t *cluster.Tags) {
	if r, err := system.ReadOSRelease(h); err == nil {
		t.OSFamily, t.OS = r.Family(), strings.TrimSpace(r.ID+" "+r.VersionID)
	}
	t.CPUs = runtime.NumCPU()
	if b, err := h.ReadFile("/proc/meminfo"); err == nil {
		if mi, err := memory.ParseMemInfo(b); err == nil {
			t.MemoryMiB = int(mi.Total >> 20)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	// "libvirtd (libvirt) 9.0.0"
	if out, err := h.Exec.Run(ctx, "libvirtd", "--version"); err == nil {
		t.Libvirt = lastField(firstLine(out))
	}
	// "QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)"
	for _, q := range []string{"qemu-system-x86_64", "/usr/libexec/qemu-kvm", "qemu-kvm", "qemu-system-aarch64"} {
		if out, err := h.Exec.Run(ctx, q, "--version"); err == nil {
			if f := strings.Fields(firstLine(out)); len(f) >= 4 && f[2] == "version" {
				t.QEMU = f[3]
				break
			}
		}
	}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(s)
}

func lastField(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}
