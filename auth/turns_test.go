package auth

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"
)

// waiting reports how many wait for key's turn.
func (t *turns) waiting(key string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	if tu := t.m[key]; tu != nil {
		for _, w := range tu.waiters {
			n += len(w)
		}
	}
	return n
}

// awaitWaiting waits (bounded) until n wait for key's turn.
func awaitWaiting(t *testing.T, tt *turns, key string, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); tt.waiting(key) != n; runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatalf("%d waiting for %s, want %d", tt.waiting(key), key, n)
		}
	}
}

// A turn goes to waiters that have not failed here before those that have,
// each class in arrival order: the owner from a new address is not queued
// behind guessers whose delay ended (issue 8).
func TestTurnsOrder(t *testing.T) {
	tests := []struct {
		name    string
		arrive  []int // priorities, in arrival order
		cancel  int   // index of a waiter whose context ends before the release (-1: none)
		granted []int // waiter indexes in the order they get the turn
	}{
		{name: "arrival order within a class", arrive: []int{later, later, later}, cancel: -1, granted: []int{0, 1, 2}},
		{name: "first before later", arrive: []int{later, later, first}, cancel: -1, granted: []int{2, 0, 1}},
		{name: "firsts in arrival order", arrive: []int{first, later, first}, cancel: -1, granted: []int{0, 2, 1}},
		{name: "a waiter that gave up is skipped", arrive: []int{later, first, later}, cancel: 1, granted: []int{0, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &turns{m: map[string]*turn{}}
			hold, err := tr.acquire(context.Background(), "alice", first)
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan int, len(tt.arrive))
			var cancels []context.CancelFunc
			for i, p := range tt.arrive {
				ctx, cancel := context.WithCancel(context.Background())
				cancels = append(cancels, cancel)
				go func() {
					done, err := tr.acquire(ctx, "alice", p)
					if err != nil {
						return
					}
					got <- i
					done()
				}()
				awaitWaiting(t, tr, "alice", i+1)
			}
			if tt.cancel >= 0 {
				cancels[tt.cancel]()
				awaitWaiting(t, tr, "alice", len(tt.arrive)-1)
			}
			hold()
			var order []int
			for range tt.granted {
				select {
				case i := <-got:
					order = append(order, i)
				case <-time.After(5 * time.Second):
					t.Fatalf("granted %v, then nothing", order)
				}
			}
			if !slices.Equal(order, tt.granted) {
				t.Errorf("granted %v, want %v", order, tt.granted)
			}
			for _, c := range cancels {
				c()
			}
			tr.mu.Lock()
			n := len(tr.m)
			tr.mu.Unlock()
			if n != 0 {
				t.Errorf("%d entries left in the table, want none", n)
			}
		})
	}
}
