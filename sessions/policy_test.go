package sessions_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"termhost/persist"
)

// The idle rule warns at 75% and detaches at 100%, but never without the
// warning having been shown by an earlier sweep.
func TestIdleWarnsThenDetaches(t *testing.T) {
	tests := []struct {
		name  string
		steps []time.Duration // clock advances, each followed by one Sweep
		// after the last step
		wantWarned   bool
		wantDetached bool
	}{
		{name: "below 75% nothing", steps: []time.Duration{2 * time.Minute}},
		{name: "at 75% a warning", steps: []time.Duration{3 * time.Minute}, wantWarned: true},
		{name: "warned then 100% detaches", steps: []time.Duration{3 * time.Minute, time.Minute}, wantDetached: true},
		{name: "late first sweep only warns", steps: []time.Duration{5 * time.Minute}, wantWarned: true},
		{name: "late sweeps warn then detach", steps: []time.Duration{5 * time.Minute, 0}, wantDetached: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy()
			p.IdleTimeout = 4 * time.Minute
			e := newEnv(t, p)
			c := e.attach()
			for _, d := range tt.steps {
				e.clock.Advance(d)
				e.mgr.Sweep(context.Background())
			}
			in := e.only(alice)
			switch {
			case tt.wantDetached:
				c.waitDone()
				c.waitFor("[detached: idle for 4m0s]")
				if in.State != persist.StateDetached {
					t.Errorf("state = %s, want detached", in.State)
				}
				if _, events, _ := e.mgr.Show(context.Background(), in.ID); events[len(events)-1].Detail != "idle" {
					t.Errorf("last event = %+v, want a detach with reason idle", events[len(events)-1])
				}
			case tt.wantWarned:
				c.waitFor("idle: detaching in")
				if in.State != persist.StateAttached {
					t.Errorf("state = %s, want attached", in.State)
				}
			default:
				if strings.Contains(c.scr.Text(), "idle") || in.State != persist.StateAttached {
					t.Errorf("state %s, screen:\n%s\nwant attached without a warning", in.State, c.scr.Text())
				}
			}
		})
	}
}

// Typing after the warning clears it and restarts the idle count.
func TestInputClearsIdleWarning(t *testing.T) {
	p := testPolicy()
	p.IdleTimeout = 4 * time.Minute
	e := newEnv(t, p)
	c := e.attach()
	e.clock.Advance(3 * time.Minute)
	e.mgr.Sweep(context.Background())
	c.waitFor("idle: detaching in 60s")
	c.send("x")
	c.scr.WaitUntil(t, "the warning to go", wait, func(s string) bool { return !strings.Contains(s, "idle:") })
	e.clock.Advance(2 * time.Minute)
	e.mgr.Sweep(context.Background())
	e.mgr.Sweep(context.Background())
	if in := e.only(alice); in.State != persist.StateAttached {
		t.Errorf("state = %s after input reset the idle clock, want attached", in.State)
	}
}

// A detached session hibernates (leaves memory, state in the store) and
// wakes with its workspace on attach.
func TestHibernateAndWake(t *testing.T) {
	p := testPolicy()
	p.HibernateAfter = 10 * time.Minute
	e := newEnv(t, p)
	c := e.attach()
	c.send("sleepy text")
	c.waitFor("sleepy text")
	c.send("\x02d")
	c.waitDone()
	id := e.only(alice).ID

	e.clock.Advance(9 * time.Minute)
	e.mgr.Sweep(context.Background())
	if in := e.only(alice); !in.Live || in.State != persist.StateDetached {
		t.Fatalf("before HibernateAfter: live=%v state=%s, want live detached", in.Live, in.State)
	}
	e.clock.Advance(time.Minute)
	e.mgr.Sweep(context.Background())
	in := e.only(alice)
	if in.Live || in.State != persist.StateHibernated {
		t.Fatalf("after HibernateAfter: live=%v state=%s, want hibernated and not live", in.Live, in.State)
	}
	if r := e.record(id); r.State != persist.StateHibernated {
		t.Errorf("stored state = %s, want hibernated", r.State)
	}

	c2 := e.attach()
	c2.waitFor("sleepy text")
	if in := e.only(alice); !in.Live || in.State != persist.StateAttached {
		t.Errorf("after wake: live=%v state=%s, want live attached", in.Live, in.State)
	}
	got := strings.Join(e.kinds(e.mgr, id), ",")
	if !strings.Contains(got, "detached,hibernated,woke,attached") {
		t.Errorf("history = %s, want …detached,hibernated,woke,attached", got)
	}
}

// DetachedTTL ends a detached or hibernated session (reason expired); the
// user's next new session starts from its workspace.
func TestDetachedTTLExpires(t *testing.T) {
	tests := []struct {
		name      string
		hibernate time.Duration // 0: the session is still live when it expires
	}{
		{name: "live detached"},
		{name: "hibernated", hibernate: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy()
			p.HibernateAfter, p.DetachedTTL = tt.hibernate, 72*time.Hour
			e := newEnv(t, p)
			c := e.attach()
			c.send("remember me")
			c.waitFor("remember me")
			e.clock.Advance(p.FlushDelay) // the workspace reaches the store
			c.send("\x02d")
			c.waitDone()
			id := e.only(alice).ID
			if tt.hibernate > 0 {
				e.clock.Advance(tt.hibernate)
				e.mgr.Sweep(context.Background())
				if r := e.record(id); r.State != persist.StateHibernated {
					t.Fatalf("state = %s, want hibernated first", r.State)
				}
			}
			e.clock.Advance(72*time.Hour - tt.hibernate)
			e.mgr.Sweep(context.Background())

			r := e.record(id)
			if r.State != persist.StateEnded || r.EndReason != "expired" {
				t.Fatalf("record = %s/%q, want ended/expired", r.State, r.EndReason)
			}
			if infos, _ := e.mgr.List(context.Background(), "alice", ""); len(infos) != 0 {
				t.Errorf("List shows %d sessions after expiry, want none", len(infos))
			}
			if kinds := e.kinds(e.mgr, id); kinds[len(kinds)-1] != "ended" {
				t.Errorf("history = %v, want it to end with ended", kinds)
			}
			s, err := e.mgr.Create(context.Background(), alice, "")
			if err != nil {
				t.Fatal(err)
			}
			c2 := e.attach("attach", s.ID())
			c2.waitFor("remember me")
		})
	}
}

// MaxSessionAge ends a session even while attached.
func TestMaxSessionAge(t *testing.T) {
	p := testPolicy()
	p.MaxSessionAge = 8 * time.Hour
	e := newEnv(t, p)
	c := e.attach()
	id := e.only(alice).ID
	c.send("typing keeps it busy")
	c.waitFor("typing keeps it busy")
	e.clock.Advance(8*time.Hour - time.Second)
	e.mgr.Sweep(context.Background())
	if r := e.record(id); r.State == persist.StateEnded {
		t.Fatalf("ended before MaxSessionAge")
	}
	e.clock.Advance(time.Second)
	e.mgr.Sweep(context.Background())
	c.waitDone()
	c.waitFor("[session 1 ended: max-age]")
	if r := e.record(id); r.State != persist.StateEnded || r.EndReason != "max-age" {
		t.Errorf("record = %s/%q, want ended/max-age", r.State, r.EndReason)
	}
}
