package virt

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/digitalocean/go-libvirt"
)

// EventKind says what happened to a domain (libvirt's lifecycle event
// types), or to the connection (EventResync, EventDisconnected).
type EventKind string

// Event kinds. The first nine are libvirt's lifecycle events.
const (
	EventDefined     EventKind = "defined"
	EventUndefined   EventKind = "undefined"
	EventStarted     EventKind = "started"
	EventSuspended   EventKind = "suspended"
	EventResumed     EventKind = "resumed"
	EventStopped     EventKind = "stopped"
	EventShutdown    EventKind = "shutdown" // the guest is shutting down or finished doing so; EventStopped follows
	EventPMSuspended EventKind = "pmsuspended"
	EventCrashed     EventKind = "crashed"

	// EventResync: the connection came back after an outage (or events
	// were dropped because nobody read them); events may have been missed,
	// so list the domains again. Domain is empty.
	EventResync EventKind = "resync"
	// EventDisconnected: the connection to libvirtd was lost. Domain is
	// empty. Run reconnects and then sends EventResync.
	EventDisconnected EventKind = "disconnected"
)

// Event is a domain lifecycle event, or a connection marker
// (EventResync, EventDisconnected) with an empty Domain.
type Event struct {
	Domain string
	UUID   string
	Kind   EventKind
	// Detail is libvirt's detail code in words, e.g. stopped: "shutdown",
	// "destroyed", "crashed", "migrated", "saved", "failed",
	// "from-snapshot"; started: "booted", "migrated", "restored", ….
	Detail string
	// Unexpected: the VM died without being asked — stopped/failed (the
	// QEMU process went away: killed, OOM, crashed), stopped/crashed, or
	// crashed/* (guest panic).
	Unexpected bool
	// At is when the event was received.
	At time.Time
}

func (e Event) String() string {
	s := string(e.Kind)
	if e.Domain != "" {
		s = e.Domain + " " + s
	}
	if e.Detail != "" {
		s += "/" + e.Detail
	}
	if e.Unexpected {
		s += " (unexpected)"
	}
	return s
}

// Detail words per event type, indexed by libvirt's detail code
// (virDomainEvent*DetailType in libvirt-domain.h).
var eventDetails = map[libvirt.DomainEventType][]string{
	libvirt.DomainEventDefined:     {"added", "updated", "renamed", "from-snapshot"},
	libvirt.DomainEventUndefined:   {"removed", "renamed"},
	libvirt.DomainEventStarted:     {"booted", "migrated", "restored", "from-snapshot", "wakeup", "recreated"},
	libvirt.DomainEventSuspended:   {"paused", "migrated", "ioerror", "watchdog", "restored", "from-snapshot", "api-error", "postcopy", "postcopy-failed"},
	libvirt.DomainEventResumed:     {"unpaused", "migrated", "from-snapshot", "postcopy", "postcopy-failed"},
	libvirt.DomainEventStopped:     {"shutdown", "destroyed", "crashed", "migrated", "saved", "failed", "from-snapshot", "recreated"},
	libvirt.DomainEventShutdown:    {"finished", "guest", "host"},
	libvirt.DomainEventPmsuspended: {"memory", "disk"},
	libvirt.DomainEventCrashed:     {"panicked", "crashloaded"},
}

var eventKinds = map[libvirt.DomainEventType]EventKind{
	libvirt.DomainEventDefined:     EventDefined,
	libvirt.DomainEventUndefined:   EventUndefined,
	libvirt.DomainEventStarted:     EventStarted,
	libvirt.DomainEventSuspended:   EventSuspended,
	libvirt.DomainEventResumed:     EventResumed,
	libvirt.DomainEventStopped:     EventStopped,
	libvirt.DomainEventShutdown:    EventShutdown,
	libvirt.DomainEventPmsuspended: EventPMSuspended,
	libvirt.DomainEventCrashed:     EventCrashed,
}

// describeEvent maps libvirt's lifecycle event and detail codes to a kind,
// a detail word and whether the VM died unasked. Unknown codes (a newer
// libvirt) keep their numbers.
func describeEvent(event, detail int32) (kind EventKind, words string, unexpected bool) {
	t := libvirt.DomainEventType(event)
	kind, ok := eventKinds[t]
	if !ok {
		kind = EventKind("event-" + strconv.Itoa(int(event)))
	}
	if d := eventDetails[t]; detail >= 0 && int(detail) < len(d) {
		words = d[detail]
	} else {
		words = "detail-" + strconv.Itoa(int(detail))
	}
	switch t {
	case libvirt.DomainEventStopped:
		switch libvirt.DomainEventStoppedDetailType(detail) {
		case libvirt.DomainEventStoppedFailed, libvirt.DomainEventStoppedCrashed:
			unexpected = true
		}
	case libvirt.DomainEventCrashed:
		unexpected = true
	}
	return kind, words, unexpected
}

func lifecycleEvent(m libvirt.DomainEventLifecycleMsg, at time.Time) Event {
	kind, detail, unexpected := describeEvent(m.Event, m.Detail)
	return Event{
		Domain: m.Dom.Name, UUID: formatUUID(m.Dom.UUID),
		Kind: kind, Detail: detail, Unexpected: unexpected, At: at,
	}
}

func formatUUID(u libvirt.UUID) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// Events returns the Conn's event channel: one channel for the Conn's
// life, surviving reconnects, closed only by Close. Events are queued
// (never blocking libvirtd or the connection) up to maxQueued; past that
// they are dropped and an EventResync is queued in their place.
func (c *Conn) Events() <-chan Event { return c.hub.out }

const (
	eventBuffer = 256
	maxQueued   = 1 << 16
)

// hub queues events for the Events channel and wakes WaitState callers.
type hub struct {
	out  chan Event
	wake chan struct{} // cap 1: the queue grew

	mu      sync.Mutex
	queue   []Event
	waiters map[*waiter]struct{}
}

// waiter is woken (coalescing) by any event for its domain and by every
// connection marker.
type waiter struct {
	domain string
	ch     chan struct{} // cap 1
}

func (h *hub) init() {
	h.out = make(chan Event, eventBuffer)
	h.wake = make(chan struct{}, 1)
	h.waiters = map[*waiter]struct{}{}
}

func (h *hub) emit(ev Event) {
	h.mu.Lock()
	for w := range h.waiters {
		if ev.Domain == "" || w.domain == ev.Domain {
			select {
			case w.ch <- struct{}{}:
			default:
			}
		}
	}
	switch {
	case len(h.queue) < maxQueued:
		h.queue = append(h.queue, ev)
	case h.queue[len(h.queue)-1].Kind != EventResync:
		// Dropped: make sure an EventResync follows the gap.
		h.queue = append(h.queue, Event{Kind: EventResync, Detail: "events dropped: the Events channel was not read", At: ev.At})
	}
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// pump moves queued events to the channel until done, then closes it.
func (h *hub) pump(done <-chan struct{}) {
	defer close(h.out)
	for {
		h.mu.Lock()
		if len(h.queue) == 0 {
			h.mu.Unlock()
			select {
			case <-h.wake:
				continue
			case <-done:
				return
			}
		}
		ev := h.queue[0]
		h.mu.Unlock()
		select {
		case h.out <- ev:
		case <-done:
			return
		}
		h.mu.Lock()
		h.queue[0] = Event{}
		h.queue = h.queue[1:]
		if len(h.queue) == 0 {
			h.queue = nil // let the backing array go
		}
		h.mu.Unlock()
	}
}

func (h *hub) watch(domain string) *waiter {
	w := &waiter{domain: domain, ch: make(chan struct{}, 1)}
	h.mu.Lock()
	h.waiters[w] = struct{}{}
	h.mu.Unlock()
	return w
}

func (h *hub) unwatch(w *waiter) {
	h.mu.Lock()
	delete(h.waiters, w)
	h.mu.Unlock()
}
