package cluster

import (
	"fmt"
	"strings"

	"github.com/vmnode/vmnode/preflight"
)

func checkSize(ms []member, lim Limits) preflight.Result {
	n := len(ms)
	if n == 0 {
		return preflight.Skipf(noMembers)
	}
	var want []string
	switch {
	case lim.MinHAHosts > 0 && lim.MaxHosts > 0:
		want = append(want, fmt.Sprintf("%d to %d members", lim.MinHAHosts, lim.MaxHosts))
	case lim.MaxHosts > 0:
		want = append(want, fmt.Sprintf("at most %d members", lim.MaxHosts))
	case lim.MinHAHosts > 0:
		want = append(want, fmt.Sprintf("at least %d members", lim.MinHAHosts))
	}
	expected := strings.Join(append(want, "an odd number"), ", ")
	observed := plural(n, "member", "members")
	tolerates := (n - 1) / 2 // a majority must stay online
	switch {
	case lim.MaxHosts > 0 && n > lim.MaxHosts:
		return preflight.Failf("%s: a cluster holds at most %d hosts", observed, lim.MaxHosts).
			Saw(observed, expected).
			Remedy("take %s out of the cluster (stop vmnode on them so they leave), or split the hosts into clusters of at most %d", plural(n-lim.MaxHosts, "member", "members"), lim.MaxHosts)
	case lim.MinHAHosts > 0 && n < lim.MinHAHosts:
		return preflight.Warnf("%s: HA needs at least %d hosts; with %d, losing any host stops the cluster", observed, lim.MinHAHosts, n).
			Saw(observed, expected).
			Remedy("join %s to reach %d (an odd number keeps a majority when a host fails)", plural(lim.MinHAHosts-n, "more host", "more hosts"), lim.MinHAHosts)
	case n%2 == 0:
		return preflight.Warnf("an odd number of hosts is recommended: with %d hosts, losing %d stops the cluster (%d hosts survive the same %d)", n, n/2, n-1, tolerates).
			Saw(observed, expected).
			Remedy("add a host (%d survive %d offline) or remove one (%d survive %d offline)", n+1, n/2, n-1, tolerates)
	}
	return preflight.Passf("%s: the cluster keeps running with up to %d offline", observed, tolerates).Saw(observed, expected)
}
