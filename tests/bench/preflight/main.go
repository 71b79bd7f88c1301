// Command preflight benchmarks `vmnode preflight --offline` against libvirt's
// `virt-host-validate qemu` on this machine, in one run, alternating the two
// so both see the same conditions. It prints the median wall time and peak
// memory of each and the ratios; it never fails on timing.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

type sample struct {
	wall time.Duration
	rss  int64 // KiB, peak resident set
}

type tool struct {
	name    string
	argv    []string
	samples []sample
	checks  int
}

func main() {
	vmnode := flag.String("vmnode", "bin/vmnode", "vmnode binary")
	peer := flag.String("peer", "virt-host-validate", "peer binary")
	runs := flag.Int("runs", 15, "runs of each, alternating")
	flag.Parse()

	tools := []*tool{
		{name: "vmnode preflight --offline", argv: []string{*vmnode, "preflight", "--offline", "-o", "json"}},
		{name: "virt-host-validate qemu", argv: []string{*peer, "qemu"}},
	}
	for _, t := range tools {
		if _, err := exec.LookPath(t.argv[0]); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s not found (run make deps build): %v\n", t.argv[0], err)
			os.Exit(2)
		}
	}
	for i := 0; i < *runs+1; i++ { // the first round warms caches and is dropped
		for _, t := range tools {
			s, out, err := measure(t.argv)
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: %s: %v\n", t.name, err)
				os.Exit(2)
			}
			if i == 0 {
				t.checks = countChecks(t, out)
				continue
			}
			t.samples = append(t.samples, s)
		}
	}

	fmt.Printf("preflight benchmark: %d alternating runs each, this machine\n\n", *runs)
	fmt.Printf("%-28s %12s %12s %12s %8s\n", "tool", "median wall", "p90 wall", "peak RSS", "checks")
	for _, t := range tools {
		fmt.Printf("%-28s %12s %12s %9.1f MiB %8d\n", t.name, median(t.samples).Round(time.Microsecond*100), p90(t.samples).Round(time.Microsecond*100), float64(maxRSS(t.samples))/1024, t.checks)
	}
	v, p := tools[0], tools[1]
	fmt.Printf("\nratio vmnode/virt-host-validate: wall %.2fx, peak memory %.2fx, checks %.1fx\n",
		float64(median(v.samples))/float64(median(p.samples)),
		float64(maxRSS(v.samples))/float64(maxRSS(p.samples)),
		float64(v.checks)/float64(max(p.checks, 1)))
	fmt.Printf("targets: wall ratio <= 1.00 (%s), vmnode peak RSS < 20 MiB (%s)\n",
		verdict(median(v.samples) <= median(p.samples)), verdict(maxRSS(v.samples) < 20*1024))
}

// measure runs argv once; a non-zero exit is fine (the host may fail checks).
func measure(argv []string) (sample, []byte, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
		return sample{}, nil, err
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var rss int64
	if ru != nil {
		rss = ru.Maxrss
	}
	return sample{wall: wall, rss: rss}, out.Bytes(), nil
}

func countChecks(t *tool, out []byte) int {
	if strings.HasPrefix(t.name, "vmnode") {
		var rep struct {
			Checks []json.RawMessage `json:"checks"`
		}
		if json.Unmarshal(out, &rep) != nil {
			return 0
		}
		return len(rep.Checks)
	}
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, ": Checking ") {
			n++
		}
	}
	return n
}

func walls(s []sample) []time.Duration {
	w := make([]time.Duration, len(s))
	for i := range s {
		w[i] = s[i].wall
	}
	slices.Sort(w)
	return w
}

func median(s []sample) time.Duration { w := walls(s); return w[len(w)/2] }
func p90(s []sample) time.Duration    { w := walls(s); return w[len(w)*9/10] }

func maxRSS(s []sample) int64 {
	var m int64
	for _, x := range s {
		m = max(m, x.rss)
	}
	return m
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}
