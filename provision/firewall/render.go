package firewall

import (
	"fmt"
	"strings"
)

// PersistPath is where Render's output is kept so the nftables service
// loads the table at boot (written by provision/files, not here).
const PersistPath = "/etc/vmnode/nftables.nft"

// NftablesConfPaths are the nftables service's configuration files that
// must include PersistPath: Debian/Ubuntu first, then Enterprise Linux.
var NftablesConfPaths = []string{"/etc/nftables.conf", "/etc/sysconfig/nftables.conf"}

// IncludeLine is the line the nftables service's configuration needs to
// load PersistPath. It must come after any `flush ruleset` in that file.
func IncludeLine() string { return fmt.Sprintf("include %q", PersistPath) }

// Render is the nft -f text of rs: the file at PersistPath and the source
// of plans. Loading it replaces table inet vmnode in one transaction whether
// or not the table exists (nft 1.0.6 has no `destroy table`, so the table is
// declared first, which makes the delete always succeed), and it touches
// no other table.
func Render(rs Ruleset) string {
	var b strings.Builder
	b.WriteString("# Managed by vmnode (provision step \"firewall\"); edits are overwritten.\n")
	b.WriteString("# The nftables service loads it at boot through: " + IncludeLine() + "\n")
	b.WriteString("table " + Target + " {}\n")
	b.WriteString("delete table " + Target + "\n")
	b.WriteString(renderTable(rs))
	return b.String()
}

// renderTable is the table as `nft list table inet vmnode` prints it.
func renderTable(rs Ruleset) string {
	var b strings.Builder
	fmt.Fprintf(&b, "table %s {\n", Target)
	for _, u := range rs.Unmanaged {
		fmt.Fprintf(&b, "\t# not vmnode's: %s\n", u)
	}
	fmt.Fprintf(&b, "\tchain %s {\n", ChainName)
	fmt.Fprintf(&b, "\t\ttype filter hook input priority %s; policy %s;\n", priorityName(rs.Priority), rs.Policy)
	for _, r := range rs.Rules {
		fmt.Fprintf(&b, "\t\t%s\n", r)
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

func priorityName(p int32) string {
	switch {
	case p == 0:
		return "filter"
	case p > 0:
		return fmt.Sprintf("filter + %d", p)
	}
	return fmt.Sprintf("filter - %d", -int64(p))
}

// diffLines is a line diff of a and b with full context: " " kept,
// "-" only in a, "+" only in b (longest common subsequence).
func diffLines(a, b string) string {
	x := strings.Split(strings.TrimSuffix(a, "\n"), "\n")
	y := strings.Split(strings.TrimSuffix(b, "\n"), "\n")
	// lcs[i][j] is the LCS length of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			out.WriteString("  " + x[i] + "\n")
			i, j = i+1, j+1
		case j < len(y) && (i == len(x) || lcs[i][j+1] >= lcs[i+1][j]):
			out.WriteString("+ " + y[j] + "\n")
			j++
		default:
			out.WriteString("- " + x[i] + "\n")
			i++
		}
	}
	return out.String()
}
