package domain

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"regexp"
)

// metaElement is vmnode's metadata element on its own, as
// virDomainSetMetadata takes it.
type metaElement struct {
	XMLName xml.Name `xml:"https://vmnode.dev/xmlns/vm/1 vm"`
	*vmMetaXML
}

// MetaXML renders m as the <vm> element of vmnode's namespace, for libvirt's
// metadata API (key "vmnode", Namespace).
func MetaXML(m Meta) (string, error) {
	b, err := xml.Marshal(metaElement{vmMetaXML: renderMeta(m)})
	if err != nil {
		return "", fmt.Errorf("render metadata: %w", err)
	}
	return string(b), nil
}

// WithMeta returns the domain XML b with vmnode's metadata replaced by m,
// everything else byte for byte: a migration's destination XML must keep
// what libvirt wrote (addresses, the expanded CPU) and changes only the
// record. It fails if b has no vmnode metadata.
func WithMeta(b []byte, m Meta) ([]byte, error) {
	start, end, ok := metaSpan(b)
	if !ok {
		return nil, fmt.Errorf("the domain XML has no vmnode metadata (%s)", Namespace)
	}
	el, err := MetaXML(m)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+len(el))
	out = append(out, b[:start]...)
	out = append(out, el...)
	return append(out, b[end:]...), nil
}

// metaSpan finds vmnode's element in b, prefixed (<vmnode:vm
// xmlns:vmnode="…">, as libvirt writes it) or not (<vm xmlns="…">), from
// its '<' to just after its end tag.
func metaSpan(b []byte) (start, end int, ok bool) {
	ns := []byte(`="` + Namespace + `"`)
	i := bytes.Index(b, ns)
	if i < 0 {
		return 0, 0, false
	}
	start = bytes.LastIndexByte(b[:i], '<')
	if start < 0 {
		return 0, 0, false
	}
	name := b[start+1:]
	if n := bytes.IndexAny(name, " \t\r\n/>"); n > 0 {
		name = name[:n]
	} else {
		return 0, 0, false
	}
	rest := b[start:]
	if gt := bytes.IndexByte(rest, '>'); gt > 0 && rest[gt-1] == '/' {
		return start, start + gt + 1, true // <vm …/>
	}
	closing := append(append([]byte("</"), name...), '>')
	j := bytes.Index(rest, closing)
	if j < 0 {
		return 0, 0, false
	}
	return start, start + j + len(closing), true
}

// WithVNCListen returns the domain XML b with its VNC console listening on
// addr: a migrated VM's console must listen on an address of the target.
// The rest is byte for byte the same; b without a VNC console is returned
// as is.
func WithVNCListen(b []byte, addr string) []byte {
	start := bytes.Index(b, []byte("<graphics "))
	if start < 0 {
		return b
	}
	end := bytes.Index(b[start:], []byte("</graphics>"))
	if end < 0 {
		end = bytes.IndexByte(b[start:], '>') // <graphics …/>
	}
	if end < 0 {
		return b
	}
	end += start
	el := listenAttr.ReplaceAll(b[start:end], []byte("${1}="+"${2}"+addr+"${2}"))
	out := append(append(append([]byte{}, b[:start]...), el...), b[end:]...)
	return out
}

// listenAttr is a listen or address attribute, single- or double-quoted.
var listenAttr = regexp.MustCompile(`\b(listen|address)=(['"])[^'"]*['"]`)
