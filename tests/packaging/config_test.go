package packaging

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vmnode/vmnode/runtime/config"
)

// defaultConfig is the /etc/vmnode/vmnode.yaml the packages ship.
func defaultConfig(t *testing.T) string {
	t.Helper()
	return filepath.Join(repoRoot(t), "packaging", "vmnode.yaml")
}

// TestDefaultConfigLoads: the shipped file, all comments, is a valid
// configuration that changes nothing.
func TestDefaultConfigLoads(t *testing.T) {
	cfg, err := config.Load(config.Options{File: defaultConfig(t)})
	if err != nil {
		t.Fatalf("the shipped config does not load: %v", err)
	}
	if got, want := fmt.Sprintf("%+v", strip(cfg)), fmt.Sprintf("%+v", config.Defaults()); got != want {
		t.Errorf("the shipped config is not the defaults:\n got %s\nwant %s", got, want)
	}
}

// uncommented is the shipped file with its settings uncommented: every line
// from the first "#key:" on loses its first "#"; the prose header goes.
func uncommented(t *testing.T, data []byte) []byte {
	t.Helper()
	lines := strings.Split(string(data), "\n")
	first := slices.IndexFunc(lines, func(l string) bool { return regexp.MustCompile(`^#[a-z]`).MatchString(l) })
	if first < 0 {
		t.Fatal("no commented-out setting (#key:) in the shipped config")
	}
	var out []string
	for _, l := range lines[first:] {
		if l != "" && !strings.HasPrefix(l, "#") {
			t.Fatalf("the shipped config sets %q: every setting should be commented out (the defaults are built in)", l)
		}
		out = append(out, strings.TrimPrefix(l, "#"))
	}
	return []byte(strings.Join(out, "\n"))
}

// TestDefaultConfigDocumentsEveryKey: uncommented, the file still loads
// strictly, its values are the built-in defaults, and it names every key of
// the configuration, so the file and config.Config cannot drift apart.
func TestDefaultConfigDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(defaultConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	doc := uncommented(t, data)
	file := filepath.Join(t.TempDir(), "vmnode.yaml")
	if err := os.WriteFile(file, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Options{File: file})
	if err != nil {
		t.Fatalf("the shipped config, uncommented, does not load: %v\n%s", err, doc)
	}
	if got, want := fmt.Sprintf("%+v", strip(cfg)), fmt.Sprintf("%+v", config.Defaults()); got != want {
		t.Errorf("the values documented are not the defaults:\n got %s\nwant %s", got, want)
	}

	var m map[string]any
	if err := yaml.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	documented := flatten("", m)
	want := keysOf("", reflect.TypeOf(config.Config{}))
	for _, k := range want {
		if !slices.Contains(documented, k) {
			t.Errorf("key %s is not documented in packaging/vmnode.yaml", k)
		}
	}
	for _, k := range documented {
		if !slices.Contains(want, k) {
			t.Errorf("packaging/vmnode.yaml documents %s, which config.Config does not have", k)
		}
	}
}

// strip drops what Load adds besides the settings.
func strip(c config.Config) config.Config {
	c.File = ""
	return c
}

// flatten lists the dotted leaf keys of a decoded YAML mapping.
func flatten(prefix string, m map[string]any) []string {
	var keys []string
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			keys = append(keys, flatten(prefix+k+".", sub)...)
			continue
		}
		keys = append(keys, prefix+k)
	}
	slices.Sort(keys)
	return keys
}

// keysOf lists the dotted leaf keys of a configuration struct, by yaml tag.
func keysOf(prefix string, typ reflect.Type) []string {
	var keys []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		leaf := f.Type.Kind() != reflect.Struct || f.Type == reflect.TypeOf(time.Time{}) || f.Type == reflect.TypeOf(config.Date{})
		if leaf {
			keys = append(keys, prefix+name)
			continue
		}
		keys = append(keys, keysOf(prefix+name+".", f.Type)...)
	}
	slices.Sort(keys)
	return keys
}
