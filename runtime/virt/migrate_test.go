package virt

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"

	"github.com/vmnode/vmnode/runtime/virt/domain"
	"github.com/vmnode/vmnode/tests/lab"
)

// migrateDomainXML is a diskless TCG guest of mib MiB: SeaBIOS finds
// nothing to boot and idles, so its memory is almost all zero pages and
// a migration moves about 1 MB per 256 MiB of guest.
func migrateDomainXML(name string, mib int) []byte {
	return fmt.Appendf(nil, `<domain type='qemu'>
  <name>%s</name>
  <memory unit='MiB'>%d</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <serial type='pty'/>
    <memballoon model='none'/>
  </devices>
</domain>`, name, mib)
}

// progressLog records Progress reports and counts those that come after
// Migrate returned (there must be none).
type progressLog struct {
	mu       sync.Mutex
	reports  []Progress
	returned bool
	late     *atomic.Int32
	onReport func(Progress) // optional, called after recording
}

func (r *progressLog) report(p Progress) {
	r.mu.Lock()
	if r.returned {
		r.late.Add(1)
	}
	r.reports = append(r.reports, p)
	f := r.onReport
	r.mu.Unlock()
	if f != nil {
		f(p)
	}
}

// done marks Migrate as returned and gives the reports.
func (r *progressLog) done() []Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.returned = true
	return append([]Progress(nil), r.reports...)
}

// requireDomain fails unless name is on c in state want, persistent.
func requireDomain(t *testing.T, c *Conn, host, name string, want State) Domain {
	t.Helper()
	d, err := c.Get(testCtx(t), name)
	if err != nil {
		t.Fatalf("on %s: %v", host, err)
	}
	if d.State != want || !d.Persistent {
		t.Fatalf("on %s: %s is %s/%s persistent=%v, want %s and persistent", host, name, d.State, d.Reason, d.Persistent, want)
	}
	return d
}

// refuteDomain fails if name is on c at all: not defined, not running,
// not even as a transient leftover.
func refuteDomain(t *testing.T, c *Conn, host, name string) {
	t.Helper()
	d, err := c.Get(testCtx(t), name)
	switch {
	case err == nil:
		t.Fatalf("on %s: %s is there (%s/%s persistent=%v), want it gone", host, name, d.State, d.Reason, d.Persistent)
	case !errors.Is(err, ErrNotFound):
		t.Fatalf("on %s: %v", host, err)
	}
}

// TestMigrate moves real TCG guests between two lab hosts, each with its
// own libvirtd, over the lab network: live with progress reports,
// cancelled (the guest stays where it was), to a host without libvirtd,
// refused for the wrong state, and offline. h3 has no libvirtd: the
// unreachable target. Every destination URI is a lab address, and the
// source libvirtd, which makes the peer-to-peer connection, runs in its
// host's namespace: no packet leaves the lab.
func TestMigrate(t *testing.T) {
	n := lab.NewNet(t, 3)
	h1, h2, h3 := n.Host(0), n.Host(1), n.Host(2)
	lv1, lv2 := h1.StartLibvirtd(t), h2.StartLibvirtd(t)
	c1 := dial(t, qemuURI, lv1.Socket, nil)
	c2 := dial(t, qemuURI, lv2.Socket, nil)
	ctx := testCtx(t)
	var late atomic.Int32
	t.Cleanup(func() {
		if n := late.Load(); n > 0 {
			t.Errorf("Progress called %d times after Migrate returned", n)
		}
	})

	// vm (256 MiB) travels h1 -> h2, survives cancelled migrations back,
	// and returns to h1.
	vm := testName("mig")
	must(t, c1.Define(ctx, migrateDomainXML(vm, 256)))
	must(t, c1.Start(ctx, vm))

	t.Run("live", func(t *testing.T) {
		// 1 MiB/s makes the memory copy last about a second, so that the
		// 200 ms polls see it.
		rec := &progressLog{late: &late}
		start := time.Now()
		err := c1.Migrate(ctx, vm, MigrateOptions{DestURI: lv2.URI, Live: true, Bandwidth: 1, Progress: rec.report})
		took := time.Since(start)
		reports := rec.done()
		if err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		d := requireDomain(t, c2, "h2", vm, StateRunning)
		if d.Reason != "migrated" {
			t.Errorf("on h2: reason %q, want migrated", d.Reason)
		}
		refuteDomain(t, c1, "h1", vm)

		var copying []Progress
		for i, p := range reports {
			if i > 0 && p.Elapsed < reports[i-1].Elapsed {
				t.Errorf("Elapsed went back: %v then %v", reports[i-1].Elapsed, p.Elapsed)
			}
			if p.DataTotal > 0 {
				copying = append(copying, p)
			}
		}
		if len(copying) == 0 {
			t.Fatalf("no Progress with DataTotal > 0 in %d reports: %+v", len(reports), reports)
		}
		last := copying[len(copying)-1]
		if last.DataTotal < 256<<20 || last.DataProcessed == 0 || last.MemBps == 0 {
			t.Errorf("last report %+v: want DataTotal >= 256 MiB, data processed, a rate", last)
		}
		// The rate is capped at 1 MiB/s; allow for libvirt's averaging.
		if last.MemBps > 4<<20 {
			t.Errorf("MemBps = %d with Bandwidth 1 MiB/s", last.MemBps)
		}
		t.Logf("live migration h1 -> h2, 256 MiB guest at 1 MiB/s: %s, %d reports (%d while copying); last %+v",
			took.Round(time.Millisecond), len(reports), len(copying), last)
	})

	t.Run("cancel", func(t *testing.T) {
		if _, err := c2.Get(ctx, vm); err != nil {
			t.Skipf("%s is not on h2 (live failed?): %v", vm, err)
		}
		for _, tc := range []struct {
			name string
			// cancelAt says, given a report, when to cancel; nil: cancel
			// before calling Migrate.
			cancelAt func(Progress) bool
		}{
			{"before the call", nil},
			{"while preparing", func(Progress) bool { return true }},
			{"while copying memory", func(p Progress) bool { return p.DataProcessed > 0 }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				mctx, cancel := context.WithCancel(ctx)
				defer cancel()
				var cancelled atomic.Int64 // UnixNano
				rec := &progressLog{late: &late}
				if tc.cancelAt == nil {
					cancel()
				} else {
					rec.onReport = func(p Progress) {
						if cancelled.Load() == 0 && tc.cancelAt(p) {
							cancelled.Store(time.Now().UnixNano())
							cancel()
						}
					}
				}
				start := time.Now()
				err := c2.Migrate(mctx, vm, MigrateOptions{DestURI: lv1.URI, Live: true, Bandwidth: 1, Progress: rec.report})
				end := time.Now()
				reports := rec.done()
				if err == nil {
					t.Fatalf("Migrate succeeded despite the cancel (reports %+v)", reports)
				}
				if !errors.Is(err, context.Canceled) {
					t.Errorf("error %v does not match context.Canceled", err)
				}
				if !strings.HasPrefix(err.Error(), "migrate "+vm+" to "+lv1.URI+": ") {
					t.Errorf("error %q does not say what was migrated where", err)
				}
				requireDomain(t, c2, "h2", vm, StateRunning)
				refuteDomain(t, c1, "h1", vm)
				if at := cancelled.Load(); at != 0 {
					t.Logf("cancelled %s after the start, Migrate returned %s later: %v",
						time.Unix(0, at).Sub(start).Round(time.Millisecond), end.Sub(time.Unix(0, at)).Round(time.Millisecond), err)
				} else if tc.cancelAt != nil {
					t.Fatalf("never cancelled: reports %+v", reports)
				} else {
					t.Logf("Migrate returned in %s: %v", end.Sub(start).Round(time.Millisecond), err)
				}
			})
		}
		// libvirt is left with no stuck job: the next migration works.
		start := time.Now()
		must(t, c2.Migrate(ctx, vm, MigrateOptions{DestURI: lv1.URI, Live: true}))
		t.Logf("live migration h2 -> h1 after the cancels, 256 MiB guest, no bandwidth cap: %s", time.Since(start).Round(time.Millisecond))
		requireDomain(t, c1, "h1", vm, StateRunning)
		refuteDomain(t, c2, "h2", vm)
	})

	t.Run("unreachable", func(t *testing.T) {
		if _, err := c1.Get(ctx, vm); err != nil {
			t.Skipf("%s is not on h1: %v", vm, err)
		}
		// h3 is a lab host with nothing listening: connection refused.
		dest := "qemu+tcp://" + h3.Addr.String() + "/system"
		start := time.Now()
		err := c1.Migrate(ctx, vm, MigrateOptions{DestURI: dest, Live: true})
		took := time.Since(start)
		if err == nil {
			t.Fatalf("Migrate to %s (no libvirtd) succeeded", dest)
		}
		var le *Error
		if !errors.As(err, &le) {
			t.Errorf("error %v carries no libvirt error", err)
		}
		if !strings.HasPrefix(err.Error(), "migrate "+vm+" to "+dest+": ") || !strings.Contains(err.Error(), h3.Addr.String()) {
			t.Errorf("error %q does not say what was migrated where", err)
		}
		if took > 5*time.Second {
			t.Errorf("took %s to fail, want fast", took)
		}
		t.Logf("failed in %s: %v", took.Round(time.Millisecond), err)
		requireDomain(t, c1, "h1", vm, StateRunning)
	})

	// off is defined on h1 and never started there.
	off := testName("off")
	must(t, c1.Define(ctx, migrateDomainXML(off, 64)))

	t.Run("refused", func(t *testing.T) {
		for _, tc := range []struct {
			name, domain string
			c            *Conn
			o            MigrateOptions
			want         error
		}{
			{"offline while running", vm, c1, MigrateOptions{DestURI: lv2.URI}, ErrAlreadyRunning},
			{"live while shut off", off, c1, MigrateOptions{DestURI: lv2.URI, Live: true}, ErrNotRunning},
			{"no such domain", "vt-none-" + runID, c1, MigrateOptions{DestURI: lv2.URI, Live: true}, ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.c.Migrate(ctx, tc.domain, tc.o)
				if !errors.Is(err, tc.want) {
					t.Fatalf("Migrate = %v, want %v", err, tc.want)
				}
				t.Logf("%v", err)
			})
		}
		if err := c1.Migrate(ctx, vm, MigrateOptions{Live: true}); err == nil || !strings.Contains(err.Error(), "no destination URI") {
			t.Errorf("Migrate without DestURI = %v", err)
		}
		// Nothing moved.
		requireDomain(t, c1, "h1", vm, StateRunning)
		requireDomain(t, c1, "h1", off, StateShutoff)
		refuteDomain(t, c2, "h2", vm)
		refuteDomain(t, c2, "h2", off)
	})

	t.Run("offline", func(t *testing.T) {
		start := time.Now()
		must(t, c1.Migrate(ctx, off, MigrateOptions{DestURI: lv2.URI}))
		t.Logf("offline migration h1 -> h2: %s", time.Since(start).Round(time.Millisecond))
		requireDomain(t, c2, "h2", off, StateShutoff)
		refuteDomain(t, c1, "h1", off)

		// The definition works there: it starts, and a small guest
		// migrates back live without a bandwidth cap.
		must(t, c2.Start(ctx, off))
		start = time.Now()
		must(t, c2.Migrate(ctx, off, MigrateOptions{DestURI: lv1.URI, Live: true}))
		t.Logf("live migration h2 -> h1, 64 MiB guest, no bandwidth cap: %s", time.Since(start).Round(time.Millisecond))
		requireDomain(t, c1, "h1", off, StateRunning)
		refuteDomain(t, c2, "h2", off)
	})

	// An HA switchover: the record travels with the domain, and the old
	// active keeps its definition (shut off) as the new passive.
	t.Run("record", func(t *testing.T) {
		ha := testName("mig-ha")
		meta := domain.Meta{Owner: "h1", Epoch: 3, HA: domain.HA{Enabled: true, Passive: "h2"}, Desired: "running"}
		el, err := domain.MetaXML(meta)
		must(t, err)
		x := strings.Replace(string(migrateDomainXML(ha, 64)), "<vcpu>", "<metadata>"+el+"</metadata>\n  <vcpu>", 1)
		must(t, c1.Define(ctx, []byte(x)))
		must(t, c1.Start(ctx, ha))
		model, err := c1.CPUModel(ctx, ha)
		must(t, err)
		models, err := c2.CPUModels(ctx, "qemu")
		must(t, err)
		if model == "" || !slices.Contains(models, model) {
			t.Errorf("the guest's CPU model %q is not among h2's usable models %v", model, models)
		}
		next := meta
		next.Owner, next.HA.Passive, next.Epoch = "h2", "h1", 4
		must(t, c1.Migrate(ctx, ha, MigrateOptions{DestURI: lv2.URI, Live: true, Meta: &next, KeepSource: true}))
		d := requireDomain(t, c2, "h2", ha, StateRunning)
		for _, flags := range []libvirt.DomainXMLFlags{0, libvirt.DomainXMLInactive} {
			var got string
			must(t, c2.do(ctx, func(l *libvirt.Libvirt) error {
				dom, err := l.DomainLookupByName(ha)
				if err == nil {
					got, err = l.DomainGetXMLDesc(dom, flags)
				}
				return err
			}))
			p, err := domain.Parse([]byte(got))
			must(t, err)
			if p.Spec.Meta.Owner != "h2" || p.Spec.Meta.Epoch != 4 || p.Spec.Meta.HA.Passive != "h1" {
				t.Errorf("on h2 (xml flags %d): meta %+v, want owner h2 epoch 4 passive h1", flags, p.Spec.Meta)
			}
		}
		old := requireDomain(t, c1, "h1", ha, StateShutoff)
		if old.UUID != d.UUID {
			t.Errorf("uuid %s on h1, %s on h2", old.UUID, d.UUID)
		}
		must(t, c1.SetMeta(ctx, ha, next))
		p, err := domain.Parse([]byte(requireDomain(t, c1, "h1", ha, StateShutoff).XML))
		must(t, err)
		if p.Spec.Meta != next {
			t.Errorf("SetMeta on h1: %+v, want %+v", p.Spec.Meta, next)
		}
		must(t, c2.Destroy(ctx, ha))
	})
}

// TestMigrateProgressFromStats reads job statistics as libvirt 9.0 with
// QEMU 7.2 reported them during the tests above.
func TestMigrateProgressFromStats(t *testing.T) {
	u := func(field string, v uint64) libvirt.TypedParam {
		return libvirt.TypedParam{Field: field, Value: *libvirt.NewTypedParamValueUllong(v)}
	}
	op := libvirt.TypedParam{Field: "operation", Value: *libvirt.NewTypedParamValueInt(5)}
	for _, tc := range []struct {
		name   string
		typ    libvirt.DomainJobType
		params []libvirt.TypedParam
		want   Progress
		ok     bool
	}{
		{"no job", libvirt.DomainJobNone, nil, Progress{}, false},
		{"preparing", libvirt.DomainJobUnbounded, []libvirt.TypedParam{
			op, u("time_elapsed", 201), u("data_total", 0), u("data_processed", 0), u("data_remaining", 0),
			u("memory_total", 0), u("disk_total", 0),
		}, Progress{Elapsed: 201 * time.Millisecond}, true},
		{"copying", libvirt.DomainJobUnbounded, []libvirt.TypedParam{
			op, u("time_elapsed", 411), u("downtime", 300), u("setup_time", 0),
			u("data_total", 67641344), u("data_processed", 387295), u("data_remaining", 6926336),
			u("memory_total", 67641344), u("memory_processed", 387295), u("memory_remaining", 6926336),
			u("memory_constant", 14760), u("memory_normal", 62), u("memory_bps", 1089550),
			u("memory_page_size", 4096), u("disk_total", 0),
		}, Progress{DataTotal: 67641344, DataProcessed: 387295, DataRemaining: 6926336, MemBps: 1089550,
			Downtime: 300 * time.Millisecond, Elapsed: 411 * time.Millisecond}, true},
		{"completed", libvirt.DomainJobCompleted, []libvirt.TypedParam{u("data_total", 1)}, Progress{}, false},
		{"failed", libvirt.DomainJobFailed, nil, Progress{}, false},
		{"wrong types ignored", libvirt.DomainJobBounded, []libvirt.TypedParam{
			{Field: "data_total", Value: *libvirt.NewTypedParamValueString("12")}, u("data_processed", 7),
		}, Progress{DataProcessed: 7}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := progressFromStats(int32(tc.typ), tc.params)
			if got != tc.want || ok != tc.ok {
				t.Errorf("progressFromStats = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
