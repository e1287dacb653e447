package metrics_test

import (
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// BenchmarkKeyEcho is one key typed into Notes over a real SSH connection
// on loopback until its echo is read back, with the node's metrics off and
// on. "on" measures the store, counts the login and times every frame, and
// a scraper reads /metrics every 100 ms meanwhile (far more often than
// Prometheus would). ns/op is the round trip; p50/p99 are reported too.
func BenchmarkKeyEcho(b *testing.B) {
	for _, bb := range []struct {
		name    string
		metrics bool
	}{{name: "metrics=off"}, {name: "metrics=on", metrics: true}} {
		b.Run(bb.name, func(b *testing.B) {
			n := startNode(b, nodeOptions{metrics: bb.metrics})
			c, err := n.dial("bench", gossh.Password("bench password"))
			if err != nil {
				b.Fatal(err)
			}
			sess, err := c.NewSession()
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { sess.Close() })
			if err := sess.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
				b.Fatal(err)
			}
			in, _ := sess.StdinPipe()
			out, _ := sess.StdoutPipe()
			if err := sess.Shell(); err != nil {
				b.Fatal(err)
			}
			reads := make(chan int, 64)
			go func() {
				buf := make([]byte, 64<<10)
				for {
					n, err := out.Read(buf)
					if n > 0 {
						reads <- n
					}
					if err != nil {
						close(reads)
						return
					}
				}
			}()
			// The first frame, then quiet.
			awaitRead(b, reads)
			settle(reads)

			stop := make(chan struct{})
			scraped := make(chan struct{})
			if bb.metrics {
				go func() {
					defer close(scraped)
					t := time.NewTicker(100 * time.Millisecond)
					defer t.Stop()
					for {
						select {
						case <-stop:
							return
						case <-t.C:
							if resp, err := http.Get(n.ops + "/metrics"); err == nil {
								io.Copy(io.Discard, resp.Body)
								resp.Body.Close()
							}
						}
					}
				}()
			} else {
				close(scraped)
			}

			samples := make([]time.Duration, 0, b.N)
			keys := []byte("abcdefghijklmnopqrstuvwxyz")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				key := keys[i%len(keys):][:1]
				if i%60 == 59 {
					key = []byte("\r") // short lines: the cost stays that of one key
				}
				start := time.Now()
				if _, err := in.Write(key); err != nil {
					b.Fatal(err)
				}
				awaitRead(b, reads)
				samples = append(samples, time.Since(start))
				settle(reads)
			}
			b.StopTimer()
			close(stop)
			<-scraped
			slices.Sort(samples)
			b.ReportMetric(float64(samples[len(samples)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(samples[len(samples)*99/100].Microseconds()), "p99-µs")
		})
	}
}

func awaitRead(b *testing.B, reads <-chan int) {
	select {
	case _, ok := <-reads:
		if !ok {
			b.Fatal("connection closed")
		}
	case <-time.After(wait):
		b.Fatal("no echo")
	}
}

// settle takes any further reads of the same frame (a frame may arrive in
// more than one read) so the next key's wait starts clean.
func settle(reads <-chan int) {
	for {
		select {
		case <-reads:
		case <-time.After(200 * time.Microsecond):
			return
		}
	}
}
