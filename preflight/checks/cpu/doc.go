// Package cpu owns the processor checks: cpu.virtualization, cpu.kvm-device,
// cpu.arch, cpu.cores and cpu.frequency, and the /proc/cpuinfo parser they share.
package cpu
