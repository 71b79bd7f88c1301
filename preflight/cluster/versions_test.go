package cluster

import (
	"strconv"
	"testing"

	"github.com/vmnode/vmnode/preflight"
)

func TestVersions(t *testing.T) {
	runCheckCases(t, IDVersions, []checkCase{
		{name: "no members", status: preflight.Skip},
		{name: "one member", members: []Member{mem("a", vers("qemu", "8.2.2"))}, status: preflight.Skip, msg: []string{"fewer than two"}},
		{
			name:    "all equal",
			members: members(3, vers("vmnode", "0.4.0", "libvirt", "9.0.0", "qemu", "8.2.2")),
			status:  preflight.Pass,
			msg:     []string{"every member runs vmnode 0.4.0, libvirt 9.0.0 and qemu 8.2.2"},
		},
		{
			name:    "patch levels differ",
			members: []Member{mem("a", vers("qemu", "8.2.1")), mem("b", vers("qemu", "8.2.2"))},
			status:  preflight.Pass,
			msg:     []string{"qemu 8.2.x"},
			obs:     []string{"qemu: 8.2.x on a, b"},
		},
		{
			name:    "minor differs",
			members: []Member{mem("a", vers("libvirt", "9.0.0")), mem("b", vers("libvirt", "8.0.0")), mem("c", vers("libvirt", "9.0.0"))},
			status:  preflight.Warn,
			msg:     []string{"libvirt 8.0.0 on b vs 9.0.0 on a, c", "older to newer"},
			remedy:  []string{"libvirt on b to 9.0 (as on a and c)"},
		},
		{
			name: "distribution version strings",
			members: []Member{
				mem("a", vers("qemu", "1:6.2+dfsg-2ubuntu6.24")),
				mem("b", vers("qemu", "6.2.0-41.el9")),
			},
			status: preflight.Pass,
			msg:    []string{"qemu 6.2.x"},
		},
		{
			name:    "unknown on one member",
			members: []Member{mem("a", vers("qemu", "8.2.2")), mem("b", vers("qemu", "8.2.2")), mem("c")},
			status:  preflight.Pass,
			msg:     []string{"qemu 8.2.2 (unknown on c)"},
		},
		{
			name:    "known on one member only",
			members: []Member{mem("a", vers("qemu", "8.2.2", "libvirt", "9.0.0")), mem("b", vers("libvirt", "9.0.1"))},
			status:  preflight.Pass,
			msg:     []string{"libvirt 9.0.x", "not compared (known on fewer than two members): vmnode, qemu"},
		},
		{name: "unknown everywhere", members: members(3), status: preflight.Skip, msg: []string{"vmnode, libvirt, qemu"}},
		{
			name:    "skew with unknown",
			members: []Member{mem("a", vers("vmnode", "0.4.0")), mem("b", vers("vmnode", "v0.3.9")), mem("c")},
			status:  preflight.Warn,
			msg:     []string{"vmnode v0.3.9 on b vs 0.4.0 on a vs unknown on c"},
		},
		{
			name:    "unparsable versions",
			members: []Member{mem("a", vers("qemu", "git-master")), mem("b", vers("qemu", "8.2.0"))},
			status:  preflight.Warn,
			remedy:  []string{`cannot order "git-master"`},
		},
		{
			name:    "an extra component",
			members: []Member{mem("a", vers("ovs", "3.1.0")), mem("b", vers("ovs", "3.3.0"))},
			status:  preflight.Warn,
			msg:     []string{"ovs 3.1.0 on a vs 3.3.0 on b"},
		},
		{
			name:    "silent members are left out",
			members: []Member{mem("a", vers("qemu", "8.2.2")), mem("b", vers("qemu", "8.2.2")), silent("c", "down")},
			status:  preflight.Pass,
			not:     []string{"unknown"},
		},
	})
}

func TestParseVersion(t *testing.T) {
	cases := []struct {
		in           string
		major, minor int
		ok           bool
	}{
		{"9.0.0", 9, 0, true},
		{"8.2.2", 8, 2, true},
		{"v0.4.1", 0, 4, true},
		{" 10 ", 10, 0, true},
		{"1:8.2.2+ds-0ubuntu1", 8, 2, true},
		{"6.2.0-41.el9", 6, 2, true},
		{"10.0.0-6.el9_4", 10, 0, true},
		{"8a", 8, 0, true},
		{"", 0, 0, false},
		{"v", 0, 0, false},
		{"git-master", 0, 0, false},
		{"8.", 0, 0, false},
		{"8..1", 0, 0, false},
		{"1234567890.1", 0, 0, false},
		{":8.2", 0, 0, false},
		{"x:8.2", 0, 0, false},
	}
	for _, tc := range cases {
		v, ok := parseVersion(tc.in)
		if ok != tc.ok || ok && (v.Major != tc.major || v.Minor != tc.minor) {
			t.Errorf("parseVersion(%q) = %+v, %v; want %d.%d, %v", tc.in, v, ok, tc.major, tc.minor, tc.ok)
		}
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"9.0.0", "v0.4.1", "1:8.2.2+ds-0ubuntu1", "6.2.0-41.el9", "8.", "", "git-master", "1234567890.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseVersion(s)
		if !ok {
			return
		}
		if v.Major < 0 || v.Minor < 0 {
			t.Fatalf("parseVersion(%q) = %+v: negative", s, v)
		}
		// The key the check groups by parses back to itself.
		key := strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor)
		if again, ok := parseVersion(key); !ok || again != v {
			t.Fatalf("parseVersion(%q) = %+v, but its key %q parses to %+v, %v", s, v, key, again, ok)
		}
	})
}
