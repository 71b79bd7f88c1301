package firewall

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// needKernel skips tests that need root, ip(8) and nft(8) (nft only to
// observe and to set up other tables; the code under test never runs it).
func needKernel(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping real-kernel test: needs root to create network namespaces and change nftables")
	}
	for _, bin := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("skipping real-kernel test: %s not found (apt-get install -y iproute2 nftables)", bin)
		}
	}
}

// netNS is a private network namespace made for one test.
type netNS struct {
	name string
	fd   int
}

func newNetNS(t testing.TB) *netNS {
	t.Helper()
	needKernel(t)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ns := &netNS{name: "vmnode-fw-" + hex.EncodeToString(b)}
	if out, err := exec.Command("ip", "netns", "add", ns.name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", ns.name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns.name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns.name, err, out)
		}
	})
	f, err := os.Open("/run/netns/" + ns.name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	ns.fd = int(f.Fd())
	ns.ip(t, "link", "set", "lo", "up")
	return ns
}

func (ns *netNS) conn(t testing.TB) *nftables.Conn {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(ns.fd))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// exec runs a command inside the namespace and returns its stdout.
func (ns *netNS) exec(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.name, name}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ip netns exec %s %s %s: %v: %s", ns.name, name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func (ns *netNS) nft(t testing.TB, args ...string) string {
	t.Helper()
	return ns.exec(t, "nft", args...)
}

func (ns *netNS) ip(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"-n", ns.name}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns.name, strings.Join(args, " "), err, out)
	}
}

// nftFile loads text with nft -f inside the namespace.
func (ns *netNS) nftFile(t testing.TB, text string, extra ...string) {
	t.Helper()
	path := t.TempDir() + "/rules.nft"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	ns.nft(t, append(extra, "-f", path)...)
}

// do runs fn on a thread that has joined the namespace, so sockets fn
// creates live there.
func (ns *netNS) do(t testing.TB, fn func()) {
	t.Helper()
	if err := ns.run(fn); err != nil {
		t.Fatal(err)
	}
}

// run is do for goroutines other than the test's. The thread is thrown
// away if it cannot switch back.
func (ns *netNS) run(fn func()) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		if err := unix.Setns(ns.fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter namespace %s: %w", ns.name, err)
			return
		}
		defer func() {
			if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
				runtime.UnlockOSThread()
			}
		}()
		fn()
		errc <- nil
	}()
	return <-errc
}
