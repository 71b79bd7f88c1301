package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/vmnode/vmnode/runtime/api"
)

func newVMCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vm",
		Short: "Create, place, run and remove virtual machines anywhere in the cluster",
		Long: `Manage the cluster's virtual machines through libvirt. Every command works from
any member: the agent that receives it reaches the host that has the VM.

A VM created without --host is pending: it gets its host at its first start,
chosen by the scheduler among the healthy members with enough free memory and
CPU after reservations (or the one given with vm start --host).

vm migrate moves a VM to another host: live while it runs (a moment's pause at
the end), its definition only when it is shut off.`,
	}
	cmd.AddCommand(newVMCreateCmd(g), newVMStartCmd(g), newVMShutdownCmd(g), newVMStopCmd(g), newVMRebootCmd(g),
		newVMDeleteCmd(g), newVMListCmd(g), newVMShowCmd(g), newVMConsoleCmd(g), newVMMigrateCmd(g))
	return cmd
}

// vmCall sends one VM request to the agent. The agent's refusals and
// failures exit 1; a request that never reached it keeps its own code.
func vmCall(g *globals, cmd *cobra.Command, r api.VMRequest) (api.VMResponse, error) {
	c, _, err := g.client(cmd)
	if err != nil {
		return api.VMResponse{}, err
	}
	resp, err := c.VM(cmd.Context(), r)
	for _, w := range resp.Warnings {
		fmt.Fprintf(g.stderr, "warning: %s\n", w)
	}
	if len(resp.Missing) > 0 {
		fmt.Fprintf(g.stderr, "warning: the VMs of %s are not shown\n", strings.Join(resp.Missing, ", "))
	}
	if err != nil {
		return resp, &exitError{code: 1, err: err}
	}
	return resp, nil
}

func newVMCreateCmd(g *globals) *cobra.Command {
	var (
		vcpus           int
		memory, disk    string
		image, host     string
		nics, cloudInit []string
	)
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Define a VM: from an image (copy-on-write) or a blank disk, with cloud-init and NICs",
		Long: `Define a VM. With --image it boots from a copy-on-write overlay of the base
image (vmnode image import); --disk gives a blank disk, or grows the overlay.
--cloud-init writes a NoCloud seed the guest configures itself from on first
boot. Without --host the VM is pending until its first start places it.

--memory takes a size (512M, 2G; a bare number is MiB); --disk too (a bare
number is GiB).

--nic MODEL[,network=NAME|bridge=BR][,mac=MAC][,pf=IFACE], repeatable; MODEL is
virtio (default), e1000, rtl8139 (the widest guest support) or sriov (a virtual
function of the host's card: fastest, but the VM can be neither migrated nor
made HA). Without network= or bridge= a NIC joins vm.network (default
"default").

--cloud-init KEY=VALUE, repeatable: hostname=NAME, ssh-key=FILE or the key
itself, user-data=FILE (a #cloud-config or a script).`,
		Example: `  vmnode vm create web1 --image debian12 --memory 2G --vcpus 2 --disk 20G \
      --cloud-init hostname=web1 --cloud-init ssh-key=~/.ssh/id_ed25519.pub
  vmnode vm create tiny --memory 64M                 # diskless, pending until vm start
  vmnode vm create db1 --image debian12 --memory 4G --nic virtio,bridge=br0 --host h2`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec := api.VMSpec{VCPUs: vcpus, Image: image}
			var err error
			if spec.MemoryMiB, err = sizeMiB(memory, "M"); err != nil {
				return usageErr(fmt.Errorf("--memory %q: %w", memory, err))
			}
			if disk != "" {
				mib, err := sizeMiB(disk, "G")
				if err != nil {
					return usageErr(fmt.Errorf("--disk %q: %w", disk, err))
				}
				spec.DiskBytes = int64(mib) << 20
			}
			for _, n := range nics {
				nic, err := parseNIC(n)
				if err != nil {
					return usageErr(err)
				}
				spec.NICs = append(spec.NICs, nic)
			}
			if spec.CloudInit, err = parseCloudInit(cloudInit); err != nil {
				return usageErr(err)
			}
			resp, err := vmCall(g, cmd, api.VMRequest{Op: api.VMCreate, Name: args[0], Host: host, Create: &spec})
			if err != nil {
				return err
			}
			v := resp.VM
			if v.Host == "" {
				fmt.Fprintf(g.stdout, "VM %s created, pending: it gets its host at its first start (vmnode vm start %s)\n", v.Name, v.Name)
			} else {
				fmt.Fprintf(g.stdout, "VM %s created on %s, %s\n", v.Name, v.Host, v.State)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&vcpus, "vcpus", 1, "virtual CPUs")
	f.StringVar(&memory, "memory", "1G", "memory, e.g. 512M or 2G (a bare number is MiB)")
	f.StringVar(&disk, "disk", "", "blank disk size, or the size to grow the image's overlay to, e.g. 20G (a bare number is GiB)")
	f.StringVar(&image, "image", "", "base image name (vmnode image list)")
	f.StringArrayVar(&nics, "nic", nil, "network interface MODEL[,network=NAME|bridge=BR][,mac=MAC][,pf=IFACE]; repeatable")
	f.StringArrayVar(&cloudInit, "cloud-init", nil, "hostname=NAME, ssh-key=FILE|KEY or user-data=FILE; repeatable")
	f.StringVar(&host, "host", "", "define it on this member now instead of placing it at its first start")
	socketFlag(cmd)
	return cmd
}

// sizeMiB parses a size such as 512M or 2G into MiB; a bare number is in
// bareUnit.
func sizeMiB(s, bareUnit string) (int, error) {
	s = strings.TrimSpace(s)
	if s != "" && strings.Trim(s, "0123456789") == "" {
		s += bareUnit
	}
	b, err := units.RAMInBytes(s)
	if err != nil || b <= 0 {
		return 0, fmt.Errorf("want a size such as 512M or 2G")
	}
	if b%(1<<20) != 0 {
		return 0, fmt.Errorf("want a whole number of MiB")
	}
	return int(b >> 20), nil
}

func parseNIC(s string) (api.NIC, error) {
	parts := strings.Split(s, ",")
	n := api.NIC{Model: parts[0]}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		if !ok || v == "" {
			return n, fmt.Errorf("--nic %q: %q: want KEY=VALUE (network, bridge, mac, pf)", s, p)
		}
		switch k {
		case "network":
			n.Network = v
		case "bridge":
			n.Bridge = v
		case "mac":
			n.MAC = v
		case "pf":
			n.PF = v
		default:
			return n, fmt.Errorf("--nic %q: unknown key %q: want network, bridge, mac or pf", s, k)
		}
	}
	return n, nil
}

func parseCloudInit(kvs []string) (*api.CloudInit, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	ci := &api.CloudInit{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			return nil, fmt.Errorf("--cloud-init %q: want hostname=NAME, ssh-key=FILE|KEY or user-data=FILE", kv)
		}
		switch k {
		case "hostname":
			ci.Hostname = v
		case "ssh-key":
			key := v
			if !strings.HasPrefix(v, "ssh-") && !strings.HasPrefix(v, "ecdsa-") && !strings.HasPrefix(v, "sk-") {
				b, err := os.ReadFile(expandHome(v))
				if err != nil {
					return nil, fmt.Errorf("--cloud-init ssh-key: %w", err)
				}
				key = strings.TrimSpace(string(b))
			}
			ci.SSHKeys = append(ci.SSHKeys, key)
		case "user-data":
			b, err := os.ReadFile(expandHome(v))
			if err != nil {
				return nil, fmt.Errorf("--cloud-init user-data: %w", err)
			}
			ci.UserData = string(b)
		default:
			return nil, fmt.Errorf("--cloud-init %q: unknown key %q: want hostname, ssh-key or user-data", kv, k)
		}
	}
	return ci, nil
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return home + "/" + rest
		}
	}
	return p
}

func newVMStartCmd(g *globals) *cobra.Command {
	var host string
	cmd := &cobra.Command{
		Use:   "start NAME",
		Short: "Power a VM on; a pending VM is placed first, and the choice explained",
		Long: `Power a VM on. At a pending VM's first start the scheduler chooses its host
among the alive, healthy members not in maintenance that have its image and
enough free memory and CPU after reservations (vm.reserved_memory_mib,
vm.reserved_cpus, vm.cpu_overcommit): the one with the most memory left. The
choice and its reason are printed; when nothing fits, each host and why not.`,
		Example: `  vmnode vm start web1
  vmnode vm start web1 --host h2`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := vmCall(g, cmd, api.VMRequest{Op: api.VMStart, Name: args[0], Host: host})
			if err != nil {
				return err
			}
			if p := resp.Placement; p != nil {
				fmt.Fprintf(g.stdout, "placed %s on %s: %s\n", args[0], p.Host, p.Reason)
				for _, r := range p.Rejected {
					fmt.Fprintf(g.stdout, "  not %s: %s\n", r.Host, r.Reason)
				}
			}
			fmt.Fprintf(g.stdout, "VM %s is %s on %s\n", resp.VM.Name, resp.VM.State, resp.VM.Host)
			return nil
		},
	}
	cmd.Flags().StringVar(&host, "host", "", "a pending VM: place it on this member")
	socketFlag(cmd)
	return cmd
}

func newVMShutdownCmd(g *globals) *cobra.Command {
	var timeout time.Duration
	var force bool
	cmd := &cobra.Command{
		Use:   "shutdown NAME",
		Short: "Ask the guest to power off (ACPI); with --force, pull the plug after --timeout",
		Args:  exactArgs(1, "NAME"),
		Example: `  vmnode vm shutdown web1
  vmnode vm shutdown web1 --timeout 30s --force`,
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := vmCall(g, cmd, api.VMRequest{Op: api.VMShutdown, Name: args[0], Timeout: timeout, Force: force})
			if err != nil {
				return err
			}
			if resp.Forced {
				fmt.Fprintf(g.stdout, "VM %s did not power off within %s and was stopped by force\n", args[0], timeout)
				return nil
			}
			fmt.Fprintf(g.stdout, "VM %s is %s\n", args[0], resp.VM.State)
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long the guest gets to power off")
	cmd.Flags().BoolVar(&force, "force", false, "stop it by force when the timeout passes")
	socketFlag(cmd)
	return cmd
}

func newVMStopCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "stop NAME --force",
		Short: "Stop a VM at once, like pulling the plug (needs --force)",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := vmCall(g, cmd, api.VMRequest{Op: api.VMStop, Name: args[0], Force: force})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "VM %s is %s\n", args[0], resp.VM.State)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "yes, pull the plug: the guest loses what it did not write to disk")
	socketFlag(cmd)
	return cmd
}

func newVMRebootCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reboot NAME",
		Short: "Ask the guest to reboot",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := vmCall(g, cmd, api.VMRequest{Op: api.VMReboot, Name: args[0]}); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "VM %s: reboot requested\n", args[0])
			return nil
		},
	}
	socketFlag(cmd)
	return cmd
}

func newVMDeleteCmd(g *globals) *cobra.Command {
	var keep, force bool
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Remove a VM and its disks (--keep-disks keeps them)",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := vmCall(g, cmd, api.VMRequest{Op: api.VMDelete, Name: args[0], KeepDisks: keep, Force: force})
			if err != nil {
				return err
			}
			where := resp.VM.Host
			if where == "" {
				where = "the pending VMs"
			}
			fmt.Fprintf(g.stdout, "VM %s deleted from %s", args[0], where)
			if keep && len(resp.VM.Disks) > 0 {
				fmt.Fprintf(g.stdout, "; its disks are kept: %s", strings.Join(resp.VM.Disks, " "))
			}
			fmt.Fprintln(g.stdout)
			return nil
		},
	}
	cmd.Flags().BoolVar(&keep, "keep-disks", false, "keep the VM's disk files")
	cmd.Flags().BoolVar(&force, "force", false, "stop it first if it runs")
	socketFlag(cmd)
	return cmd
}

func newVMListCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every VM of the cluster: host, state, vCPUs, memory, HA role",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			resp, err := vmCall(g, cmd, api.VMRequest{Op: api.VMList})
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(g, orEmpty(resp.VMs))
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tHOST\tSTATE\tVCPUS\tMEMORY\tHA")
			for _, v := range resp.VMs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", v.Name, orDash(v.Host), v.State, v.VCPUs, mib(v.MemoryMiB), haRole(v.HA))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "format: text or json")
	socketFlag(cmd)
	return cmd
}

func newVMShowCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a VM: where it runs, its state, disks, NICs, HA and last event",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			resp, err := vmCall(g, cmd, api.VMRequest{Op: api.VMShow, Name: args[0]})
			if err != nil {
				return err
			}
			v := resp.VM
			if output == "json" {
				return writeJSON(g, v)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
			row("Name", v.Name)
			row("Host", orDash(v.Host))
			state := v.State
			if v.Reason != "" {
				state += " (" + v.Reason + ")"
			}
			row("State", state)
			row("vCPUs", fmt.Sprint(v.VCPUs))
			row("Memory", mib(v.MemoryMiB))
			row("Image", orDash(v.Image))
			for i, d := range v.Disks {
				row(fmt.Sprintf("Disk %d", i), d)
			}
			for i, n := range v.NICs {
				row(fmt.Sprintf("NIC %d", i), nicString(n))
			}
			row("HA", haRole(v.HA))
			if v.Migratable {
				row("Migratable", "yes")
			} else {
				row("Migratable", "no: "+v.NotWhy)
			}
			if !v.Created.IsZero() {
				row("Created", v.Created.Format(time.RFC3339))
			}
			if e := v.LastEvent; e != nil {
				s := e.Kind
				if e.Detail != "" {
					s += " (" + e.Detail + ")"
				}
				if e.Unexpected {
					s += ", UNEXPECTED"
				}
				row("Last event", s+" at "+e.At.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "format: text or json")
	socketFlag(cmd)
	return cmd
}

func newVMConsoleCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "console NAME",
		Short: "Print where the VM's VNC console listens, and its password",
		Long: `Print the VNC endpoint of a running VM (a port in 5900-6900 on its host) and its
password, for any VNC client: vncviewer HOST::PORT, or vnc://HOST:PORT.`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := vmCall(g, cmd, api.VMRequest{Op: api.VMConsole, Name: args[0]})
			if err != nil {
				return err
			}
			c := resp.VM.Console
			fmt.Fprintf(g.stdout, "vnc://%s\n", c.Address)
			if c.Password != "" {
				fmt.Fprintf(g.stdout, "password: %s\n", c.Password)
			}
			return nil
		},
	}
	socketFlag(cmd)
	return cmd
}

func haRole(h api.VMHA) string {
	if !h.Enabled {
		return "-"
	}
	return fmt.Sprintf("active %s, passive %s", orDash(h.Active), orDash(h.Passive))
}

func nicString(n api.NIC) string {
	s := n.Model
	for _, kv := range [][2]string{{"network", n.Network}, {"bridge", n.Bridge}, {"mac", n.MAC}, {"vf", n.VF}} {
		if kv[1] != "" {
			s += "," + kv[0] + "=" + kv[1]
		}
	}
	return s
}

func mib(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%d GiB", n/1024)
	}
	return fmt.Sprintf("%d MiB", n)
}

func checkOutput(o string) error {
	if o != "text" && o != "json" {
		return usageErr(fmt.Errorf("unknown output format %q: want text or json", o))
	}
	return nil
}

func writeJSON(g *globals, v any) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// exactArgs is cobra.ExactArgs with an error naming what is missing.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%s takes %s (got %d arguments)", cmd.CommandPath(), names, len(args))
		}
		return nil
	}
}
