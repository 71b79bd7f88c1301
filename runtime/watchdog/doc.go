// Package watchdog drives the watchdog that fences a hung vmnode agent.
//
// The agent pets the watchdog after each HA decision, but only while it may
// run HA VMs: while it holds its lease or runs none (runtime/ha
// State.PetWatchdog). An agent that hangs stops petting, and the watchdog
// resets its host, stopping its QEMUs, at most the watchdog timeout after its
// lease ended. That is what lets another host start the VMs safely.
//
// The device is a Linux watchdog (/dev/watchdog), which Open arms and whose
// timeout it sets, or, in labs and tests, a FIFO read by a stand-in that
// follows the same protocol (tests/lab StartWatchdog): any byte but 'V' pets
// it, 'V' before closing disarms it ("magic close").
package watchdog
