package agent

import (
	"time"

	"github.com/hashicorp/serf/serf"

	"github.com/vmnode/vmnode/runtime/ha"
)

// queryHA is the HA report exchange: the payload is empty (the asker is
// the query's source), the answer is the member's gzipped ha.Report. Asking
// is heard (push), answering is an exchange (pull); runtime/ha explains why
// both directions matter.
const queryHA = "vmnode.ha"

// peer is what the exchange learned about one member. Times are monotonic.
type peer struct {
	heard     time.Time // anything from it
	exchanged time.Time // when the last request it answered was sent
	report    *ha.Report
}

// exchange asks every member for its report, twice per skew, until stop.
func (a *Agent) exchange(skew time.Duration) {
	t := time.NewTicker(skew / 2)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			go a.askReports(skew)
		}
	}
}

// askReports sends one request to every member and records the answers
// that come within skew.
func (a *Agent) askReports(skew time.Duration) {
	s := a.cluster.Serf()
	if s == nil || s.State() != serf.SerfAlive {
		return
	}
	self := a.Config().Node.Name
	sent := time.Now()
	resp, err := s.Query(queryHA, nil, &serf.QueryParam{Timeout: skew})
	if err != nil {
		return
	}
	defer resp.Close()
	for r := range resp.ResponseCh() {
		if r.From == self {
			continue
		}
		var rep ha.Report
		if err := unzjson(r.Payload, &rep); err != nil {
			a.log.Warn("unreadable HA report", "from", r.From, "err", err)
			continue
		}
		now := time.Now()
		a.haMu.Lock()
		p := a.peer(r.From)
		p.heard = later(p.heard, now)
		if sent.After(p.exchanged) {
			p.exchanged, p.report = sent, &rep
		}
		a.haMu.Unlock()
	}
}

// answerHA answers a member's request with this host's report.
func (a *Agent) answerHA(q *serf.Query) ([]byte, error) {
	now := time.Now()
	if from := q.SourceNode(); from != "" && from != a.Config().Node.Name {
		a.haMu.Lock()
		p := a.peer(from)
		p.heard = later(p.heard, now)
		a.haMu.Unlock()
	}
	st, ok := a.haState(now)
	if !ok {
		return nil, errNoLibvirt
	}
	return zjson(st.Report(now))
}

// peer returns the member's entry, creating it; a.haMu held.
func (a *Agent) peer(name string) *peer {
	p, ok := a.peers[name]
	if !ok {
		p = &peer{}
		a.peers[name] = p
	}
	return p
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
