package hardware

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/profiles"
)

// IDMotherboard is the stable ID of the server board check.
const IDMotherboard = "hardware.motherboard"

const dmiDir = "/sys/class/dmi/id/"

const want = "a physical server with a server motherboard"

// Checks returns the hardware checks. It does no I/O.
func Checks(_ *profiles.Profile) []preflight.Check {
	return []preflight.Check{
		preflight.Func{CheckID: IDMotherboard, CheckTitle: "Server motherboard", Fn: motherboard},
	}
}

// field is one DMI string: its sysfs file and its dmidecode keyword.
type field struct {
	file, keyword string
	dst           func(*DMI) *string
}

var fields = []field{
	{"sys_vendor", "system-manufacturer", func(d *DMI) *string { return &d.SysVendor }},
	{"product_name", "system-product-name", func(d *DMI) *string { return &d.ProductName }},
	{"board_vendor", "baseboard-manufacturer", func(d *DMI) *string { return &d.BoardVendor }},
	{"board_name", "baseboard-product-name", func(d *DMI) *string { return &d.BoardName }},
}

// readDMI reads the DMI strings from sysfs and, on the live host, asks
// dmidecode for a chassis type (and names) sysfs lacks. notes says what
// could not be read, for the skip message.
func readDMI(ctx context.Context, h *host.Host) (d DMI, notes []string, err error) {
	for _, f := range fields {
		b, err := h.ReadFile(dmiDir + f.file)
		if err == nil {
			*f.dst(&d) = cleanName(b)
		}
	}
	b, rerr := h.ReadFile(dmiDir + "chassis_type")
	switch {
	case rerr == nil:
		if d.ChassisType, err = parseChassisType(b); err != nil {
			return DMI{}, nil, fmt.Errorf("%schassis_type: %w", dmiDir, err)
		}
	case errors.Is(rerr, fs.ErrNotExist):
		notes = append(notes, dmiDir+"chassis_type does not exist")
	default:
		notes = append(notes, rerr.Error())
	}
	if d.ChassisType != 0 || !h.Live {
		return d, notes, nil
	}
	out, err := h.Exec.Run(ctx, "dmidecode", "-s", "chassis-type")
	if err != nil {
		return d, append(notes, fmt.Sprintf("dmidecode -s chassis-type: %v", err)), nil
	}
	if c, err := parseChassisType(out); err == nil {
		d.ChassisType = c
	} else {
		notes = append(notes, fmt.Sprintf("dmidecode -s chassis-type: %v", err))
	}
	for _, f := range fields {
		if *f.dst(&d) != "" {
			continue
		}
		if out, err := h.Exec.Run(ctx, "dmidecode", "-s", f.keyword); err == nil {
			*f.dst(&d) = cleanName(out)
		}
	}
	return d, notes, nil
}

func motherboard(ctx context.Context, h *host.Host) preflight.Result {
	d, notes, err := readDMI(ctx, h)
	if err != nil {
		return preflight.Errorf("could not read the DMI data: %v", err).Saw("unreadable", want)
	}
	return judge(d, notes)
}

// judge decides hardware.motherboard.
func judge(d DMI, notes []string) preflight.Result {
	if d.Empty() {
		why := "the firmware exposes no DMI data"
		if len(notes) > 0 {
			why += " (" + strings.Join(notes, "; ") + ")"
		}
		return preflight.Skipf("cannot tell whether this is a server board: %s", why).Saw("unknown", want)
	}
	seen := describe(d)
	v, why := classify(d)
	switch v {
	case Virtual:
		return preflight.Warnf("this is a virtual machine, not a physical server: %s; %s", seen, why).
			Saw("virtual machine: "+seen, want).
			Remedy("install the node on a physical server with a server motherboard; a VM is fit for testing only, with nested virtualization (see cpu.virtualization)")
	case Server:
		return preflight.Passf("server hardware: %s (%s)", seen, why).Saw(seen, want)
	case NonServer:
		return preflight.Warnf("not a server motherboard: %s (%s); a cluster node with a desktop motherboard may not work properly", seen, why).
			Saw(seen, want).
			Remedy("use a server with a server motherboard (ECC memory, a BMC, server firmware); if this machine is one and its firmware misreports the chassis, add hardware.motherboard to --ignore-preflight-errors")
	}
	return preflight.Skipf("cannot tell whether this is a server board: %s (%s)", seen, why).Saw(seen, want)
}
