package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/vmnode/vmnode/runtime/virt/storage"
)

func newImageCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Import and list the base images VMs are created from",
		Long: `Base images (qcow2 or raw) live under agent.data_dir/images on each host. A VM
created from one boots from a copy-on-write overlay, so the image is never
written to. Import an image on every host that should run VMs from it: the
scheduler only places a VM on a host that has its image.`,
	}
	cmd.AddCommand(newImageImportCmd(g), newImageListCmd(g))
	return cmd
}

func newImageImportCmd(g *globals) *cobra.Command {
	var sum string
	cmd := &cobra.Command{
		Use:   "import FILE NAME",
		Short: "Copy an image into this host's store, verifying its checksum and format",
		Long: `Copy FILE into this host's image store as NAME. The SHA-256 checksum is
computed while copying and compared with --sha256, or with FILE.sha256 when it
exists (sha256sum's format). qemu-img then checks the format and that the image
is not corrupt. Nothing is kept unless every check passes.`,
		Example: `  vmnode image import debian-12-genericcloud-amd64.qcow2 debian12 --sha256 5da2...
  sha256sum img.qcow2 > img.qcow2.sha256 && vmnode image import img.qcow2 myimage`,
		Args: exactArgs(2, "FILE and NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := g.load(cmd, nil, nil)
			if err != nil {
				return err
			}
			store := storage.New(cfg.Agent.DataDir)
			progress := newProgress(g, "importing "+args[1])
			im, err := store.Import(cmd.Context(), args[0], args[1], strings.ToLower(sum), progress.update)
			progress.done()
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			fmt.Fprintf(g.stdout, "image %s imported: %s, %s (virtual %s), sha256 %s\n", im.Name, im.Format,
				units.BytesSize(float64(im.Size)), units.BytesSize(float64(im.VirtualSize)), im.SHA256)
			return nil
		},
	}
	cmd.Flags().StringVar(&sum, "sha256", "", "the image's expected SHA-256 checksum (hex)")
	return cmd
}

func newImageListCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the images of every member, and which members have them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, _, err := g.client(cmd)
			if err != nil {
				return err
			}
			resp, err := c.Images(cmd.Context())
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			if len(resp.Missing) > 0 {
				fmt.Fprintf(g.stderr, "warning: the images of %s are not shown\n", strings.Join(resp.Missing, ", "))
			}
			if output == "json" {
				return writeJSON(g, orEmpty(resp.Images))
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tFORMAT\tSIZE\tVIRTUAL\tSHA256\tHOSTS")
			for _, im := range resp.Images {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", im.Name, im.Format, units.BytesSize(float64(im.Size)),
					units.BytesSize(float64(im.VirtualSize)), im.SHA256[:min(12, len(im.SHA256))], strings.Join(im.Hosts, ","))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "format: text or json")
	socketFlag(cmd)
	return cmd
}

// progress draws a one-line progress report on a terminal's stderr, at most
// a few times a second; elsewhere it stays quiet.
type progress struct {
	g     *globals
	label string
	tty   bool
	last  time.Time
}

func newProgress(g *globals, label string) *progress {
	p := &progress{g: g, label: label}
	if f, ok := g.stderr.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(done, total int64) {
	if !p.tty || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	if total > 0 {
		fmt.Fprintf(p.g.stderr, "\r%s: %3d%% (%s of %s)   ", p.label, done*100/total, units.BytesSize(float64(done)), units.BytesSize(float64(total)))
	} else {
		fmt.Fprintf(p.g.stderr, "\r%s: %s   ", p.label, units.BytesSize(float64(done)))
	}
}

func (p *progress) done() {
	if p.tty && !p.last.IsZero() {
		fmt.Fprintln(p.g.stderr)
	}
}
