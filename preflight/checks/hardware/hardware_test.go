package hardware

import (
	"errors"
	"testing"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/checks/checktest"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/preflight/host/hosttest"
	"github.com/vmnode/vmnode/profiles"
)

var chassisCases = []struct {
	in      string
	want    int
	wantErr bool
}{
	{"23\n", 23, false},
	{"3", 3, false},
	{"Rack Mount Chassis\n", 23, false},
	{"# SMBIOS entry point at 0x7f0b5000\nMain Server Chassis\n", 17, false},
	{"Desktop\nDesktop\n", 3, false},
	{"Multi-system chassis", 25, false},
	{"Blade Enclosing", 29, false},
	{"All in One", 13, false},
	{"Stick PC", 36, false},
	{"", 0, true},
	{"0", 0, true},
	{"300", 0, true},
	{"Spaceship", 0, true},
	{"\x00\x01", 0, true},
}

func TestParseChassisType(t *testing.T) {
	for _, tc := range chassisCases {
		got, err := parseChassisType([]byte(tc.in))
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseChassisType(%q) = %d, %v; want %d, err=%v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func FuzzParseChassisType(f *testing.F) {
	for _, tc := range chassisCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseChassisType(b)
		if err == nil && (c < 1 || c > 0x7f) {
			t.Fatalf("accepted chassis type %d", c)
		}
		d := DMI{ChassisType: c, SysVendor: cleanName(b), BoardName: cleanName(b)}
		if v, why := classify(d); why == "" || v < Unknown || v > Virtual {
			t.Fatalf("classify(%+v) = %v, %q", d, v, why)
		}
		_ = describe(d)
	})
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"Dell Inc.\n":              "Dell Inc.",
		"To Be Filled By O.E.M.\n": "",
		"Default string":           "",
		"System manufacturer":      "",
		"  PowerEdge R640  ":       "PowerEdge R640",
		"bad\x01name":              "",
	} {
		if got := cleanName([]byte(in)); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    DMI
		want Verdict
	}{
		{"Dell rack", DMI{23, "Dell Inc.", "PowerEdge R640", "Dell Inc.", "0H28RR"}, Server},
		{"HPE tower server", DMI{7, "HPE", "ProLiant ML350 Gen10", "HPE", "ProLiant ML350 Gen10"}, Server},
		{"Supermicro reports Other", DMI{1, "Supermicro", "Super Server", "Supermicro", "X11SPL-F"}, Server},
		{"unknown vendor blade", DMI{28, "", "", "", ""}, Server},
		{"ASUS desktop", DMI{3, "ASUS", "All Series", "ASUSTeK COMPUTER INC.", "Z97-A"}, NonServer},
		{"laptop", DMI{10, "LENOVO", "20L5CTO1WW", "LENOVO", "20L5CTO1WW"}, NonServer},
		{"desktop board, chassis Other", DMI{1, "", "", "Gigabyte Technology Co., Ltd.", "B450M DS3H"}, NonServer},
		{"OptiPlex tower", DMI{7, "Dell Inc.", "OptiPlex 7050", "Dell Inc.", "0NW6H5"}, NonServer},
		{"tower, nothing else", DMI{7, "", "", "", ""}, Unknown},
		{"QEMU q35", DMI{1, "QEMU", "Standard PC (Q35 + ICH9, 2009)", "", ""}, Virtual},
		{"Hyper-V says Desktop", DMI{3, "Microsoft Corporation", "Virtual Machine", "Microsoft Corporation", "Virtual Machine"}, Virtual},
		{"VMware", DMI{1, "VMware, Inc.", "VMware Virtual Platform", "Intel Corporation", "440BX Desktop Reference Platform"}, Virtual},
		{"EC2 instance", DMI{1, "Amazon EC2", "m5.large", "Amazon EC2", ""}, Virtual},
		{"EC2 bare metal", DMI{23, "Amazon EC2", "m5.metal", "Amazon EC2", ""}, Server},
		{"nothing", DMI{}, Unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, why := classify(tc.d); got != tc.want {
				t.Errorf("classify = %v (%s), want %v", got, why, tc.want)
			}
		})
	}
}

func run(t *testing.T, h *host.Host) preflight.Result {
	t.Helper()
	return checktest.RunOnly(t, Checks(&profiles.Profile{}), "hardware.motherboard", h)
}

func TestMotherboard(t *testing.T) {
	noDMI := func(t *testing.T) string { return checktest.WriteTree(t, map[string]string{"etc/hostname": "x\n"}) }
	dmidecode := hosttest.Runner{
		"dmidecode -s chassis-type":           {Stdout: "Rack Mount Chassis\n"},
		"dmidecode -s system-manufacturer":    {Stdout: "HPE\n"},
		"dmidecode -s system-product-name":    {Stdout: "ProLiant DL360 Gen10\n"},
		"dmidecode -s baseboard-manufacturer": {Stdout: "HPE\n"},
		"dmidecode -s baseboard-product-name": {Stdout: "ProLiant DL360 Gen10\n"},
	}
	for _, tc := range []struct {
		name     string
		h        func(t *testing.T) *host.Host
		status   preflight.Status
		contains []string
	}{
		{"almalinux-8.9 Dell rack", func(t *testing.T) *host.Host { return hosttest.Tree(t, "almalinux-8.9") },
			preflight.Pass, []string{"Dell Inc. PowerEdge R640", "Rack Mount Chassis (23)"}},
		{"ubuntu-20.04 Supermicro", func(t *testing.T) *host.Host { return hosttest.Tree(t, "ubuntu-20.04") },
			preflight.Pass, []string{"Supermicro", "H11SSL-i"}},
		{"ubuntu-22.04-arm64 Gigabyte rack", func(t *testing.T) *host.Host { return hosttest.Tree(t, "ubuntu-22.04-arm64") },
			preflight.Pass, []string{"R272-P30-00", "Rack Mount Chassis"}},
		{"centos-7 desktop board", func(t *testing.T) *host.Host { return hosttest.Tree(t, "centos-7") },
			preflight.Warn, []string{"not a server motherboard", "Z97-A", "Desktop (3)", "may not work properly"}},
		{"debian-12 has no DMI under --root", func(t *testing.T) *host.Host { return hosttest.Tree(t, "debian-12") },
			preflight.Skip, []string{"no DMI data", "chassis_type does not exist"}},
		{"live: dmidecode fills in", func(t *testing.T) *host.Host {
			return hosttest.Live(t, noDMI(t), &hosttest.Kernel{}, dmidecode, nil)
		}, preflight.Pass, []string{"ProLiant DL360 Gen10", "Rack Mount Chassis"}},
		{"live: no DMI, no dmidecode", func(t *testing.T) *host.Host {
			return hosttest.Live(t, noDMI(t), &hosttest.Kernel{}, hosttest.Runner{}, nil)
		}, preflight.Skip, []string{"dmidecode -s chassis-type", "executable file not found"}},
		{"live: dmidecode without SMBIOS", func(t *testing.T) *host.Host {
			r := hosttest.Runner{"dmidecode -s chassis-type": {Stdout: "# No SMBIOS nor DMI entry point found, sorry.\n", Err: errors.New("exit status 1")}}
			return hosttest.Live(t, noDMI(t), &hosttest.Kernel{}, r, nil)
		}, preflight.Skip, []string{"exit status 1"}},
		{"QEMU VM", func(t *testing.T) *host.Host {
			return hosttest.Rooted(t, checktest.WriteTree(t, map[string]string{
				"sys/class/dmi/id/chassis_type": "1\n",
				"sys/class/dmi/id/sys_vendor":   "QEMU\n",
				"sys/class/dmi/id/product_name": "Standard PC (Q35 + ICH9, 2009)\n",
			}))
		}, preflight.Warn, []string{"virtual machine", "QEMU"}},
		{"tower without names", func(t *testing.T) *host.Host {
			return hosttest.Rooted(t, checktest.WriteTree(t, map[string]string{"sys/class/dmi/id/chassis_type": "7\n", "sys/class/dmi/id/board_name": "Default string\n"}))
		}, preflight.Skip, []string{"Tower", "servers and desktops alike"}},
		{"garbage chassis_type", func(t *testing.T) *host.Host {
			return hosttest.Rooted(t, checktest.WriteTree(t, map[string]string{"sys/class/dmi/id/chassis_type": "\x00\xff\n"}))
		}, preflight.Error, []string{"chassis_type", "not a chassis type"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.h(t))
			if r.Status != tc.status {
				t.Errorf("status = %s, want %s (message %q)", r.Status, tc.status, r.Message)
			}
			checktest.MessageContains(t, r, tc.contains)
			if r.Expected == "" || r.Observed == "" || ((r.Status == preflight.Warn || r.Status == preflight.Fail) && r.Remediation == "") {
				t.Errorf("observed %q, expected %q, remediation %q", r.Observed, r.Expected, r.Remediation)
			}
		})
	}
}
