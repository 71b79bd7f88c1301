package cluster

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vmnode/vmnode/preflight"
)

// maxListed is how many findings a message names before "and N more".
const maxListed = 4

// portFinding is one required port one member could not reach on another.
type portFinding struct {
	from, to member
	port     Port
	what     string // "filtered", "not probed", "probe error: …"
	blocked  bool   // filtered: the network dropped it (fail); else an error
}

func (f portFinding) String() string {
	s := fmt.Sprintf("%s -> %s:%s", f.from.label, f.to.label, f.port)
	if f.port.Service != "" {
		s += " (" + f.port.Service + ")"
	}
	return s + ": " + f.what
}

// portSurvey is what the probes between the answering members showed.
type portSurvey struct {
	required int // (source, target, TCP port or range) triples
	probes   int // probes looked at
	open     int
	refused  int
	findings []portFinding
	udp      []string // UDP ports not probed, e.g. "4789/udp (VXLAN)"
	gossip   []string // gossip UDP ports proven by the members' answers
	silent   []string // targets not checked: they did not answer
}

// lookup finds the probe from made to to's port/proto.
func lookup(from, to member, port int, proto string) (Probe, bool) {
	for _, p := range from.Probes {
		if p.Port == port && strings.EqualFold(p.To, to.Name) && strings.EqualFold(p.Proto, proto) {
			return p, true
		}
	}
	return Probe{}, false
}

// surveyPorts checks, for every answering member A and every other
// answering member B, that A's probes reached each TCP port B requires. A
// range counts as reachable when its first and last port are.
func surveyPorts(ms []member) portSurvey {
	var s portSurvey
	note := func(list *[]string, p Port) {
		n := p.String()
		if p.Service != "" {
			n += " for " + p.Service
		}
		if !slices.Contains(*list, n) {
			*list = append(*list, n)
		}
	}
	for _, m := range ms {
		if !m.Answered() {
			s.silent = append(s.silent, m.label)
		}
	}
	for i, a := range ms {
		if !a.Answered() {
			continue
		}
		for j, b := range ms {
			if i == j || !b.Answered() {
				continue
			}
			for _, p := range b.Ports {
				if !strings.EqualFold(p.Proto, "tcp") {
					if p.Gossip && strings.EqualFold(p.Proto, "udp") {
						note(&s.gossip, p)
					} else {
						note(&s.udp, p)
					}
					continue
				}
				s.required++
				if f, bad := s.probeRange(a, b, p); bad {
					s.findings = append(s.findings, f)
				}
			}
		}
	}
	return s
}

// probeRange judges a's probes of b's TCP port or range p.
func (s *portSurvey) probeRange(a, b member, p Port) (portFinding, bool) {
	ports := []int{p.From}
	if p.last() != p.From {
		ports = append(ports, p.last())
	}
	var worst *portFinding
	for _, q := range ports {
		at := ""
		if len(ports) > 1 {
			at = fmt.Sprintf("port %d ", q)
		}
		pr, ok := lookup(a, b, q, "tcp")
		var f *portFinding
		switch {
		case !ok:
			f = &portFinding{what: at + "not probed"}
		default:
			s.probes++
			switch pr.Result {
			case ProbeOpen:
				s.open++
			case ProbeRefused:
				s.refused++
			case ProbeFiltered:
				f = &portFinding{what: at + "filtered" + detail(pr.Detail), blocked: true}
			case ProbeError:
				f = &portFinding{what: at + "probe error" + detail(pr.Detail)}
			default:
				f = &portFinding{what: fmt.Sprintf("%sunknown probe result %q%s", at, pr.Result, detail(pr.Detail))}
			}
		}
		if f != nil && (worst == nil || f.blocked && !worst.blocked) {
			worst = f
		}
	}
	if worst == nil {
		return portFinding{}, false
	}
	worst.from, worst.to, worst.port = a, b, p
	return *worst, true
}

func detail(d string) string {
	if d = strings.TrimSpace(d); d == "" {
		return ""
	}
	return " (" + d + ")"
}

func checkPorts(ms []member, _ Limits) preflight.Result {
	const expected = "every member reaches every other member's required TCP ports (open or refused, not filtered)"
	if len(answered(ms)) < 2 {
		return preflight.Skipf("fewer than two members answered: no member pairs to probe")
	}
	s := surveyPorts(ms)
	var notes []string
	if len(s.gossip) > 0 {
		notes = append(notes, strings.Join(s.gossip, ", ")+" works: the members answered over it")
	}
	if len(s.udp) > 0 {
		notes = append(notes, "UDP not probed (no reliable answer): "+strings.Join(s.udp, ", "))
	}
	if len(s.silent) > 0 {
		notes = append(notes, "not checked: "+list(s.silent)+" did not answer")
	}
	withNotes := func(msg string) string {
		if len(notes) == 0 {
			return msg
		}
		return msg + "; " + strings.Join(notes, "; ")
	}
	if s.required == 0 {
		return preflight.Skipf("%s", withNotes("no member requires a TCP port")).Saw("no TCP ports required", expected)
	}

	var blocked, failed []portFinding
	var lines []string
	for _, f := range s.findings {
		lines = append(lines, f.String())
		if f.blocked {
			blocked = append(blocked, f)
		} else {
			failed = append(failed, f)
		}
	}
	counts := fmt.Sprintf("%d TCP ports or ranges between %s: %d probes, %d open, %d refused",
		s.required, plural(len(answered(ms)), "member", "members"), s.probes, s.open, s.refused)
	observed := counts
	if len(lines) > 0 {
		observed += "\n" + strings.Join(lines, "\n")
	}
	switch {
	case len(blocked) > 0:
		msg := fmt.Sprintf("%d of %d required TCP ports are filtered between members: %s", len(blocked), s.required, summarize(blocked))
		if len(failed) > 0 {
			msg += fmt.Sprintf("; %d more could not be checked", len(failed))
		}
		return preflight.Failf("%s", withNotes(msg)).Saw(observed, expected).
			Remedy("open them in the firewall of %s (`vmnode provision --only firewall` on a host opens its profile's ports) and in any firewall between the hosts, then run the cluster preflight again", targets(blocked))
	case len(failed) > 0:
		msg := fmt.Sprintf("%d of %d required TCP ports could not be checked: %s", len(failed), s.required, summarize(failed))
		return preflight.Errorf("%s", withNotes(msg)).Saw(observed, expected).
			Remedy("make every member run the same vmnode version (an older agent may not probe every port), look at the probe errors above, and run the cluster preflight again")
	}
	msg := fmt.Sprintf("every member reached the other members' required TCP ports (%d probes: %d open, %d refused)", s.probes, s.open, s.refused)
	return preflight.Passf("%s", withNotes(msg)).Saw(observed, expected)
}

// summarize lists the first findings and counts the rest.
func summarize(fs []portFinding) string {
	var parts []string
	for i, f := range fs {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("and %d more", len(fs)-maxListed))
			break
		}
		parts = append(parts, f.String())
	}
	return strings.Join(parts, "; ")
}

// targets is "node-2 (16514/tcp, 22/tcp) and node-3 (179/tcp)".
func targets(fs []portFinding) string {
	var order []string
	ports := map[string][]string{}
	for _, f := range fs {
		t := f.to.label
		if _, ok := ports[t]; !ok {
			order = append(order, t)
		}
		if p := f.port.String(); !slices.Contains(ports[t], p) {
			ports[t] = append(ports[t], p)
		}
	}
	var parts []string
	for _, t := range order {
		parts = append(parts, fmt.Sprintf("%s (%s)", t, strings.Join(ports[t], ", ")))
	}
	return list(parts)
}
