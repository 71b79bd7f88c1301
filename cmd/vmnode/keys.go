package main

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/vmnode/vmnode/runtime/api"
	"github.com/vmnode/vmnode/runtime/cluster"
)

func newKeygenCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "keygen",
		Short: "Print a new gossip encryption key",
		Long: `Print a new random 32-byte gossip key (AES-256), base64-encoded. Every host of
a cluster needs the same key in agent.key_file before its agent first starts;
later changes go through ` + "`vmnode keys`" + `.`,
		Example: `  vmnode keygen > /etc/vmnode/gossip.key && chmod 600 /etc/vmnode/gossip.key`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			k, err := cluster.GenerateKey()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(g.stdout, k)
			return err
		},
	}
}

func newKeysCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "List and rotate the cluster's gossip keys",
		Long: `Manage the gossip keyring on every member at once. To rotate:

  vmnode keys install NEWKEY   every member learns the new key
  vmnode keys use NEWKEY       every member encrypts with it
  vmnode keys remove OLDKEY    the old key is gone

Each step reports how many members answered; one that failed names the
members. The keyring survives restarts (agent.data_dir/serf/keyring).`,
	}
	op := func(name, short string, args cobra.PositionalArgs) *cobra.Command {
		c := &cobra.Command{
			Use:   name,
			Short: short,
			Args:  args,
			RunE: func(cmd *cobra.Command, args []string) error {
				client, _, err := g.client(cmd)
				if err != nil {
					return err
				}
				req := api.KeyRequest{Op: cmd.Name()}
				if len(args) > 0 {
					req.Key = args[0]
				}
				resp, err := client.Keys(cmd.Context(), req)
				printKeys(g, req.Op, resp)
				return err
			},
		}
		socketFlag(c)
		return c
	}
	cmd.AddCommand(
		op("list", "List the keys installed on the members, and how many use each", cobra.NoArgs),
		op("install KEY", "Install a key on every member (it does not encrypt with it yet)", cobra.ExactArgs(1)),
		op("use KEY", "Make an installed key the one every member encrypts with", cobra.ExactArgs(1)),
		op("remove KEY", "Remove a key that is no longer in use from every member", cobra.ExactArgs(1)),
	)
	return cmd
}

func printKeys(g *globals, op string, r api.KeyResponse) {
	if r.Members == 0 && len(r.Keys) == 0 {
		return
	}
	fmt.Fprintf(g.stdout, "%s: %d of %d members answered, %d failed\n", op, r.Responses, r.Members, r.Errors)
	names := make([]string, 0, len(r.Messages))
	for n := range r.Messages {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(g.stdout, "  %s: %s\n", n, r.Messages[n])
	}
	if op != "list" {
		return
	}
	keys := make([]string, 0, len(r.Keys))
	for k := range r.Keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		primary := ""
		if r.PrimaryKeys[k] > 0 {
			primary = fmt.Sprintf(", primary on %d", r.PrimaryKeys[k])
		}
		fmt.Fprintf(g.stdout, "  %s  installed on %d/%d%s\n", k, r.Keys[k], r.Members, primary)
	}
}
