package virt

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/digitalocean/go-libvirt"

	"github.com/vmnode/vmnode/runtime/virt/domain"
)

const (
	// progressEvery is how often Migrate polls the job's statistics for
	// MigrateOptions.Progress.
	progressEvery = 200 * time.Millisecond
	// abortRetry is how often Migrate repeats the abort after its context
	// ended: libvirt refuses it ("no job is active") until the migration
	// job has started on the source.
	abortRetry = 100 * time.Millisecond
	// abortTimeout bounds how long Migrate waits, after its context ended,
	// for libvirt to end an aborted migration.
	abortTimeout = 30 * time.Second
)

// MigrateOptions say where and how Migrate moves a domain.
type MigrateOptions struct {
	// DestURI is the target libvirtd as the source libvirtd reaches it,
	// e.g. "qemu+tcp://10.0.0.2/system": the migration is peer-to-peer,
	// so the source daemon connects to it, from the source host's network,
	// with the source daemon's credentials.
	DestURI string
	// Live migrates a running domain while it runs (a short pause at the
	// end). When false, the migration is offline: the domain must be shut
	// off, and only its definition moves (defined on the target,
	// undefined here).
	Live bool
	// Bandwidth caps the migration's memory transfer in MiB/s; 0 leaves it
	// to libvirt (unlimited by default).
	Bandwidth uint64
	// Meta, if set, is the metadata the domain gets on the target, in the
	// same step as the migration (the destination and persistent XML): the
	// new owner's record is in place the moment the domain runs there.
	Meta *domain.Meta
	// KeepSource keeps the (shut-off) definition here: an HA VM's old
	// active host becomes its passive one. Without it the definition here
	// is removed.
	KeepSource bool
	// VNCListen, with Meta, moves the VNC console to this address of the
	// target (the source's address cannot be bound there).
	VNCListen string
	// Progress, if set, is called about every 200 ms while a migration job
	// runs, one call at a time on a goroutine of Migrate's, and never after
	// Migrate has returned. It must not block.
	Progress func(Progress)
}

// Progress is a running migration job as libvirt reports it
// (virDomainGetJobStats). Fields libvirt does not report are zero.
type Progress struct {
	// DataTotal, DataProcessed and DataRemaining count bytes: memory
	// (and, with storage migration, disks) to transfer, transferred, and
	// left. Total and remaining grow while the guest dirties memory. All
	// three are zero while libvirt prepares the target (connects to it,
	// starts the QEMU that receives the guest).
	DataTotal, DataProcessed, DataRemaining uint64
	// MemBps is the memory transfer rate in bytes per second.
	MemBps uint64
	// Downtime is the pause expected at the end of a live migration, when
	// libvirt reports one: QEMU's estimate, which is its downtime limit
	// (300 ms by default) until it has measured the transfer rate.
	Downtime time.Duration
	// Elapsed is the time since the job started.
	Elapsed time.Duration
}

// Migrate moves the domain name to the libvirtd at o.DestURI, peer to peer
// (VIR_MIGRATE_PEER2PEER: this Conn's libvirtd drives the whole
// migration), and leaves it persistent there and undefined here
// (PERSIST_DEST | UNDEFINE_SOURCE). Live (VIR_MIGRATE_LIVE) needs a running
// domain (ErrNotRunning otherwise); offline (VIR_MIGRATE_OFFLINE) needs a
// shut-off one (ErrAlreadyRunning otherwise: moving only the definition of
// a running domain would leave it running here and startable there).
//
// Storage is not copied: the domain's disks must be at the same paths on
// the target, on shared storage or as identical copies made beforehand.
// libvirt refuses a live migration it considers unsafe for the disks'
// cache mode.
//
// When ctx ends, Migrate aborts the migration job (virDomainAbortJob,
// repeated until libvirt takes it) so the domain keeps running here, and
// returns an error that matches ctx.Err() and, when libvirt reported the
// abort, the *Error it returned. If the migration got past the point of no
// return before the abort took effect, it completes and Migrate returns nil:
// the domain has moved. If libvirt does not end the migration within 30 s
// of the abort, Migrate returns, saying so; the migration may still
// complete.
//
// A failed migration comes back as "migrate NAME to URI: <libvirt's
// message>", with the domain still running here. If the connection to
// libvirtd is lost during a migration, libvirtd may still finish it; Get
// on both hosts tells where the domain is.
func (c *Conn) Migrate(ctx context.Context, name string, o MigrateOptions) error {
	fail := func(err error) error { return fmt.Errorf("migrate %s to %s: %w", name, o.DestURI, err) }
	if o.DestURI == "" {
		return fmt.Errorf("migrate %s: no destination URI", name)
	}

	// Look the domain up and check that its state suits the kind of
	// migration. A domain started or stopped after this check makes
	// libvirt refuse a live migration, but not an offline one: callers
	// that migrate offline must keep the domain off meanwhile.
	var dom libvirt.Domain
	err := c.do(ctx, func(l *libvirt.Libvirt) error {
		d, err := l.DomainLookupByName(name)
		if err != nil {
			return err
		}
		st, _, err := l.DomainGetState(d, 0)
		if err != nil {
			return err
		}
		active := states[libvirt.DomainState(st)].Active()
		switch {
		case o.Live && !active:
			return ErrNotRunning
		case !o.Live && active:
			return fmt.Errorf("%w (offline migration moves only the definition: shut it down first, or migrate live)", ErrAlreadyRunning)
		}
		dom = d
		return nil
	})
	if err != nil {
		return fail(err)
	}
	l, err := c.client()
	if err != nil {
		return fail(err)
	}

	flags := libvirt.MigratePeer2peer | libvirt.MigratePersistDest
	if !o.KeepSource {
		flags |= libvirt.MigrateUndefineSource
	}
	if o.Live {
		flags |= libvirt.MigrateLive
	} else {
		flags |= libvirt.MigrateOffline
	}
	var params []libvirt.TypedParam
	if o.Bandwidth > 0 {
		params = append(params, libvirt.TypedParam{
			Field: libvirt.MigrateParamBandwidth,
			Value: *libvirt.NewTypedParamValueUllong(o.Bandwidth),
		})
	}
	if o.Meta != nil {
		xp, err := destXML(l, dom, *o.Meta, o.VNCListen, o.Live)
		if err != nil {
			return fail(c.translate(l, err))
		}
		params = append(params, xp...)
	}

	done := make(chan error, 1)
	go func() {
		// The destination URI goes in dconnuri; no cookie: the source
		// daemon runs begin, prepare, perform, finish and confirm itself.
		_, err := l.DomainMigratePerform3Params(dom, libvirt.OptString{o.DestURI}, params, nil, flags)
		done <- err
	}()

	if o.Progress != nil {
		p := &poller{l: l, dom: dom, report: o.Progress, stop: make(chan struct{}), began: time.Now()}
		go p.run()
		defer p.close()
	}

	select {
	case err := <-done:
		if err != nil {
			return fail(c.translate(l, err))
		}
		return nil
	case <-ctx.Done():
	}

	// Cancelled: abort until libvirt takes it or the migration ends. The
	// abort runs on its own goroutine: a hung libvirtd must not hold
	// Migrate past abortTimeout.
	stopAbort := make(chan struct{})
	defer close(stopAbort)
	go func() {
		for {
			err := l.DomainAbortJob(dom)
			if err == nil || libvirt.IsNotFound(err) || !l.IsConnected() {
				return // aborted, moved already, or nobody to ask
			}
			t := time.NewTimer(abortRetry)
			select {
			case <-stopAbort:
				t.Stop()
				return
			case <-t.C:
			}
		}
	}()
	t := time.NewTimer(abortTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		if err == nil {
			return nil // too late to abort: it has moved
		}
		err = c.translate(l, err)
		var le *Error
		if errors.As(err, &le) {
			return fail(fmt.Errorf("%w; the domain stays on the source (libvirt: %w)", ctx.Err(), le))
		}
		return fail(fmt.Errorf("%w; libvirtd did not confirm the abort, the migration may still complete (%w)", ctx.Err(), err))
	case <-t.C:
		return fail(fmt.Errorf("%w, but libvirt has not ended the migration %s after the abort: it may still complete", ctx.Err(), abortTimeout))
	}
}

// destXML is the domain's XML with m as its metadata, for the target: the
// running definition (live) and the persistent one.
func destXML(l *libvirt.Libvirt, dom libvirt.Domain, m domain.Meta, vnc string, live bool) ([]libvirt.TypedParam, error) {
	var out []libvirt.TypedParam
	add := func(field string, flags libvirt.DomainXMLFlags) error {
		x, err := l.DomainGetXMLDesc(dom, flags|libvirt.DomainXMLSecure|libvirt.DomainXMLMigratable)
		if err != nil {
			return err
		}
		b, err := domain.WithMeta([]byte(x), m)
		if err != nil {
			return err
		}
		if vnc != "" {
			b = domain.WithVNCListen(b, vnc)
		}
		out = append(out, libvirt.TypedParam{Field: field, Value: *libvirt.NewTypedParamValueString(string(b))})
		return nil
	}
	if live {
		if err := add(libvirt.MigrateParamDestXML, 0); err != nil {
			return nil, err
		}
		return out, add(libvirt.MigrateParamPersistXML, libvirt.DomainXMLInactive)
	}
	return out, add(libvirt.MigrateParamDestXML, libvirt.DomainXMLInactive)
}

// poller reports a migration job's progress until closed.
type poller struct {
	l      *libvirt.Libvirt
	dom    libvirt.Domain
	report func(Progress)
	began  time.Time
	stop   chan struct{}

	mu     sync.Mutex // held while report runs
	closed bool
}

// close stops the reports; it returns once no report is running, without
// waiting for a libvirt call in flight.
func (p *poller) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		close(p.stop)
	}
}

func (p *poller) run() {
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	jobInfo := false // fall back to virDomainGetJobInfo
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		var (
			pr     Progress
			active bool
		)
		if !jobInfo {
			typ, params, err := p.l.DomainGetJobStats(p.dom, 0)
			if code, ok := libvirtCode(err); ok && code == libvirt.ErrNoSupport {
				jobInfo = true
			} else if err == nil {
				pr, active = progressFromStats(typ, params)
			}
		}
		if jobInfo {
			typ, elapsed, _, total, processed, remaining, _, _, _, _, _, _, err := p.l.DomainGetJobInfo(p.dom)
			if err == nil && isActiveJob(typ) {
				pr = Progress{DataTotal: total, DataProcessed: processed, DataRemaining: remaining,
					Elapsed: time.Duration(elapsed) * time.Millisecond}
				active = true
			}
		}
		if !active {
			continue // not started yet, or finished
		}
		if pr.Elapsed == 0 {
			pr.Elapsed = time.Since(p.began)
		}
		p.mu.Lock()
		if !p.closed {
			p.report(pr)
		}
		p.mu.Unlock()
	}
}

// isActiveJob: a job of this virDomainJobType is running.
func isActiveJob(typ int32) bool {
	t := libvirt.DomainJobType(typ)
	return t == libvirt.DomainJobBounded || t == libvirt.DomainJobUnbounded
}

// progressFromStats reads virDomainGetJobStats' answer; ok is false when
// no job is running.
func progressFromStats(typ int32, params []libvirt.TypedParam) (p Progress, ok bool) {
	if !isActiveJob(typ) {
		return Progress{}, false
	}
	for _, tp := range params {
		v, isU := tp.Value.I.(uint64)
		if !isU {
			continue
		}
		switch tp.Field {
		case libvirt.DomainJobDataTotal:
			p.DataTotal = v
		case libvirt.DomainJobDataProcessed:
			p.DataProcessed = v
		case libvirt.DomainJobDataRemaining:
			p.DataRemaining = v
		case libvirt.DomainJobMemoryBps:
			p.MemBps = v
		case libvirt.DomainJobDowntime:
			p.Downtime = time.Duration(v) * time.Millisecond
		case libvirt.DomainJobTimeElapsed:
			p.Elapsed = time.Duration(v) * time.Millisecond
		}
	}
	return p, true
}
