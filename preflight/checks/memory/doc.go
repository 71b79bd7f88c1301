// Package memory owns the memory.total check: installed RAM, counted from the
// online memory blocks in sysfs (as lsmem does) or estimated from /proc/meminfo.
package memory
