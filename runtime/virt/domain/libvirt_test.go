package domain

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
)

const libvirtSocket = "/run/libvirt/libvirt-sock"

// TestLibvirtAcceptsXML defines every golden spec in libvirt's test driver
// (through the running libvirtd, so the XML goes through libvirt's real
// parser and formatter; each connection has fresh private state), starts
// it, and parses libvirt's own XML back. The test driver accepts all of
// them, the sriov hostdev interface included; it checks neither files,
// networks, bridges nor PCI devices, so this proves the XML is valid, not
// that a VM would boot.
func TestLibvirtAcceptsXML(t *testing.T) {
	if _, err := os.Stat(libvirtSocket); err != nil {
		t.Fatalf("libvirtd is not running (%v): run tests/libvirtd.sh", err)
	}
	l := libvirt.NewWithDialer(dialers.NewLocal(dialers.WithSocket(libvirtSocket)))
	if err := l.ConnectToURI("test:///default"); err != nil {
		t.Fatalf("connect to test:///default through %s: %v (run tests/libvirtd.sh)", libvirtSocket, err)
	}
	t.Cleanup(func() { _ = l.Disconnect() })

	for _, tc := range goldenSpecs {
		t.Run(tc.name, func(t *testing.T) {
			b, err := XML(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			dom, err := l.DomainDefineXML(string(b))
			if err != nil {
				t.Fatalf("libvirt refused the XML: %v\n%s", err, b)
			}
			t.Cleanup(func() { _ = l.DomainUndefine(dom) })

			// What libvirt stores: the VNC password only with XML_SECURE.
			want := expected(tc.spec)
			got := getParsed(t, l, dom, libvirt.DomainXMLSecure)
			compareLibvirt(t, "defined", got, want, tc.spec)

			plain := getParsed(t, l, dom, 0)
			if plain.Spec.VNC.Password != "" {
				t.Errorf("password %q in the XML without VIR_DOMAIN_XML_SECURE", plain.Spec.VNC.Password)
			}

			if err := l.DomainCreate(dom); err != nil {
				t.Fatalf("start: %v", err)
			}
			t.Cleanup(func() { _ = l.DomainDestroy(dom) })
			live := getParsed(t, l, dom, libvirt.DomainXMLSecure)
			compareLibvirt(t, "running", live, want, tc.spec)
			if live.UUID != got.UUID {
				t.Errorf("live UUID %s, defined %s", live.UUID, got.UUID)
			}
		})
	}
}

func expected(s Spec) Spec {
	if s.Type == "" {
		s.Type = "kvm"
	}
	return s
}

func getParsed(t *testing.T, l *libvirt.Libvirt, dom libvirt.Domain, flags libvirt.DomainXMLFlags) Parsed {
	t.Helper()
	x, err := l.DomainGetXMLDesc(dom, flags)
	if err != nil {
		t.Fatalf("get XML: %v", err)
	}
	p, err := Parse([]byte(x))
	if err != nil {
		t.Fatalf("Parse libvirt's XML: %v\n%s", err, x)
	}
	if !strings.Contains(x, `<vm xmlns="`+Namespace+`">`) {
		t.Errorf("libvirt rewrote vmnode's metadata element:\n%s", x)
	}
	return p
}

// compareLibvirt compares what libvirt gives back with the spec. libvirt
// assigns a MAC (52:54:00:…) to every interface that had none.
func compareLibvirt(t *testing.T, state string, got Parsed, want, orig Spec) {
	t.Helper()
	if got.UUID == "" {
		t.Errorf("%s: no UUID", state)
	}
	if !reflect.DeepEqual(got.Spec.Meta, want.Meta) {
		t.Errorf("%s: Meta =\n  %+v\nwant\n  %+v", state, got.Spec.Meta, want.Meta)
	}
	if len(got.Spec.NICs) == len(orig.NICs) {
		for i, n := range orig.NICs {
			if n.MAC == "" {
				if !strings.HasPrefix(got.Spec.NICs[i].MAC, "52:54:00:") {
					t.Errorf("%s: nic %d: libvirt assigned MAC %q, want 52:54:00:…", state, i, got.Spec.NICs[i].MAC)
				}
				got.Spec.NICs[i].MAC = ""
			}
		}
	}
	if !reflect.DeepEqual(got.Spec, want) {
		t.Errorf("%s: Spec =\n  %+v\nwant\n  %+v", state, got.Spec, want)
	}
}
