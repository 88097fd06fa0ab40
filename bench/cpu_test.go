package bench

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuSample is what the process and the whole machine had spent on the CPUs at one moment, so
// that a benchmark can say whether it had the cores to itself. On a shared machine a low rate
// with a low share of the cores means the machine was busy elsewhere, not that Latch is slow.
type cpuSample struct {
	at          time.Time
	self        time.Duration // user+system time of this process and its descendants
	busy, total uint64        // machine-wide jiffies from /proc/stat; zero when unreadable
}

func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	s.self += descendantsCPU()
	s.busy, s.total = machineJiffies()
	return s
}

// machineJiffies reads the first line of /proc/stat: time all CPUs spent busy, and in total.
func machineJiffies() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0
	}
	var idle uint64
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0
		}
		if i >= 8 { // guest time is already counted in user time
			break
		}
		total += n
		if i == 3 || i == 4 { // idle, iowait
			idle += n
		}
	}
	return total - idle, total
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times; 100 on every Linux port Go runs on
// except alpha and ia64.
const clockTicks = 100

// descendantsCPU is the user+system time of the running processes this one started, directly
// or not: the PostgreSQL server and its backends in the PostgreSQL benchmark. Processes that
// already exited are not counted.
func descendantsCPU() time.Duration {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	parent := map[int]int{}
	ticks := map[int]uint64{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The command name is in parentheses and may hold spaces; fields follow the last ")".
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		utime, _ := strconv.ParseUint(f[11], 10, 64)
		stime, _ := strconv.ParseUint(f[12], 10, 64)
		parent[pid], ticks[pid] = ppid, utime+stime
	}
	self := os.Getpid()
	var sum uint64
	for pid, t := range ticks {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == self {
				sum += t
				break
			}
		}
	}
	return time.Duration(sum) * time.Second / clockTicks
}

// reportCPU reports, between start and now: the share of all the machine's cores this process
// and its descendants used ("cpu-%", the PostgreSQL server included), the share the machine as
// a whole was busy ("machine-cpu-%", the difference being other processes), and b.N per
// second of that CPU time ("<what>/cpu-s"). On a machine shared with other work the last is
// the steadier figure: it does not fall because the cores were busy elsewhere.
func reportCPU(b *testing.B, start cpuSample, what string) {
	end := sampleCPU()
	wall := end.at.Sub(start.at)
	used := end.self - start.self
	if wall <= 0 || used <= 0 {
		return
	}
	cores := float64(runtime.NumCPU())
	b.ReportMetric(100*float64(used)/(float64(wall)*cores), "cpu-%")
	b.ReportMetric(float64(b.N)/used.Seconds(), what+"/cpu-s")
	if dt := end.total - start.total; start.total > 0 && dt > 0 {
		b.ReportMetric(100*float64(end.busy-start.busy)/float64(dt), "machine-cpu-%")
	}
}
