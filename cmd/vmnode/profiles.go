package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vmnode/vmnode/preflight/checks"
	"github.com/vmnode/vmnode/profiles"
)

func newProfilesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profiles",
		Short: "List and show cluster profiles",
		Long: `A profile is what a cluster requires of a node: CPU, memory, disk, OS releases,
packages, time, network and firewall ports. Built-in profiles are compiled in;
local ones are YAML files in ` + profiles.LocalDir + `/NAME.yaml and shadow a
built-in of the same name. Any file path works with --profile too.`,
	}
	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the available profiles",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			infos, err := profiles.List(profiles.Options{KnownChecks: checks.IDs()})
			if err != nil {
				return usageErr(err)
			}
			if output == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(infos)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tORIGIN\tDESCRIPTION")
			for _, i := range infos {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", i.Name, i.Origin, i.Description)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	show := &cobra.Command{
		Use:   "show NAME|FILE",
		Short: "Print a profile as YAML (which --profile FILE accepts back)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			p, err := profiles.Load(args[0], profiles.Options{KnownChecks: checks.IDs()})
			if err != nil {
				return usageErr(err)
			}
			out, err := profiles.Marshal(p)
			if err != nil {
				return err
			}
			_, err = g.stdout.Write(out)
			return err
		},
	}
	cmd.AddCommand(list, show)
	return cmd
}
