package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newMembersCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "members",
		Short: "List the cluster's hosts as this host's agent sees them",
		Long: `List the cluster's hosts: name, gossip address, status (alive, failed, leaving,
left), role, OS, vmnode version and health (the worst result of the host's last
local checks, with the failing check IDs).`,
		Example: `  vmnode members
  vmnode members -o json | jq '.[] | select(.status != "alive")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return usageErr(fmt.Errorf("unknown output format %q: want text or json", output))
			}
			c, _, err := g.client(cmd)
			if err != nil {
				return err
			}
			members, err := c.Members(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(members)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tADDRESS\tSTATUS\tROLE\tOS\tVERSION\tHEALTH")
			for _, m := range members {
				health := orDash(m.Health)
				if len(m.Failing) > 0 {
					health += " (" + strings.Join(m.Failing, ", ") + ")"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, m.Address, m.Status, orDash(m.Role), orDash(m.OS), orDash(m.Version), health)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "format: text or json")
	socketFlag(cmd)
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
