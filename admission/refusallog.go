package admission

import (
	"log/slog"
	"sync"
	"time"
)

// DefaultRefusalEvery is how often a refusal reason may write a log line:
// a flood of refused connections (a scan, a botnet) must not flood the log
// (SPEC §11). The metrics still count every refusal.
const DefaultRefusalEvery = time.Second

// refusalLog writes refused-connection lines at WARN, at most one per
// reason per every. The lines it holds back are counted and reported as
// "suppressed" on the reason's next line; a burst's tail is reported when
// the next refusal of that reason comes, and only in the metrics otherwise.
type refusalLog struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu       sync.Mutex // guards byReason
	byReason map[string]*refusalState
}

type refusalState struct {
	last       time.Time // when the last line of this reason was written
	suppressed int       // lines held back since then
}

func newRefusalLog(log *slog.Logger, every time.Duration, now func() time.Time) *refusalLog {
	if log == nil {
		log = slog.Default()
	}
	if every <= 0 {
		every = DefaultRefusalEvery
	}
	if now == nil {
		now = time.Now
	}
	return &refusalLog{log: log, every: every, now: now, byReason: map[string]*refusalState{}}
}

// warn writes msg with args and reason, unless a line of the same reason
// was written less than every ago; then it only counts it.
func (r *refusalLog) warn(reason, msg string, args ...any) {
	now := r.now()
	r.mu.Lock()
	st := r.byReason[reason]
	if st == nil {
		st = &refusalState{}
		r.byReason[reason] = st
	} else if now.Sub(st.last) < r.every {
		st.suppressed++
		r.mu.Unlock()
		return
	}
	n := st.suppressed
	st.last, st.suppressed = now, 0
	r.mu.Unlock()
	args = append(args, "reason", reason)
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	r.log.Warn(msg, args...)
}
