package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/kdomanski/iso9660"
	"gopkg.in/yaml.v3"

	"github.com/vmnode/vmnode/runtime/virt/domain"
)

// CloudInit is what a VM's NoCloud seed tells cloud-init.
type CloudInit struct {
	Hostname string // "": the VM's name
	// UserData is a #cloud-config, a script (#!…) or any other cloud-init
	// user-data; "" generates a #cloud-config.
	UserData   string
	SSHKeys    []string // authorized keys for the default user
	InstanceID string   // "": the VM's name
}

const cloudConfigHeader = "#cloud-config"

var hostLabelRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// WriteSeed writes the VM's cloud-init NoCloud seed, VMDir(vm)/seed.iso:
// an ISO 9660 image labelled "cidata" holding meta-data (instance-id,
// local-hostname) and user-data. The VM's directory must exist
// (PrepareDisks creates it); an existing seed is replaced atomically.
//
// user-data is c.UserData as given, or, when that is "", a generated
// #cloud-config with the hostname and c.SSHKeys. Keys given with a
// #cloud-config are merged into its ssh_authorized_keys (the YAML is
// re-encoded; comments are kept, the exact layout may not be). Keys given
// with any other user-data (a script, a MIME multipart, #include) are
// refused: cloud-init has no place for them there. A #cloud-config that is
// not a YAML mapping is refused too, as cloud-init would ignore it at boot.
func (s *Store) WriteSeed(vm string, c CloudInit) (path string, err error) {
	if err := domain.ValidName(vm); err != nil {
		return "", fmt.Errorf("write seed: VM %w", err)
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("write cloud-init seed for VM %s: %w", vm, err)
		}
	}()
	dir := s.VMDir(vm)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%s does not exist: prepare the VM's disks first", dir)
		}
		return "", fmt.Errorf("%s: not a directory (%v)", dir, err)
	}
	meta, user, err := seedFiles(vm, c)
	if err != nil {
		return "", err
	}
	iso, err := buildISO(map[string][]byte{"meta-data": meta, "user-data": user})
	if err != nil {
		return "", err
	}
	path = filepath.Join(dir, "seed.iso")
	if err := writeFileAtomic(path, iso); err != nil {
		return "", err
	}
	return path, nil
}

// seedFiles renders meta-data and user-data.
func seedFiles(vm string, c CloudInit) (meta, user []byte, err error) {
	if c.Hostname == "" {
		c.Hostname = vm
	}
	if err := validHostname(c.Hostname); err != nil {
		return nil, nil, err
	}
	if c.InstanceID == "" {
		c.InstanceID = vm
	}
	// cloud-init keeps per-instance state in /var/lib/cloud/instances/ID.
	if strings.ContainsFunc(c.InstanceID, func(r rune) bool { return unicode.IsSpace(r) || isControl(r) || r == '/' }) {
		return nil, nil, fmt.Errorf("instance-id %q: want one word, no spaces, '/' or control characters", c.InstanceID)
	}
	for i, k := range c.SSHKeys {
		if len(strings.Fields(k)) < 2 || strings.ContainsFunc(k, isControl) {
			return nil, nil, fmt.Errorf("ssh key %d %q: want one line \"TYPE KEY [COMMENT]\" (like ssh-ed25519 AAAA… user@host)", i, k)
		}
	}
	meta, err = yaml.Marshal(struct {
		InstanceID    string `yaml:"instance-id"`
		LocalHostname string `yaml:"local-hostname"`
	}{c.InstanceID, c.Hostname})
	if err != nil {
		return nil, nil, err
	}
	user, err = userData(c)
	return meta, user, err
}

func userData(c CloudInit) ([]byte, error) {
	if c.UserData == "" {
		b, err := yaml.Marshal(struct {
			Hostname string   `yaml:"hostname"`
			Keys     []string `yaml:"ssh_authorized_keys,omitempty"`
		}{c.Hostname, c.SSHKeys})
		if err != nil {
			return nil, err
		}
		return append([]byte(cloudConfigHeader+"\n"), b...), nil
	}
	first, rest, _ := strings.Cut(c.UserData, "\n")
	if strings.TrimRight(first, " \t\r") != cloudConfigHeader {
		if len(c.SSHKeys) > 0 {
			return nil, fmt.Errorf("user-data is not a #cloud-config (it starts with %q): SSH keys can only be merged into a #cloud-config; put them in your user-data instead", first)
		}
		return []byte(c.UserData), nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(rest), &doc); err != nil {
		return nil, fmt.Errorf("user-data: invalid #cloud-config YAML: %w", err)
	}
	if len(doc.Content) == 0 { // only comments, or nothing
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, errors.New("user-data: a #cloud-config must be a YAML mapping (key: value)")
	}
	if len(c.SSHKeys) == 0 {
		return []byte(c.UserData), nil
	}
	if err := mergeKeys(root, c.SSHKeys); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString(cloudConfigHeader + "\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// mergeKeys appends keys missing from the mapping's ssh_authorized_keys.
func mergeKeys(m *yaml.Node, keys []string) error {
	var list *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "ssh_authorized_keys" {
			list = m.Content[i+1]
		}
	}
	if list == nil {
		list = &yaml.Node{Kind: yaml.SequenceNode}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "ssh_authorized_keys"}, list)
	}
	if list.Kind != yaml.SequenceNode {
		return errors.New("user-data: ssh_authorized_keys in the #cloud-config is not a list")
	}
	var have []string
	for _, n := range list.Content {
		have = append(have, n.Value)
	}
	for _, k := range keys {
		if !slices.Contains(have, k) {
			list.Content = append(list.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k})
			have = append(have, k)
		}
	}
	return nil
}

func validHostname(h string) error {
	if len(h) > 253 {
		return fmt.Errorf("hostname %q: longer than 253 characters", h)
	}
	for l := range strings.SplitSeq(h, ".") {
		if !hostLabelRE.MatchString(l) {
			return fmt.Errorf("hostname %q: want labels of letters, digits and '-' (not at either end), 1-63 characters, separated by dots; set the hostname explicitly", h)
		}
	}
	return nil
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

// buildISO makes an ISO 9660 image labelled cidata. The writer mangles
// names to ISO 9660 d1 characters (lower case, '-' kept): "meta-data" and
// "user-data" come through unchanged.
func buildISO(files map[string][]byte) ([]byte, error) {
	w, err := iso9660.NewWriter()
	if err != nil {
		return nil, fmt.Errorf("ISO writer: %w", err)
	}
	defer w.Cleanup()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := w.AddFile(bytes.NewReader(files[n]), n); err != nil {
			return nil, fmt.Errorf("ISO: add %s: %w", n, err)
		}
	}
	var buf bytes.Buffer
	if err := w.WriteTo(&buf, "cidata"); err != nil {
		return nil, fmt.Errorf("ISO: write: %w", err)
	}
	return buf.Bytes(), nil
}
