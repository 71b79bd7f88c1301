package hardware

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// DMI is what the firmware's SMBIOS tables say about the machine.
type DMI struct {
	ChassisType int    // SMBIOS chassis type code (DSP0134 7.4.1); 0 when unknown
	SysVendor   string // system manufacturer
	ProductName string // system product name
	BoardVendor string // baseboard manufacturer
	BoardName   string // baseboard product name
}

// Empty reports whether nothing is known.
func (d DMI) Empty() bool {
	return d.ChassisType == 0 && d.SysVendor == "" && d.ProductName == "" && d.BoardVendor == "" && d.BoardName == ""
}

// chassisNames are dmidecode's names for the SMBIOS chassis types, by code.
var chassisNames = []string{
	1: "Other", 2: "Unknown", 3: "Desktop", 4: "Low Profile Desktop", 5: "Pizza Box",
	6: "Mini Tower", 7: "Tower", 8: "Portable", 9: "Laptop", 10: "Notebook",
	11: "Hand Held", 12: "Docking Station", 13: "All In One", 14: "Sub Notebook",
	15: "Space-saving", 16: "Lunch Box", 17: "Main Server Chassis", 18: "Expansion Chassis",
	19: "Sub Chassis", 20: "Bus Expansion Chassis", 21: "Peripheral Chassis", 22: "RAID Chassis",
	23: "Rack Mount Chassis", 24: "Sealed-case PC", 25: "Multi-system", 26: "CompactPCI",
	27: "AdvancedTCA", 28: "Blade", 29: "Blade Enclosure", 30: "Tablet", 31: "Convertible",
	32: "Detachable", 33: "IoT Gateway", 34: "Embedded PC", 35: "Mini PC", 36: "Stick PC",
}

// chassisName names a chassis type code.
func chassisName(code int) string {
	if code > 0 && code < len(chassisNames) {
		return chassisNames[code]
	}
	return fmt.Sprintf("type %d", code)
}

func squash(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '_', '\t':
			return -1
		}
		return r
	}, strings.ToLower(s))
}

// chassisAliases are other spellings of the names (SMBIOS spec, older
// dmidecode releases).
var chassisAliases = map[string]int{
	"subchassis": 19, "multisystemchassis": 25, "bladeenclosing": 29, "bladechassis": 29,
	"compactpci": 26, "advancedtca": 27, "allinone": 13, "handheld": 11,
}

// parseChassisType parses /sys/class/dmi/id/chassis_type (a decimal code)
// or the output of `dmidecode -s chassis-type` (a name such as "Rack Mount
// Chassis"; "#" comment lines are skipped, the first chassis counts).
func parseChassisType(b []byte) (int, error) {
	s := firstLine(b)
	if s == "" {
		return 0, fmt.Errorf("empty chassis type")
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 0x7f {
			return 0, fmt.Errorf("chassis type %d is not an SMBIOS code", n)
		}
		return n, nil
	}
	k := squash(s)
	for code, name := range chassisNames {
		if name != "" && squash(name) == k {
			return code, nil
		}
	}
	if code, ok := chassisAliases[k]; ok {
		return code, nil
	}
	return 0, fmt.Errorf("%q is not a chassis type", s)
}

// firstLine is the first non-comment, non-blank line, trimmed.
func firstLine(b []byte) string {
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return ""
}

// placeholders are strings firmware ships in unfilled SMBIOS fields.
var placeholders = []string{
	"to be filled by o.e.m.", "to be filled by oem", "default string", "not specified",
	"not applicable", "system manufacturer", "system product name", "o.e.m.", "oem",
	"none", "n/a", "unknown", "type1productconfigid", "0123456789", "base board product name",
}

// cleanName trims a DMI string and drops firmware placeholders.
func cleanName(b []byte) string {
	s := strings.TrimSpace(firstLine(b))
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return ""
	}
	l := strings.ToLower(s)
	for _, p := range placeholders {
		if l == p {
			return ""
		}
	}
	return s
}

// Verdict is what classify decided.
type Verdict int

// The verdicts.
const (
	Unknown   Verdict = iota // cannot tell
	Server                   // a server board or chassis
	NonServer                // a desktop, laptop or small-form-factor PC
	Virtual                  // a virtual machine
)

var (
	// virtualRE matches DMI strings of hypervisors and cloud instances.
	virtualRE = regexp.MustCompile(`(?i)\bqemu\b|standard pc \(|\bkvm\b|vmware|virtualbox|innotek|\bbochs\b|` +
		`parallels|\bxen\b|hvm domu|virtual machine|google compute engine|openstack|droplet|digitalocean|` +
		`\bvserver\b|alibaba cloud ecs|\bbhyve\b|ovirt|rhev|\bahv\b|cloud hypervisor|amazon ec2|apple virtualization`)
	// serverRE matches server product lines and server-board vendors.
	serverRE = regexp.MustCompile(`(?i)poweredge|proliant|thinksystem|thinkserver|system x|primergy|\bucs\b|` +
		`supermicro|super micro|asrock ?rack|\btyan\b|inspur|quanta|wiwynn|ampere|mt\.? ?(collins|jade|snow)|` +
		`\bapollo\b|synergy|bladecenter|fusionserver|xfusion|\bsugon\b|taishan|gigabyte r\d|altra`)
	// desktopRE matches desktop, laptop and consumer board names.
	desktopRE = regexp.MustCompile(`(?i)\b[ABHQXZ]\d{2,3}[A-Z]?\b|optiplex|thinkcentre|thinkpad|elitedesk|prodesk|` +
		`elitebook|probook|pavilion|vostro|inspiron|latitude|\bxps\b|ideapad|\bnuc\b|macmini|imac|macbook|` +
		`\brog\b|\btuf\b|aorus|\bprime\b|\bmag\b|\bmpg\b|\bmeg\b|all series`)
)

func serverChassis(code int) bool { return code >= 17 && code <= 29 && code != 24 }

func nonServerChassis(code int) bool {
	switch code {
	case 3, 4, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 24, 30, 31, 32, 33, 34, 35, 36:
		return true
	}
	return false
}

// classify decides what d describes, and why. A virtual machine is found by
// its names first (Hyper-V reports a Desktop chassis, QEMU "Other"); then a
// server product line or board vendor, then the chassis type; names of
// desktop boards decide only when the chassis type does not (Other,
// Unknown, Pizza Box, Tower: tower servers and desktops both use it).
func classify(d DMI) (Verdict, string) {
	names := strings.Join([]string{d.SysVendor, d.ProductName, d.BoardVendor, d.BoardName}, " | ")
	product := strings.ToLower(d.ProductName)
	metal := strings.HasSuffix(product, ".metal") || strings.Contains(product, ".metal-")
	if m := virtualRE.FindString(names); m != "" && !metal {
		return Virtual, fmt.Sprintf("the firmware names a hypervisor or cloud instance (%q)", m)
	}
	if m := serverRE.FindString(names); m != "" {
		return Server, fmt.Sprintf("%q is a server product line or server-board maker", m)
	}
	switch {
	case serverChassis(d.ChassisType):
		return Server, fmt.Sprintf("the chassis type is %s", chassisName(d.ChassisType))
	case nonServerChassis(d.ChassisType):
		return NonServer, fmt.Sprintf("the chassis type is %s", chassisName(d.ChassisType))
	}
	if m := desktopRE.FindString(d.ProductName + " | " + d.BoardName); m != "" {
		return NonServer, fmt.Sprintf("%q names a desktop or laptop model", m)
	}
	if d.ChassisType != 0 {
		return Unknown, fmt.Sprintf("the chassis type %s is used by servers and desktops alike and the names do not tell", chassisName(d.ChassisType))
	}
	return Unknown, "the firmware reports no chassis type and the names do not tell"
}

// describe renders d for people.
func describe(d DMI) string {
	var parts []string
	if sys := strings.TrimSpace(d.SysVendor + " " + d.ProductName); sys != "" {
		parts = append(parts, sys)
	}
	if b := strings.TrimSpace(d.BoardVendor + " " + d.BoardName); b != "" {
		parts = append(parts, "board "+b)
	}
	if d.ChassisType != 0 {
		parts = append(parts, fmt.Sprintf("chassis %s (%d)", chassisName(d.ChassisType), d.ChassisType))
	}
	if len(parts) == 0 {
		return "no DMI data"
	}
	return strings.Join(parts, ", ")
}
