package lab

import (
	"strings"
	"testing"
)

func TestNSInit(t *testing.T) {
	if !nsInit([]byte("Name:\tsystemd\nNSpid:\t4242\t1\n")) {
		t.Error("PID 1 of a nested namespace not recognised")
	}
	for _, s := range []string{"NSpid:\t1\n", "NSpid:\t4242\t17\n", "Name:\tx\n"} {
		if nsInit([]byte(s)) {
			t.Errorf("%q taken for a container's init", strings.TrimSpace(s))
		}
	}
}

func TestPPid(t *testing.T) {
	if got := ppid([]byte("Name:\tsystemd\nPPid:\t4241\nNSpid:\t4242\t1\n")); got != 4241 {
		t.Errorf("ppid = %d, want 4241", got)
	}
}
