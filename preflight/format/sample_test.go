package format

import (
	"time"

	"github.com/vmnode/vmnode/preflight"
)

// sample is a fixed report that covers every status, an ignored failure, an
// expired waiver, fix hints, a run note, an unknown area, multi-line values
// and characters that need escaping in every format (<, &, quotes, non-ASCII,
// a raw terminal escape).
func sample() *preflight.Report {
	us := time.Microsecond
	return &preflight.Report{
		Profile:   "vmmanager-kvm",
		Hostname:  "node-07.lab.example.com",
		Address:   "10.20.30.47",
		Root:      "/",
		StartedAt: time.Date(2025, 3, 14, 9, 26, 53, 0, time.FixedZone("CET", 3600)),
		Duration:  143 * time.Millisecond,
		Notes:     []string{"waiver for memory.total expired on 2025-03-01 and no longer applies"},
		Results: []preflight.Result{
			{ID: "cpu.virtualization", Title: "CPU virtualization extensions", Status: preflight.Pass, Message: "vmx flag present (Intel VT-x)", Duration: 212 * us},
			{ID: "cpu.kvm-device", Title: "KVM device", Status: preflight.Pass, Message: "/dev/kvm is present", Duration: 35 * us},
			{ID: "cpu.arch", Title: "CPU architecture", Status: preflight.Pass, Message: "x86_64", Duration: 12 * us},
			{
				ID: "cpu.cores", Title: "Logical CPUs", Status: preflight.Warn,
				Message:  "6 logical CPUs: meets the minimum of 4, below the recommended 8",
				Observed: "6", Expected: ">= 4 (8 recommended)",
				Remediation: "Add CPUs or move the node to a larger server; VMs will be packed tighter than recommended.",
				Duration:    198 * us,
			},
			{ID: "cpu.frequency", Title: "CPU rated frequency", Status: preflight.Pass, Message: "rated 2.40 GHz (cpuinfo_max_freq; currently 1.20 GHz)", Observed: "2400 MHz", Expected: ">= 2400 MHz (3000 recommended)", Duration: 254 * us},
			{
				ID: "memory.total", Title: "Installed memory", Status: preflight.Fail,
				Message:     "about 4 GB installed; the profile needs 8 GB",
				Observed:    "MemTotal: 3931488 kB (about 4 GB installed)",
				Expected:    ">= 8 GB (16 GB recommended)",
				Remediation: "Install more RAM, or give this VM at least 8 GB if the node is itself virtual.",
				IgnoreNote:  "waiver expired on 2025-03-01",
				Duration:    87 * us,
			},
			{ID: "disk.root", Title: "Root filesystem size", Status: preflight.Pass, Message: "/ is 1.8 TB (xfs on /dev/mapper/almalinux-root)", Observed: "1.8 TB", Expected: ">= 1 TB (2 TB recommended)", Duration: 41 * us},
			{ID: "os.release", Title: "Operating system", Status: preflight.Pass, Message: "AlmaLinux 8.9 (Midnight Oncilla) is supported", Duration: 64 * us},
			{
				ID: "os.repositories", Title: "Package repositories", Status: preflight.Warn,
				Message:     "third-party repository enabled: epel (Extra Packages for Enterprise Linux 8 - x86_64)",
				Observed:    "/etc/yum.repos.d/epel.repo: [epel] enabled=1",
				Expected:    "only the distribution's own repositories",
				Remediation: "Disable it unless the cluster needs it: `dnf config-manager --set-disabled epel`",
				Duration:    930 * us,
			},
			{ID: "packages.required", Title: "Required packages", Status: preflight.Pass, Message: "dmidecode and python3 are installed", Duration: 3400 * us},
			{
				ID: "selinux.disabled", Title: "SELinux disabled", Status: preflight.Fail,
				Message:     "SELinux is enforcing",
				Observed:    "SELINUX=enforcing in /etc/selinux/config; runtime mode: enforcing",
				Expected:    "SELINUX=disabled",
				Remediation: "Disable SELinux and reboot:\n$ sed -i 's/^SELINUX=.*/SELINUX=disabled/' /etc/selinux/config\n$ reboot",
				Fix:         "selinux",
				Duration:    120 * us,
			},
			{ID: "time.sync-service", Title: "Time synchronisation service", Status: preflight.Pass, Message: "chronyd is installed and enabled", Duration: 2100 * us},
			{
				ID: "time.ntp-offset", Title: "Clock offset", Status: preflight.Warn, Ignored: true,
				Message:  "[ignored fail] clock is 1.84s ahead of ntp1.example.com (fail above 1s)",
				Observed: "+1.84s", Expected: "within 100ms (fail above 1s)",
				Remediation: "Check that chronyd can reach its servers: `chronyc sources -v`",
				IgnoreNote:  "waived in config: lab clock drifts, tracked in CHG-1234 (until 2025-04-30)",
				Duration:    41 * time.Millisecond,
			},
			{ID: "network.hostname", Title: "Hostname", Status: preflight.Pass, Message: "node-07.lab.example.com is a valid DNS name", Duration: 9 * us},
			{
				ID: "network.static-ip", Title: "Static node address", Status: preflight.Error,
				Message:     "could not parse /etc/sysconfig/network-scripts/ifcfg-eth0: line 7: unterminated quote",
				Observed:    "line 7: IPADDR=\"10.20.30.47\nline 8: PREFIX=24",
				Remediation: "Fix the quoting in ifcfg-eth0, then run preflight again.",
				Duration:    310 * us,
			},
			{
				ID: "network.hosts-entry", Title: "Hosts file entry", Status: preflight.Fail,
				Message:     "/etc/hosts has no line mapping 10.20.30.47 to node-07.lab.example.com",
				Observed:    "127.0.1.1 node-07.lab.example.com node-07",
				Expected:    "10.20.30.47 node-07.lab.example.com node-07",
				Remediation: "Add the line `10.20.30.47 node-07.lab.example.com node-07` to /etc/hosts.",
				Fix:         "hosts",
				Duration:    55 * us,
			},
			{ID: "network.resolv-conf", Title: "DNS resolvers", Status: preflight.Pass, Message: "nameservers 10.20.0.53, 10.20.0.54", Duration: 77 * us},
			{ID: "network.gateway", Title: "Default gateway", Status: preflight.Pass, Message: "10.20.30.1 via eno1 answers ping in 0.4ms", Duration: 4200 * us},
			{ID: "firewall.nftables-enabled", Title: "nftables enabled", Status: preflight.Pass, Message: "nftables.service is enabled", Duration: 1800 * us},
			{ID: "firewall.ports", Title: "Required ports", Status: preflight.Pass, Message: "16509/tcp held by libvirtd & 5900–6900/tcp free", Duration: 6100 * us},
			{ID: "hardware.motherboard", Title: "Server motherboard", Status: preflight.Skip, Message: "board unknown: dmidecode reports \"To Be Filled By O.E.M.\"", Duration: 8700 * us},
			{
				ID: "shell.prompt", Title: "Root shell prompt", Status: preflight.Warn,
				Message:     "root's .bashrc changes PS1 <custom prompt>; the platform relies on the default",
				Observed:    "PS1=\"\x1b[1;31m[\\u@\\h \\W]# \x1b[0m\"",
				Expected:    "PS1 unset in /root/.bashrc",
				Remediation: "Remove the PS1 line from /root/.bashrc.",
				Fix:         "shell",
				Duration:    48 * us,
			},
			{ID: "storage.zfs-pool", Title: "ZFS pool", Status: preflight.Skip, Message: "the profile does not use ZFS storage", Duration: 3 * us},
		},
	}
}
