package sessions

import (
	tea "charm.land/bubbletea/v2"

	"termhost/tui"
)

// syncRun runs a workspace's commands (tui.Env.Run) on the test's
// goroutine: they queue, and drain runs them in order and delivers each
// result as Session.deliver would, so a test sees exactly what a user sees
// once the store has answered, without sleeping.
type syncRun struct {
	cmds []tea.Cmd
	ran  int // commands run so far
}

func (q *syncRun) run(cmd tea.Cmd) { q.cmds = append(q.cmds, cmd) }

// drain runs queued commands, and those their results issue, until none
// is left (bounded: a command loop is a bug).
func (q *syncRun) drain(ws *tui.Workspace) {
	for i := 0; len(q.cmds) > 0; i++ {
		if i > 10000 {
			panic("drain: more than 10000 commands; a loop?")
		}
		cmd := q.cmds[0]
		q.cmds = q.cmds[1:]
		q.ran++
		if msg := cmd(); msg != nil {
			ws.Update(msg)
		}
	}
}

// drivenWS is a workspace whose commands complete after every Update, as
// in a session whose store answers at once.
type drivenWS struct {
	*tui.Workspace
	q *syncRun
}

// Update applies msg, then runs the commands it caused.
func (w drivenWS) Update(msg tea.Msg) tui.Action {
	act := w.Workspace.Update(msg)
	w.q.drain(w.Workspace)
	return act
}

// testEnv is m's Env for u with a test runner.
func (m *Manager) testEnv(u User, q *syncRun) tui.Env { return m.env(u, "test", q.run) }

// newDriven is a brand-new workspace of u, with its first loads done.
func newDriven(m *Manager, u User) drivenWS {
	q := &syncRun{}
	w := drivenWS{tui.New(m.reg, m.testEnv(u, q)), q}
	q.drain(w.Workspace)
	return w
}

// restoreDriven restores data for u, with its loads done.
func restoreDriven(m *Manager, u User, data []byte) (drivenWS, error) {
	q := &syncRun{}
	ws, err := tui.Restore(m.reg, m.testEnv(u, q), data)
	if err != nil {
		return drivenWS{}, err
	}
	w := drivenWS{ws, q}
	q.drain(ws)
	return w, nil
}
