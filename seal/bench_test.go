package seal_test

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"termhost/seal"
	"termhost/tui"
	"termhost/tui/apps"
)

// workspace returns a real Snapshot of a workspace: the all-apps layout of
// sessions/testdata/workspace/v1-all-apps.json with notes tabs whose unsaved
// bodies are real prose (distinct pieces of the repository's documentation),
// each bodyKiB long.
func workspace(tb testing.TB, notesTabs, bodyKiB int) []byte {
	tb.Helper()
	var prose []byte
	for _, f := range []string{"../docs/ARCHITECTURE.md", "../BENCHMARKS.md", "../README.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		prose = append(prose, b...)
	}
	if notesTabs*bodyKiB<<10 > len(prose) {
		tb.Fatalf("%d KiB of prose asked, %d KiB at hand", notesTabs*bodyKiB, len(prose)>>10)
	}
	type tab struct {
		App   string `json:"app"`
		V     int    `json:"v"`
		State any    `json:"state"`
	}
	var tabs []tab
	for i := range notesTabs {
		body := string(prose[i*bodyKiB<<10 : (i+1)*bodyKiB<<10])
		tabs = append(tabs, tab{"notes", 1, map[string]any{"doc": fmt.Sprintf("d%026d", i), "title": fmt.Sprintf("notes %d", i),
			"body": body, "version": 3, "dirty": true, "row": 12, "col": 9, "goal": 9, "top": 4}})
	}
	tabs = append(tabs,
		tab{"chat", 1, map[string]any{"room": "#lobby", "rooms": []string{"#lobby", "#dev"}, "draft": "half-typed draft", "scroll": 0, "seen": map[string]int{"#lobby": 1}}},
		tab{"documents", 1, map[string]any{"sel": 0, "top": 0, "prompt": map[string]any{}}},
		tab{"who", 1, map[string]any{}},
		tab{"help", 1, map[string]any{}})
	in, _ := json.Marshal(map[string]any{"v": 1, "focus": 0, "tabs": tabs})
	ws, err := tui.Restore(apps.Registry(), tui.Env{User: "alice"}, in)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := ws.Snapshot()
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

var cases = []struct {
	name            string
	notesTabs, body int // tabs, KiB each
}{
	{"typical", 1, 2}, // one Notes tab with 2 KiB of unsaved text, chat, documents, who, help
	{"large", 6, 16},  // six Notes tabs with 16 KiB of distinct unsaved text each
}

func benchRing(b *testing.B) *seal.Ring {
	k, _ := seal.NewKey(time.Now())
	r, err := seal.NewRing([]seal.Key{k}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func BenchmarkSeal(b *testing.B) {
	r := benchRing(b)
	for _, c := range cases {
		payload := workspace(b, c.notesTabs, c.body)
		b.Run(c.name, func(b *testing.B) {
			var s string
			var err error
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if s, err = r.Seal("workspace:abc", payload, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
			var z bytes.Buffer
			zw, _ := flate.NewWriter(&z, seal.FastLevel)
			zw.Write(payload)
			zw.Close()
			b.ReportMetric(float64(len(payload)), "raw_B")
			b.ReportMetric(float64(z.Len()), "compressed_B")
			b.ReportMetric(float64(len(s)), "sealed_B")
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	r := benchRing(b)
	for _, c := range cases {
		payload := workspace(b, c.notesTabs, c.body)
		s, err := r.Seal("workspace:abc", payload, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if _, err := r.Open("workspace:abc", s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLevels compares DEFLATE levels on the same payloads (the choice
// of seal.Level): compressed size and time.
func BenchmarkLevels(b *testing.B) {
	for _, c := range cases {
		payload := workspace(b, c.notesTabs, c.body)
		for _, lv := range []int{flate.BestSpeed, flate.DefaultCompression, flate.BestCompression} {
			b.Run(fmt.Sprintf("%s/level%d", c.name, lv), func(b *testing.B) {
				var z bytes.Buffer
				zw, _ := flate.NewWriter(&z, lv)
				b.SetBytes(int64(len(payload)))
				for b.Loop() {
					z.Reset()
					zw.Reset(&z)
					zw.Write(payload)
					zw.Close()
				}
				b.ReportMetric(float64(z.Len()), "compressed_B")
			})
		}
	}
}
