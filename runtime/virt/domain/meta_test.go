package domain

import (
	"strings"
	"testing"
	"time"
)

func TestWithMetaReplacesOnlyTheRecord(t *testing.T) {
	m := Meta{Owner: "h1", Created: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), Epoch: 3, HA: HA{Enabled: true, Passive: "h2"}, Desired: "running"}
	next := m
	next.Owner, next.HA.Passive, next.Epoch = "h2", "h1", 4
	el, err := MetaXML(m)
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{
		// As encoding/xml writes it, and as libvirt rewrites it.
		"plain":    `<domain type="qemu"><name>a</name><memory>65536</memory><vcpu>1</vcpu><metadata>` + el + `<other xmlns="x"/></metadata><uuid>u</uuid></domain>`,
		"prefixed": `<domain type="qemu"><name>a</name><memory>65536</memory><vcpu>1</vcpu><metadata><vmnode:vm xmlns:vmnode="` + Namespace + `"><vmnode:owner>h1</vmnode:owner><vmnode:epoch>3</vmnode:epoch></vmnode:vm><other xmlns="x"/></metadata><uuid>u</uuid></domain>`,
	} {
		t.Run(name, func(t *testing.T) {
			out, err := WithMeta([]byte(doc), next)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if p.Spec.Meta.Owner != "h2" || p.Spec.Meta.Epoch != 4 || p.Spec.Meta.HA.Passive != "h1" || p.UUID != "u" {
				t.Fatalf("meta not replaced: %+v uuid %q\n%s", p.Spec.Meta, p.UUID, out)
			}
			if !strings.Contains(string(out), `<other xmlns="x"/></metadata><uuid>u</uuid></domain>`) {
				t.Fatalf("the rest changed:\n%s", out)
			}
		})
	}
	if _, err := WithMeta([]byte(`<domain><name>a</name></domain>`), next); err == nil {
		t.Fatal("no metadata: want an error")
	}
}

func TestWithVNCListen(t *testing.T) {
	in := `<domain><devices><graphics type='vnc' port='5900' autoport='yes' listen='10.0.0.1' passwd='x'>
      <listen type='address' address='10.0.0.1'/>
    </graphics><interface type='network'><source network='default'/><address type='pci' domain='0x0000'/></interface></devices></domain>`
	out := string(WithVNCListen([]byte(in), "10.0.0.2"))
	if strings.Contains(out[:strings.Index(out, "</graphics>")], "10.0.0.1") || strings.Count(out, "10.0.0.2") != 2 {
		t.Fatalf("graphics not moved:\n%s", out)
	}
	if !strings.Contains(out, `<address type='pci' domain='0x0000'/>`) {
		t.Fatalf("the rest changed:\n%s", out)
	}
	if got := string(WithVNCListen([]byte("<domain/>"), "x")); got != "<domain/>" {
		t.Fatal(got)
	}
}
