package systemd

import (
	"reflect"
	"strings"
	"testing"
)

var installTests = []struct {
	name string
	in   string
	want Install
	err  string
}{
	{
		name: "debian chrony: alias and wanted-by",
		in:   "[Unit]\nDescription=chrony\n[Service]\nExecStart=!/usr/sbin/chronyd $DAEMON_OPTS\n\n[Install]\nAlias=chronyd.service\nWantedBy=multi-user.target\n",
		want: Install{WantedBy: []string{"multi-user.target"}, Alias: []string{"chronyd.service"}},
	},
	{
		name: "lists accumulate, duplicates once, comments and CRLF",
		in:   "[Install]\r\n# WantedBy=ignored.target\r\n; also a comment\r\nWantedBy=a.target b.target\r\nWantedBy=b.target  c.target\r\nRequiredBy=d.target\r\nAlso=e.socket\r\n",
		want: Install{WantedBy: []string{"a.target", "b.target", "c.target"}, RequiredBy: []string{"d.target"}, Also: []string{"e.socket"}},
	},
	{
		name: "empty assignment clears",
		in:   "[Install]\nWantedBy=a.target\nWantedBy=\nWantedBy=b.target\n",
		want: Install{WantedBy: []string{"b.target"}},
	},
	{
		name: "continuation lines",
		in:   "[Install]\nWantedBy=a.target \\\n  b.target\n",
		want: Install{WantedBy: []string{"a.target", "b.target"}},
	},
	{
		name: "keys outside [Install] do not count",
		in:   "[Unit]\nWantedBy=x.target\n[Service]\nAlias=y.service\n",
		want: Install{},
	},
	{name: "static unit", in: "[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n", want: Install{}},
	{name: "invalid name", in: "[Install]\nWantedBy=multi-user\n", err: `invalid unit name "multi-user"`},
	{name: "specifier", in: "[Install]\nAlias=foo-%i.service\n", err: "invalid unit name"},
	{name: "path in name", in: "[Install]\nAlias=../../etc/passwd.service\n", err: "invalid unit name"},
	{name: "no equals", in: "[Install]\nWantedBy multi-user.target\n", err: "want KEY=VALUE"},
	{name: "bad header", in: "[Install\nWantedBy=a.target\n", err: "unterminated section"},
}

func TestParseInstall(t *testing.T) {
	for _, tt := range installTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseInstall([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseInstall = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseInstall(f *testing.F) {
	for _, tt := range installTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := parseInstall(b)
		if err != nil {
			return
		}
		for _, list := range [][]string{in.WantedBy, in.RequiredBy, in.Alias, in.Also} {
			for _, n := range list {
				if !validUnitName(n) {
					t.Fatalf("accepted invalid unit name %q", n)
				}
			}
		}
	})
}
