package admission_test

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"termhost/admission"
)

const wait = 5 * time.Second

// listen returns a loopback listener whose accepted connections come out
// of the returned channel.
func listen(t *testing.T) (net.Listener, <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns := make(chan net.Conn, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	return ln, conns
}

// dialFrom connects to ln from the local address ip (any 127/8 address
// works on Linux) and returns both ends.
func dialFrom(t *testing.T, ln net.Listener, conns <-chan net.Conn, ip string) (client, server net.Conn) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: wait}
	client, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	select {
	case server = <-conns:
	case <-time.After(wait):
		t.Fatal("no connection accepted")
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

// One source fills its own cap, not the node's: another address still gets
// in while the first is refused; a slot comes back when a connection
// logs in or leaves.
func TestGateCaps(t *testing.T) {
	ln, conns := listen(t)
	type step struct {
		from    string
		do      string // "admit", "login" (the last admitted from `from`), "leave"
		wantErr error
	}
	tests := []struct {
		name  string
		cfg   admission.Config
		steps []step
	}{
		{name: "per-source cap below the node's", cfg: admission.Config{MaxUnauth: 10, MaxUnauthPerSource: 2}, steps: []step{
			{from: "127.0.0.2", do: "admit"}, {from: "127.0.0.2", do: "admit"},
			{from: "127.0.0.2", do: "admit", wantErr: admission.ErrSourceFull},
			{from: "127.0.0.3", do: "admit"},
			{from: "127.0.0.2", do: "login"}, // frees a slot of .2
			{from: "127.0.0.2", do: "admit"},
			{from: "127.0.0.2", do: "leave"},
			{from: "127.0.0.2", do: "admit"},
		}},
		{name: "node-wide cap still holds", cfg: admission.Config{MaxUnauth: 3, MaxUnauthPerSource: 2}, steps: []step{
			{from: "127.0.0.2", do: "admit"}, {from: "127.0.0.2", do: "admit"},
			{from: "127.0.0.3", do: "admit"},
			{from: "127.0.0.4", do: "admit"}, // takes .2's oldest (TestGateFairAtCap)
			{from: "127.0.0.5", do: "admit", wantErr: admission.ErrFull},
			{from: "127.0.0.2", do: "admit", wantErr: admission.ErrFull},
			{from: "127.0.0.3", do: "leave"},
			{from: "127.0.0.5", do: "admit"},
		}},
		{name: "connection rate per source", cfg: admission.Config{Rate: admission.NewConnRate(0.001, 2, time.Now)}, steps: []step{
			{from: "127.0.0.2", do: "admit"}, {from: "127.0.0.2", do: "admit"},
			{from: "127.0.0.2", do: "admit", wantErr: admission.ErrRate},
			{from: "127.0.0.3", do: "admit"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := admission.New(tt.cfg)
			last := map[string][]*admission.Ticket{}
			for i, st := range tt.steps {
				switch st.do {
				case "admit":
					_, srv := dialFrom(t, ln, conns, st.from)
					tk, err := g.Admit("ssh", srv, nil)
					if !errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil) {
						t.Fatalf("step %d: Admit from %s = %v, want %v", i, st.from, err, st.wantErr)
					}
					if tk != nil {
						t.Cleanup(tk.Release)
						last[st.from] = append(last[st.from], tk)
					}
				case "login", "leave":
					l := last[st.from]
					tk := l[len(l)-1]
					last[st.from] = l[:len(l)-1]
					if st.do == "login" {
						if !tk.LoggedIn() {
							t.Fatalf("step %d: LoggedIn = false within the grace", i)
						}
					} else {
						tk.Release()
					}
					tk.Release() // idempotent: frees nothing twice
				}
			}
		})
	}
}

// The grace is absolute: a connection that has not logged in by then is
// ended whatever it sends, and a login after that is refused.
func TestGraceExpires(t *testing.T) {
	ln, conns := listen(t)
	g := admission.New(admission.Config{MaxUnauthPerSource: 1, Grace: 150 * time.Millisecond})
	client, srv := dialFrom(t, ln, conns, "127.0.0.2")
	expired := make(chan time.Time, 1)
	start := time.Now()
	tk, err := g.Admit("ssh", srv, func() { expired <- time.Now(); srv.Close() })
	if err != nil {
		t.Fatal(err)
	}
	// A trickle of bytes does not extend it.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				client.Write([]byte("x"))
			}
		}
	}()
	select {
	case at := <-expired:
		if d := at.Sub(start); d < 150*time.Millisecond || d > time.Second {
			t.Errorf("expired after %v, want ≈150ms", d)
		}
	case <-time.After(wait):
		t.Fatal("grace never expired")
	}
	if tk.LoggedIn() {
		t.Error("LoggedIn after the grace ran out = true, want false")
	}
	if total, from := g.Pending("127.0.0.2"); total != 0 || from != 0 {
		t.Errorf("pending after expiry = %d/%d, want the slot freed", total, from)
	}
	if _, srv2 := dialFrom(t, ln, conns, "127.0.0.2"); true {
		if tk2, err := g.Admit("ssh", srv2, nil); err != nil {
			t.Errorf("admit after the slot was freed: %v", err)
		} else {
			tk2.Release()
		}
	}
}

// A login in time stops the timer: the connection is never ended.
func TestGraceStopsAtLogin(t *testing.T) {
	ln, conns := listen(t)
	g := admission.New(admission.Config{Grace: 50 * time.Millisecond})
	_, srv := dialFrom(t, ln, conns, "127.0.0.2")
	expired := make(chan struct{}, 1)
	tk, err := g.Admit("ssh", srv, func() { expired <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	if !tk.LoggedIn() {
		t.Fatal("LoggedIn = false within the grace")
	}
	select {
	case <-expired:
		t.Error("a logged-in connection was expired")
	case <-time.After(150 * time.Millisecond):
	}
}

// At the node-wide cap a source holding fewer slots takes the oldest slot of
// the source holding the most, so eight addresses at the per-source cap (8
// × 8 = 64) cannot lock out a ninth (issue 8: before, the ninth was
// refused); a holder cannot take slots back from a source holding fewer.
func TestGateFairAtCap(t *testing.T) {
	type step struct {
		from      string
		n         int   // admissions from `from` (1 if 0)
		wantErr   error // for the last of them
		wantEvict []string
	}
	attackers := []string{"127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.1.4", "127.0.1.5", "127.0.1.6", "127.0.1.7", "127.0.1.8"}
	fill := func() []step {
		var st []step
		for _, a := range attackers {
			st = append(st, step{from: a, n: 8})
		}
		return st
	}
	tests := []struct {
		name  string
		steps []step
		want  map[string]int // slots held at the end
	}{
		{name: "a ninth address gets in", steps: append(fill(),
			step{from: "127.0.2.1", wantEvict: []string{"127.0.1.1#0"}}),
			want: map[string]int{"127.0.2.1": 1, "127.0.1.1": 7, "127.0.1.2": 8}},
		{name: "the evicted source cannot take it back", steps: append(fill(),
			step{from: "127.0.2.1", wantEvict: []string{"127.0.1.1#0"}},
			step{from: "127.0.1.1", wantErr: admission.ErrFull},
			step{from: "127.0.1.2", wantErr: admission.ErrSourceFull}),
			want: map[string]int{"127.0.2.1": 1, "127.0.1.1": 7}},
		{name: "the newcomer gets a fair share, one slot from each biggest holder", steps: append(fill(),
			step{from: "127.0.2.1", n: 7, wantEvict: []string{"127.0.1.1#0", "127.0.1.2#0", "127.0.1.3#0", "127.0.1.4#0", "127.0.1.5#0", "127.0.1.6#0", "127.0.1.7#0"}},
			step{from: "127.0.2.1", wantErr: admission.ErrFull}), // 8 would only swap places with .8
			want: map[string]int{"127.0.2.1": 7, "127.0.1.1": 7, "127.0.1.8": 8}},
		{name: "more newcomers get in", steps: append(fill(),
			step{from: "127.0.2.1", wantEvict: []string{"127.0.1.1#0"}},
			step{from: "127.0.2.2", wantEvict: []string{"127.0.1.2#0"}},
			step{from: "127.0.2.3", wantEvict: []string{"127.0.1.3#0"}}),
			want: map[string]int{"127.0.2.1": 1, "127.0.2.2": 1, "127.0.2.3": 1, "127.0.1.4": 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, conns := listen(t)
			g := admission.New(admission.Config{MaxUnauth: 64, MaxUnauthPerSource: 8})
			var mu sync.Mutex
			var evicted []string
			gone := make(chan struct{}, 128)
			count := map[string]int{}
			for i, st := range tt.steps {
				for j := range max(st.n, 1) {
					_, srv := dialFrom(t, ln, conns, st.from)
					name := fmt.Sprintf("%s#%d", st.from, count[st.from])
					tk, err := g.Admit("ssh", srv, func() {
						mu.Lock()
						evicted = append(evicted, name)
						mu.Unlock()
						gone <- struct{}{}
					})
					if j == max(st.n, 1)-1 && (!errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil)) {
						t.Fatalf("step %d: Admit from %s = %v, want %v", i, st.from, err, st.wantErr)
					} else if j < max(st.n, 1)-1 && err != nil {
						t.Fatalf("step %d: admission %d from %s: %v", i, j, st.from, err)
					}
					if tk != nil {
						count[st.from]++
						t.Cleanup(tk.Release)
					}
				}
				for range st.wantEvict {
					select {
					case <-gone:
					case <-time.After(wait):
						t.Fatalf("step %d: no connection was ended to make room", i)
					}
				}
				mu.Lock()
				got := slices.Clone(evicted)
				evicted = nil
				mu.Unlock()
				if !slices.Equal(got, st.wantEvict) {
					t.Errorf("step %d: ended %v, want %v", i, got, st.wantEvict)
				}
			}
			for src, want := range tt.want {
				if total, got := g.Pending(src); got != want || total > 64 {
					t.Errorf("%s holds %d of %d slots, want %d (of at most 64)", src, got, total, want)
				}
			}
		})
	}
}
