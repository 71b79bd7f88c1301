package virt

import (
	"bytes"
	"testing"
	"time"
)

func TestDescribeEvent(t *testing.T) {
	for _, tc := range []struct {
		event, detail int32
		kind          EventKind
		words         string
		unexpected    bool
	}{
		{0, 0, EventDefined, "added", false},
		{0, 1, EventDefined, "updated", false},
		{1, 0, EventUndefined, "removed", false},
		{2, 0, EventStarted, "booted", false},
		{2, 1, EventStarted, "migrated", false},
		{2, 2, EventStarted, "restored", false},
		{3, 0, EventSuspended, "paused", false},
		{3, 2, EventSuspended, "ioerror", false},
		{4, 0, EventResumed, "unpaused", false},
		{5, 0, EventStopped, "shutdown", false},
		{5, 1, EventStopped, "destroyed", false},
		{5, 2, EventStopped, "crashed", true},
		{5, 3, EventStopped, "migrated", false},
		{5, 4, EventStopped, "saved", false},
		{5, 5, EventStopped, "failed", true}, // the QEMU process died (killed, OOM)
		{5, 6, EventStopped, "from-snapshot", false},
		{6, 1, EventShutdown, "guest", false},
		{7, 1, EventPMSuspended, "disk", false},
		{8, 0, EventCrashed, "panicked", true},
		{8, 9, EventCrashed, "detail-9", true},
		{5, 42, EventStopped, "detail-42", false},
		{99, 1, EventKind("event-99"), "detail-1", false},
	} {
		kind, words, unexpected := describeEvent(tc.event, tc.detail)
		if kind != tc.kind || words != tc.words || unexpected != tc.unexpected {
			t.Errorf("describeEvent(%d, %d) = %s/%s unexpected=%v, want %s/%s unexpected=%v",
				tc.event, tc.detail, kind, words, unexpected, tc.kind, tc.words, tc.unexpected)
		}
	}
}

func TestDescribeState(t *testing.T) {
	for _, tc := range []struct {
		state, reason int32
		want          State
		reason2       string
	}{
		{1, 1, StateRunning, "booted"},
		{1, 2, StateRunning, "migrated"},
		{2, 0, StateBlocked, "unknown"},
		{3, 1, StatePaused, "user"},
		{3, 5, StatePaused, "ioerror"},
		{4, 1, StateShutdown, "user"},
		{5, 2, StateShutoff, "destroyed"},
		{5, 6, StateShutoff, "failed"},
		{6, 1, StateCrashed, "panicked"},
		{7, 0, StatePMSuspended, "unknown"},
		{0, 0, StateUnknown, "unknown"},
		{42, 3, StateUnknown, "reason-3"},
	} {
		s, r := describeState(tc.state, tc.reason)
		if s != tc.want || r != tc.reason2 {
			t.Errorf("describeState(%d, %d) = %s/%s, want %s/%s", tc.state, tc.reason, s, r, tc.want, tc.reason2)
		}
	}
}

// A consumer that stops reading loses events but is told to re-list.
func TestEventOverflowQueuesResync(t *testing.T) {
	var h hub
	h.init()
	for i := range maxQueued + 10 {
		h.emit(Event{Domain: "d", Kind: EventStarted, Detail: string(rune('a' + i%26))})
	}
	if got := len(h.queue); got != maxQueued+1 {
		t.Fatalf("queue holds %d, want %d (the limit plus one Resync)", got, maxQueued+1)
	}
	if last := h.queue[len(h.queue)-1]; last.Kind != EventResync {
		t.Fatalf("last queued = %v, want a Resync", last)
	}
	done := make(chan struct{})
	go h.pump(done)
	n := 0
	for ev := range h.out {
		n++
		if ev.Kind == EventResync {
			break
		}
	}
	close(done)
	if n != maxQueued+1 {
		t.Errorf("received %d events before the Resync, want %d", n, maxQueued+1)
	}
}

func TestWaiterWokenByItsDomainAndMarkers(t *testing.T) {
	var h hub
	h.init()
	w := h.watch("a")
	h.emit(Event{Domain: "b", Kind: EventStarted, At: time.Now()})
	select {
	case <-w.ch:
		t.Fatal("woken by another domain's event")
	default:
	}
	for _, ev := range []Event{{Domain: "a", Kind: EventStopped}, {Kind: EventResync}, {Kind: EventDisconnected}} {
		h.emit(ev)
		select {
		case <-w.ch:
		default:
			t.Errorf("not woken by %v", ev)
		}
	}
	h.unwatch(w)
	h.emit(Event{Domain: "a", Kind: EventStarted})
	select {
	case <-w.ch:
		t.Error("woken after unwatch")
	default:
	}
}

var domainNameCases = []struct{ xml, want string }{
	{"<domain type='kvm'><name>web-1</name><memory>1</memory></domain>", "web-1"},
	{"<?xml version='1.0'?>\n<!-- c -->\n<domain>\n  <uuid>x</uuid>\n  <name> db </name>\n</domain>", "db"},
	{"<domain type='kvm'><name>cut-short</name><devices>", "cut-short"}, // not well-formed after the name
	{"<domain><devices><disk><name>not-this</name></disk></devices></domain>", ""},
	{"<network><name>default</name></network>", ""},
	{"<domain><name>x</domain>", ""},
	{"", ""},
	{"not xml", ""},
}

func TestDomainName(t *testing.T) {
	for _, tc := range domainNameCases {
		if got := domainName([]byte(tc.xml)); got != tc.want {
			t.Errorf("domainName(%q) = %q, want %q", tc.xml, got, tc.want)
		}
	}
}

func FuzzDomainName(f *testing.F) {
	for _, tc := range domainNameCases {
		f.Add([]byte(tc.xml))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		name := domainName(b)
		if name != "" && !bytes.Contains(b, []byte("name")) {
			t.Errorf("domainName found %q in XML without a name element", name)
		}
	})
}
