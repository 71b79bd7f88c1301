package virt

import (
	"context"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"

	"github.com/digitalocean/go-libvirt"

	"github.com/vmnode/vmnode/runtime/virt/domain"
)

// SetMeta writes vmnode's metadata (the HA record among it) into the
// domain's persistent definition and, while it runs, into the running one
// too, in one libvirt call: Local.Epoch and the record read back agree.
func (c *Conn) SetMeta(ctx context.Context, name string, m domain.Meta) error {
	el, err := domain.MetaXML(m)
	if err != nil {
		return err
	}
	return c.domainOp(ctx, "set the metadata of", name, needAny, func(l *libvirt.Libvirt, d libvirt.Domain) error {
		flags := libvirt.DomainAffectConfig
		if st, _, err := l.DomainGetState(d, 0); err == nil && states[libvirt.DomainState(st)].Active() {
			flags |= libvirt.DomainAffectLive
		}
		return l.DomainSetMetadata(d, int32(libvirt.DomainMetadataElement), libvirt.OptString{el},
			libvirt.OptString{"vmnode"}, libvirt.OptString{domain.Namespace}, flags)
	})
}

// CPUModel is the CPU model of the running domain name ("" when its XML
// names none): what a migration target must offer.
func (c *Conn) CPUModel(ctx context.Context, name string) (string, error) {
	var model string
	err := c.domainOp(ctx, "read the CPU of", name, needAny, func(l *libvirt.Libvirt, d libvirt.Domain) error {
		x, err := l.DomainGetXMLDesc(d, 0)
		if err != nil {
			return err
		}
		var dom struct {
			CPU struct {
				Model string `xml:"model"`
			} `xml:"cpu"`
		}
		if err := xml.Unmarshal([]byte(x), &dom); err != nil {
			return fmt.Errorf("parse its XML: %w", err)
		}
		model = strings.TrimSpace(dom.CPU.Model)
		return nil
	})
	return model, err
}

// CPUModels are the CPU models this host's hypervisor can run for domains
// of type virtType (kvm, qemu), from libvirt's domain capabilities (usable
// custom models only).
func (c *Conn) CPUModels(ctx context.Context, virtType string) ([]string, error) {
	var caps string
	err := c.do(ctx, func(l *libvirt.Libvirt) error {
		var err error
		caps, err = l.ConnectGetDomainCapabilities(libvirt.OptString{}, libvirt.OptString{"x86_64"}, libvirt.OptString{}, libvirt.OptString{virtType}, 0)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("domain capabilities (%s): %w", virtType, err)
	}
	var dc struct {
		Modes []struct {
			Name   string `xml:"name,attr"`
			Models []struct {
				Usable string `xml:"usable,attr"`
				Name   string `xml:",chardata"`
			} `xml:"model"`
		} `xml:"cpu>mode"`
	}
	if err := xml.Unmarshal([]byte(caps), &dc); err != nil {
		return nil, fmt.Errorf("parse the domain capabilities: %w", err)
	}
	var out []string
	for _, m := range dc.Modes {
		if m.Name != "custom" {
			continue
		}
		for _, model := range m.Models {
			if model.Usable != "no" {
				out = append(out, strings.TrimSpace(model.Name))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
