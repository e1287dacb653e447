package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"termhost/config"
	"termhost/metrics"
	"termhost/persist"
)

// newLogger is the process logger in the configured format (log_format:
// text|json, SPEC §11). JSON puts one object per line on w. Addresses are
// written as "host:port" strings in both (JSON would otherwise spell a
// *net.TCPAddr out as an object).
func newLogger(format string, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if addr, ok := a.Value.Any().(net.Addr); ok && a.Value.Kind() == slog.KindAny && addr != nil {
			return slog.String(a.Key, addr.String())
		}
		return a
	}}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// ops is a node's operations surface: its metrics, its readiness and the
// listener that serves both (metrics_addr).
type ops struct {
	metrics *metrics.Metrics
	health  *metrics.Health
	store   persist.Store // the store, measured
	srv     *metrics.Server
}

// errNotStarted marks a configured listener that is not serving yet.
var errNotStarted = errors.New("not started")

// newOps measures store and sets up readiness: the store must answer a
// ping and every listener cfg enables must be up (the caller marks them
// with health.Up as they start).
func newOps(cfg config.Config, store persist.Store) *ops {
	var ping metrics.Pinger
	switch s := store.(type) {
	case metrics.Pinger:
		ping = s
	case interface{ DB() *sql.DB }:
		ping = metrics.PingFunc(func(ctx context.Context) error { return s.DB().PingContext(ctx) })
	}
	o := &ops{metrics: metrics.New(), health: metrics.NewHealth(ping)}
	o.store = o.metrics.InstrumentStore(store)
	for name, addr := range map[string]string{"ssh": cfg.SSHAddr, "telnet": cfg.TelnetAddr} {
		if addr != "" {
			o.health.Down(name, errNotStarted)
		}
	}
	return o
}

// listen starts /metrics, /healthz and /readyz on addr ("" disables them)
// and prints where.
func (o *ops) listen(addr string, say *startup, log *slog.Logger) error {
	if addr == "" {
		return nil
	}
	srv, err := metrics.Listen(addr, metrics.Mux(o.metrics, o.health), log)
	if err != nil {
		return err
	}
	o.srv = srv
	say.say(fmt.Sprintf("metrics listening on %s (/metrics, /healthz, /readyz)", srv.Addr()), "listening", "listener", "metrics", "addr", srv.Addr())
	go func() {
		if err := srv.Serve(); err != nil {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	return nil
}

// serving runs a listener's Serve under its readiness mark: up while it
// runs, down (with the reason) once it returns.
func (o *ops) serving(name string, serve func() error, log *slog.Logger) {
	o.health.Up(name)
	go func() {
		err := serve()
		o.health.Down(name, err)
		if err != nil {
			log.Error(name+" server stopped", "err", err)
		}
	}()
}

// close stops the operations listener; it goes last so that a load
// balancer sees /readyz answer 503 for as long as the node drains.
func (o *ops) close() {
	if o.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	o.srv.Shutdown(ctx)
}
