package bench

import (
	"os"
	"testing"
	"time"
)

func TestParseKBField(t *testing.T) {
	status := []byte("Name:\ttermhost\nVmPeak:\t  900 kB\nVmRSS:\t   12345 kB\nThreads:\t7\n")
	tests := []struct {
		name    string
		data    []byte
		field   string
		want    int64
		wantErr bool
	}{
		{"rss", status, "VmRSS:", 12345 << 10, false},
		{"pss rollup", []byte("00400000-7ffd [rollup]\nRss:  100 kB\nPss:   64 kB\nPss_Anon: 60 kB\n"), "Pss:", 64 << 10, false},
		{"missing", status, "Pss:", 0, true},
		{"garbage number", []byte("VmRSS: lots kB\n"), "VmRSS:", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseKBField(tt.data, tt.field)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("parseKBField(%q) = %d, %v; want %d, err %v", tt.field, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    time.Duration
		wantErr bool
	}{
		{"plain", "42 (termhost) S 1 42 42 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 100 1000 200", 3 * time.Second, false},
		{"name with spaces and parens", "42 (a b) c)) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 1 1", 100 * time.Millisecond, false},
		{"truncated", "42 (x) S 1 2 3", 0, true},
		{"no name", "garbage", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tt.line))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("parseStatCPU = %v, %v; want %v, err %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestReadOwnProcess(t *testing.T) {
	m, err := ReadMem(os.Getpid())
	if err != nil {
		t.Skipf("no procfs here: %v", err)
	}
	if m.RSS <= 0 || m.PSS <= 0 {
		t.Fatalf("own memory %+v", m)
	}
	if _, err := ReadCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
}

func TestParseGCLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		want GCStat
		ok   bool
	}{
		{"go 1.26 line", "gc 12 @3.402s 1%: 0.021+1.2+0.003 ms clock, 0.04+0.3/1.1/0+0.007 ms cpu, 40->41->20 MB, 42 MB goal, 0 MB stacks, 0 MB globals, 2 P", GCStat{Num: 12, LiveMB: 20, GoalMB: 42}, true},
		{"forced", "gc 3 @120.1s 0%: 0.01+0.2+0.01 ms clock, 0.02+0/0.1/0+0.02 ms cpu, 4->4->1 MB, 8 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)", GCStat{Num: 3, LiveMB: 1, GoalMB: 8}, true},
		{"slog line", `time=2026-11-26T10:00:00Z level=INFO msg="gc ok"`, GCStat{}, false},
		{"scavenger line", "scvg: 1 MB released", GCStat{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseGCLine(tt.line)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("parseGCLine = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestGCTraceAcrossWrites(t *testing.T) {
	var g GCTrace
	g.Write([]byte("level=INFO msg=x\ngc 1 @0.1s 0%: 0+0+0 ms clock, 0+0/0/0+0 ms cpu, 4->4->"))
	if g.Last().Num != 0 {
		t.Fatalf("partial line parsed: %+v", g.Last())
	}
	g.Write([]byte("3 MB, 8 MB goal, 0 MB stacks, 0 MB globals, 2 P\n"))
	if got := g.Last(); got != (GCStat{Num: 1, LiveMB: 3, GoalMB: 8}) {
		t.Fatalf("Last = %+v", got)
	}
}

func TestParseSystemBusy(t *testing.T) {
	got, err := parseSystemBusy([]byte("cpu  100 5 50 9999 7 3 2 1 0 0\ncpu0 1 2 3\n"))
	if err != nil || got != 161*clockTick {
		t.Fatalf("parseSystemBusy = %v, %v; want %v", got, err, 161*clockTick)
	}
	if _, err := parseSystemBusy([]byte("intr 1 2 3\n")); err == nil {
		t.Fatal("garbage accepted")
	}
}
