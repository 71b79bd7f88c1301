// Package timesync checks that the node keeps time: a time service installed
// and enabled, and the clock's offset against NTP within the profile's limits.
package timesync
