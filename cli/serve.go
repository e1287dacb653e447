package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"termhost/admin"
	"termhost/admission"
	"termhost/auth"
	"termhost/cluster"
	"termhost/config"
	"termhost/hostkeys"
	"termhost/persist"
	"termhost/sessions"
	"termhost/sshd"
	"termhost/telnetd"
	"termhost/tui/apps"
	"termhost/web"
)

const serveUsage = "usage: termhost serve [flags]\nruns the server; flags override the config file and TERMHOST_* variables\n"

func serve(args []string, stdout, stderr io.Writer) int {
	cfg, pos, fs, err := resolve("serve", args, true, nil)
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("serve takes no arguments, got %q", pos[0])
	}
	if err != nil {
		return failResolve(err, serveUsage, fs, stdout, stderr)
	}
	log := newLogger(cfg.LogFormat, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, stdout, log); err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}

// run starts every part, waits for ctx, then shuts down in reverse order:
// listeners stop accepting, sessions flush and tell clients why, the store
// closes last.
func run(ctx context.Context, cfg config.Config, stdout io.Writer, log *slog.Logger) error {
	if err := checkClusterSeal(cfg); err != nil { // before anything is opened
		return err
	}
	if err := configUsersAllowed(cfg); err != nil {
		return err
	}
	// The lock comes before the store: a second serve must not mark the
	// running server's sessions hibernated before it finds out. A memory
	// store has nothing to guard and writes nothing, the lock file included.
	if !inMemory(cfg) {
		lock, err := lockDataDir(cfg.DataDir)
		if err != nil {
			return err
		}
		defer lock.Unlock()
	}
	store, err := openStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := loadConfigUsers(ctx, cfg, store); err != nil {
		return err
	}
	warnMemory(cfg, log)
	// Metrics and readiness (SPEC §11): every store call below is measured;
	// /readyz answers 503 from the first moment of a drain.
	ops := newOps(cfg, store)
	store = ops.store
	say := newStartup(cfg.LogFormat, stdout)
	if err := ops.listen(cfg.MetricsAddr, say, log); err != nil {
		return err
	}
	defer ops.close()
	keys, err := loadHostKeys(cfg, log)
	if err != nil {
		return err
	}
	if shared(cfg) {
		// Every node behind the load balancer presents one set (SPEC §6).
		if keys, err = hostkeys.Share(ctx, store, keys); err != nil {
			return err
		}
	}
	// Seal keys (SPEC §10) for workspace tickets and sealed logins. They
	// never go into the store: a cluster node without seal_keys keeps its
	// own ring, so no sealed logins (checked first thing) and no tickets.
	ring, err := sealRing(cfg)
	if err != nil {
		return err
	}
	watchRing(ctx, cfg, ring, log) // keys rotate|retire reach this server
	// Every snapshot of a session with web pages goes to them as a ticket.
	var tickets *web.Tickets
	var onSnapshot func(sessions.Saved)
	if ticketsOn(cfg) {
		tickets = web.NewTickets(web.TicketsConfig{Ring: ring, Store: store, TTL: cfg.DetachedTTL, MaxPerUser: cfg.MaxSessions, Log: log})
		onSnapshot = tickets.Snapshot
	} else {
		log.Info("workspace tickets off: the shared store keeps every session for every node, and without seal_keys " +
			"a ticket sealed here would not open on another node (set seal_keys, the same on every node, to turn them on)")
	}
	policy := sessions.DefaultPolicy()
	policy.IdleTimeout, policy.HibernateAfter, policy.DetachedTTL, policy.MaxSessionAge =
		cfg.IdleTimeout, cfg.HibernateAfter, cfg.DetachedTTL, cfg.MaxSessionAge
	policy.MaxSessionsPerUser, policy.MaxClients = cfg.MaxSessions, cfg.MaxClients
	policy.LeaseTTL = cfg.LeaseTTL
	// `termhost nodes drain` from any node ends up here: the same path as SIGTERM.
	ctx, drainNow := context.WithCancel(ctx)
	defer drainNow()
	addr := listenSummary(cfg)
	var link *cluster.Link // nodes forward shared attaches to each other
	var forward sessions.Forwarder
	if shared(cfg) && cfg.ClusterAddr != "" {
		if link, err = cluster.Listen(ctx, cfg.ClusterAddr, cfg.NodeID, store, log); err != nil {
			return err
		}
		defer link.Close()
		addr += " link=" + link.Addr()
		forward = link
	}
	mgr := sessions.NewManager(sessions.Config{Store: store, Policy: policy, Node: cfg.NodeID, Registry: apps.Registry(), Log: log, Metrics: ops.metrics,
		Addr: addr, OnDrain: drainNow, Forwarder: forward, OnSnapshot: onSnapshot})
	if link != nil {
		link.SetServe(mgr.Serve)
		go link.Serve()
	}
	ops.metrics.AddLive(mgr)
	if err := mgr.Start(ctx); err != nil {
		return err
	}
	runner := &admin.Runner{Manager: mgr, Audit: store, Now: time.Now, Users: store}
	sock, sockPath, err := listenAdmin(cfg, runner, log)
	if err != nil {
		mgr.Shutdown(context.Background(), "")
		return err
	}
	// One login path and one admission gate for every transport.
	// A memory node forgets its accounts at every restart: its admins come
	// from the config file, never from the first-admin rule (NoFirstAdmin).
	authn := &auth.Authenticator{Users: store, AllowSignup: cfg.AllowSignup, NoFirstAdmin: inMemory(cfg), Log: log, Metrics: ops.metrics,
		Signups: auth.NewSignupLimit(cfg.SignupRate, time.Now)} // signup_rate per source (issue 8)
	connRate := admission.NewConnRate(cfg.ConnRate, float64(cfg.ConnBurst), time.Now) // one bucket per source for every transport
	gate := admission.New(admission.Config{Rate: connRate,
		MaxUnauth: cfg.MaxUnauth, MaxUnauthPerSource: cfg.MaxUnauthPer, Grace: cfg.LoginGrace, Metrics: ops.metrics, Log: log})
	var trust *admission.Trust // nil: PROXY protocol off
	if cfg.ProxyProtocol {
		if trust, err = admission.ParseTrust(cfg.ProxyTrusted); err != nil {
			sock.Close()
			mgr.Shutdown(context.Background(), "")
			return err
		}
		trust.HeaderTimeout, trust.Log, trust.Metrics = cfg.LoginGrace, log, ops.metrics
	}

	say.say(fmt.Sprintf("termhost %s: data in %s, store %s", cfg.NodeID, cfg.DataDir, storeName(cfg)),
		"starting", "node", cfg.NodeID, "data_dir", cfg.DataDir, "store", storeName(cfg))
	say.say("policy: "+cfg.Policy(), "policy", "policy", cfg.Policy()) // the effective values, after file, env and flags
	for _, k := range keys {
		say.say(fmt.Sprintf("host key %s %s", k.Type(), k.Fingerprint()), "host key", "type", k.Type(), "fingerprint", k.Fingerprint())
	}
	printSignup(ctx, say, cfg, store)
	say.say(fmt.Sprintf("seal keys: %d, sealing with %s; web logins: %s", len(ring.Keys()), ring.Keys()[0].ID, cfg.WebLogin),
		"seal keys", "keys", len(ring.Keys()), "sealing_key", ring.Keys()[0].ID, "web_login", cfg.WebLogin)

	// The web transport (SPEC §9) listens first: SSH's `weblink` verb needs it.
	var webSrv *web.Server
	var weblink func(context.Context, sessions.User, string, net.Addr) (string, error)
	if cfg.HTTPAddr != "" {
		webSrv, err = web.Listen(web.Config{Addr: cfg.HTTPAddr, TLSCert: cfg.TLSCert, TLSKey: cfg.TLSKey, URL: cfg.WebURL, Proxy: trust,
			Store: store, Manager: mgr, Admin: runner, ConnRate: connRate, Admission: gate,
			// A web terminal is a connection like an SSH one: the same caps.
			MaxSocketsPerUser: capOrOff(cfg.MaxSSHConnsPerUser), MaxSocketsPerSource: capOrOff(cfg.MaxSSHConnsPerSource),
			Login: func(ctx context.Context, name, password string, remote net.Addr, confirm func(context.Context) error) (persist.User, error) {
				return authn.Login(ctx, auth.LoginRequest{Transport: "web", User: name, Password: password, Remote: remote, ConfirmSignup: confirm})
			},
			Signup:       cfg.AllowSignup,
			Tickets:      tickets,
			SealedLogins: sealedLogins(cfg, ring), // web_login: client
			LoginIdle:    cfg.WebLoginIdle, LoginMax: cfg.WebLoginMax, LoginTimeout: cfg.LoginGrace, Log: log})
		if err != nil {
			sock.Close()
			mgr.Shutdown(context.Background(), "")
			return err
		}
		weblink = webSrv.Weblink
	}
	var ssh *sshd.Server
	if cfg.SSHAddr != "" {
		ssh, err = sshd.Listen(sshd.Config{Addr: cfg.SSHAddr, HostKeys: keys, Auth: authn, Users: store,
			Manager: mgr, Admin: runner, Admission: gate, Proxy: trust, Weblink: weblink, Log: log,
			Limits: &sshd.Limits{PerUser: cfg.MaxSSHConnsPerUser, PerSource: cfg.MaxSSHConnsPerSource,
				SessionGrace: cfg.SSHSessionGrace, Sessionless: cfg.MaxSSHSessionless},
			FixedAccount: fixedAccounts(cfg)})
		if err != nil {
			if webSrv != nil {
				webSrv.Close()
			}
			sock.Close()
			mgr.Shutdown(context.Background(), "")
			return err
		}
		say.say(fmt.Sprintf("ssh listening on %s", ssh.Addr()), "listening", "listener", "ssh", "addr", ssh.Addr())
		ops.serving("ssh", ssh.Serve, log)
	}
	var tel *telnetd.Server
	if cfg.TelnetAddr != "" {
		tel, err = telnetd.Listen(telnetd.Config{Addr: cfg.TelnetAddr, Auth: authn,
			Manager: mgr, Admission: gate, Proxy: trust, Log: log})
		if err != nil {
			if ssh != nil {
				ssh.Close()
			}
			if webSrv != nil {
				webSrv.Close()
			}
			sock.Close()
			mgr.Shutdown(context.Background(), "")
			return err
		}
		say.say(fmt.Sprintf("telnet listening on %s (plaintext: passwords cross the network unencrypted; --telnet-addr \"\" disables it)", tel.Addr()),
			"listening", "listener", "telnet", "addr", tel.Addr(), "plaintext", true)
		ops.serving("telnet", tel.Serve, log)
	}
	if webSrv != nil {
		if webSrv.TLS() {
			say.say(fmt.Sprintf("http listening on %s (https)", webSrv.Addr()), "listening", "listener", "web", "addr", webSrv.Addr(), "plaintext", false)
		} else {
			say.say(fmt.Sprintf("http listening on %s (plaintext: set tls_cert and tls_key for HTTPS; --http-addr \"\" disables it)", webSrv.Addr()),
				"listening", "listener", "web", "addr", webSrv.Addr(), "plaintext", true)
		}
		ops.serving("http", webSrv.Serve, log)
	}
	if sockPath != "" {
		say.say("admin socket "+sockPath, "admin socket", "path", sockPath)
	}
	say.say("ready", "ready")

	<-ctx.Done()
	ops.health.Drain() // first: the load balancer stops sending connections
	mgr.SetDraining()
	if cfg.DrainDelay > 0 {
		// /readyz says 503 while every listener still serves, long enough
		// for the load balancer's checks to mark this node down (drain_delay).
		log.Info("draining", "drain_delay", cfg.DrainDelay)
		time.Sleep(cfg.DrainDelay)
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if webSrv != nil {
		webSrv.Drain() // browsers are told to come back rather than to stop
	}
	farewell := sessions.Restarting
	if inMemory(cfg) {
		// Nothing outlives a storage-less node but web workspace tickets.
		farewell = "[server stopping; this node keeps no sessions: terminal sessions end now (web pages come back from their tickets)]"
	}
	mgr.Shutdown(shutdownCtx, farewell)
	// Give farewell messages a moment to reach clients before the
	// connections are torn down.
	time.Sleep(200 * time.Millisecond)
	if ssh != nil {
		ssh.Close()
	}
	if tel != nil {
		tel.Close()
	}
	if webSrv != nil {
		webSrv.Close()
	}
	sock.Close()
	return nil
}

// capOrOff turns a config cap where 0 means off into web.Config's, where
// 0 means the default.
func capOrOff(n int) int {
	if n == 0 {
		return math.MaxInt32
	}
	return n
}

// shared reports whether the store is shared by several nodes (cluster
// mode, SPEC §6): host keys then come from the store.
func shared(cfg config.Config) bool {
	return strings.HasPrefix(cfg.Store, "postgres://") || strings.HasPrefix(cfg.Store, "postgresql://")
}

// listenSummary is what the node record says it listens on.
func listenSummary(cfg config.Config) string {
	var parts []string
	for _, l := range []struct{ name, addr string }{{"ssh", cfg.SSHAddr}, {"telnet", cfg.TelnetAddr}, {"http", cfg.HTTPAddr}} {
		if l.addr != "" {
			parts = append(parts, l.name+"="+l.addr)
		}
	}
	return strings.Join(parts, " ")
}

// storeName names the store for the startup lines, without a password.
func storeName(cfg config.Config) string {
	if inMemory(cfg) {
		return "memory (nothing written to disk)"
	}
	if cfg.Store == "" {
		return "sqlite " + filepath.Join(cfg.DataDir, "termhost.db")
	}
	if shared(cfg) {
		if u, err := url.Parse(cfg.Store); err == nil {
			return u.Redacted()
		}
		return "postgres (DSN unreadable)"
	}
	return cfg.Store
}

func printSignup(ctx context.Context, say *startup, cfg config.Config, users persist.Users) {
	if !cfg.AllowSignup {
		say.say("signup: off (add users with `termhost user add`)", "signup", "signup", false)
		return
	}
	list, err := users.ListUsers(ctx)
	if err != nil && !errors.Is(err, persist.ErrNotFound) {
		say.say("signup: on", "signup", "signup", true)
		return
	}
	if inMemory(cfg) { // NoFirstAdmin: admins come from the config file
		say.say("signup: on (accounts last until the restart; signups are never admin here)", "signup", "signup", true)
		return
	}
	for _, u := range list {
		if u.Role == persist.RoleAdmin {
			say.say("signup: on (unknown names create an account at first login)", "signup", "signup", true)
			return
		}
	}
	say.say("signup: on; no admin yet: the first account created from a loopback address becomes admin", "signup", "signup", true, "admin", false)
}
