// Package ha decides, for one host, what to do about its High Availability
// VMs: Decide(state, now) returns actions (start, restart, destroy, stop,
// migrate, adopt a newer record), each with a reason. It is pure: the agent
// builds the State from gossip, libvirt and its peers' reports, calls Decide
// on every change and on a ticker, and executes the actions. It imports only
// the standard library.
//
// # Invariant
//
// An HA VM never runs on two hosts at once. Gossip gives membership, not
// consensus, so safety comes from a lease and from majorities that
// intersect, with timers checked by Timers.Validate.
//
// # Vocabulary
//
// Every host that defines an HA VM keeps its Record: epoch, active host,
// passive host, desired state. A failover or switchover writes a new record
// with the next epoch; the newest record (Record.Newer) wins everywhere.
//
// Hosts exchange reports (State.Report) push-pull: a host asks every peer
// for its report, and a peer asked is thereby hearing from the asker.
// Member.LastHeard is the last time anything came from the member (silence
// is judged by it); Member.LastExchange is when the last answered request
// was sent (the lease and contact are judged by it), so a host never counts
// a peer that cannot hear it. A member is in contact if it is alive in
// gossip and its last report answers a request younger than Skew. Every member counts toward the majority, left
// and failed ones included, until an operator removes it.
//
// The lease: a host holds it until FenceTimeout after the last moment it
// had exchanged with a majority of the hosts (itself included), by
// LastExchange.
//
// Silence: a host out of contact is silent if a majority of the hosts (this
// one by its own LastHeard, members in contact by their reports' Heard) have
// heard nothing from it for FailoverDelay. A member's report counts toward
// that majority only if it had heard from this host within FailoverDelay
// when it made it.
//
// # Rules
//
//  1. A host runs HA VMs only under its lease. Once a majority has not been
//     heard for FenceTimeout it destroys them (self-fencing); a moment
//     before, nothing. It pets its watchdog only while it holds the lease or
//     runs no HA VM (State.PetWatchdog), so a hung agent's QEMUs are stopped
//     at most Watchdog after the lease ends.
//  2. Failover: the passive starts the VM with epoch+1 and the roles swapped
//     only if a majority is in contact, the active is failed in gossip (alive
//     but silent is slow, not failed), every host out of contact is silent
//     (the active included: FailoverDelay is measured from the last exchange,
//     not from detection), no host in contact runs the VM, and it is not in
//     maintenance.
//  3. A copy runs only on the active of the newest record known, from any
//     report, stale ones included; a copy older than one running in contact
//     goes too. So a returning old active destroys its copy and adopts the
//     newer record (it becomes the passive), and a host that knows a higher
//     epoch never starts the VM.
//  4. A VM that died on its active is restarted in place (Restart) up to
//     MaxRestarts times. Then the active reports GaveUp for that epoch and
//     never starts it again; the passive, seeing GaveUp from an active in
//     contact, takes over as in rule 2.
//  5. Switchover: the active live-migrates the VM (Migrate, epoch+1, roles
//     swapped) when it is in maintenance, unhealthy, or asked to, and the
//     passive is in contact, healthy, not in maintenance, quorate, and
//     defines the VM.
//  6. Quorum loss stops HA VMs by rule 1. When a majority is in contact again
//     the active of the newest record starts them, under the same conditions
//     as a failover start: every host out of contact silent, no copy running
//     in contact. A record that says stopped keeps the VM down (Stop).
//  7. An active that left (drained gracefully) is a reason to fail over
//     without waiting for gossip to declare it failed, but it still counts
//     as a host and must be silent like any other: it may come back where
//     this host cannot see it.
//  8. Every action is idempotent: once its effect is visible in the state,
//     Decide does not ask for it again.
//
// # Why the rules are safe, and the timers
//
// Say host H starts a VM at time s while host U, out of H's contact, runs
// it. U's QEMU still runs, so U exchanged with a majority within
// FenceTimeout, plus up to one Skew for its Decide tick and the destroy, or
// plus Watchdog if its agent hung. H's silent majority has heard nothing
// from U for FailoverDelay, by reports up to Skew old. Two majorities share
// a host, which would have both exchanged with U lately and not: a
// contradiction once
//
//	FailoverDelay >= FenceTimeout + Watchdog + 2×Skew   (MinFailoverDelay)
//
// Hosts in contact see each other's records and copies, and the newest
// record names a single active, so two hosts in contact do not both start.
// The remaining race is two hosts out of contact with each other that reach
// a majority through the same witness at once: a report the witness made
// before hearing either says it has heard neither for long. Counting a
// witness only if its report shows it heard the host it vouches to closes
// it: by then it has heard the other one too, and says so.
//
// DefaultTimers (Serf LAN, detection about 6 s): FenceTimeout 5 s, Watchdog
// 3 s, Skew 1 s, FailoverDelay 11 s (minimum 10 s): a failover starts within
// Predict() = 12 s. Tuned (fast gossip, detection 0.7 s, 1 s watchdog):
// FenceTimeout 1 s, Skew 0.25 s, FailoverDelay 2.5 s: within 2.75 s.
//
// # What the simulator found in the rules as first written
//
// sim_test.go runs every host's Decide against a ground truth of QEMUs under
// random partitions, link cuts, lost exchanges, kills, agent hangs, leaves
// and crashes, and checks the invariant after every step. The first rules
// (failover when FailoverDelay has passed since the passive last heard from
// the active; start again when quorum returns; a left host drained, so not
// counted and not waited for) ran VMs twice:
//
//   - The fence clock must be the lease, from the last exchange with a
//     majority. Counted from when gossip notices the loss of quorum, the
//     active fences Detection later than the passive's clock assumes, and
//     FailoverDelay would have to exceed FenceTimeout + Detection.
//   - The passive's own silence is not enough. The active is isolated, the
//     passive takes over, then the partition moves: the old active regains a
//     majority with a host that was with the new active a moment ago, and it
//     has not heard from the new active for long, so it restarts its copy
//     while the new active still runs. Silence must be judged by a majority,
//     and rule 6 needs it as much as rule 2 (TestScenarioOldActiveRegainsQuorum).
//   - A left host that is not counted and not waited for can rejoin behind
//     a partition, start its VM, and the hosts that saw it leave start it
//     again with a smaller majority (TestScenarioLeftHostReturnsUnseen).
//   - With one-way hearing, a host that rejoins starts at once, while its
//     peers, not having heard it yet, count it as long silent and start too.
//     Hence push-pull exchanges.
//   - Two hosts that both believe they own a VM, cut off from each other,
//     reach a third at the same moment; its report, made before it heard
//     either, says it has heard neither for long, and both start. Hence the
//     witness condition (TestScenarioSimultaneousReconnect).
//   - An agent that hangs just before it fences keeps its QEMUs for a
//     watchdog timeout; FailoverDelay must include it, and the watchdog must
//     not be petted past the lease (TestScenarioUnsafeTimersRunTwice).
//
// # What the agent must guarantee
//
//   - Members lists every host of the cluster; LastHeard comes from
//     push-pull report exchanges at least twice per Skew; reports older than
//     Skew are not in contact (Decide enforces it from LastHeard).
//   - Decide runs at least every Skew/2, and a Destroy completes within
//     Skew of being due; actions run in order, one VM at a time.
//   - The watchdog is petted after each Decide only if State.PetWatchdog.
//   - A leave first stops or migrates the host's HA VMs.
//   - Every change of a VM's HA settings or desired state writes a new
//     record with the next epoch (Desired belongs in domain.Meta).
//   - Local.DiedAt marks unexpected stops only; Local.Restarts counts the
//     Restart actions since the last Start.
//
// # Liveness limits (safe, but the VM may stay down)
//
//   - After a double partition the old active may have restarted its older
//     copy; when the partitions heal the newer epoch wins and that copy is
//     destroyed, then restarted on the newer record's active.
//   - Without transitive reachability (two hosts that cannot reach each
//     other but reach the others), the hosts involved may wait until it
//     heals: a witness that hears both vouches for neither.
//   - An active in contact with its passive but without a majority holds
//     its VM down until one of them regains it; the passive takes over only
//     from a failed, left or given-up active.
package ha
