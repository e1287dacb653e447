package config_test

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"termhost/config"
)

// clearEnv removes inherited TERMHOST_* variables for the test's duration.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "TERMHOST_") {
			t.Setenv(k, "") // restores the old value at cleanup
			os.Unsetenv(k)
		}
	}
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "termhost.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// resolve parses args as `termhost serve` would and resolves the config.
func resolve(t *testing.T, serve bool, args ...string) (config.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := config.Register(fs, serve)
	if err := fs.Parse(args); err != nil {
		return config.Config{}, err
	}
	return f.Resolve()
}

func TestPrecedence(t *testing.T) {
	const file = "idle_timeout: 10m\nhibernate_after: 20m\nssh_addr: \":2200\"\n"
	tests := []struct {
		name     string
		file     bool
		env      map[string]string
		args     []string
		wantIdle time.Duration
		wantHib  time.Duration
		wantSSH  string
	}{
		{name: "defaults", wantIdle: 30 * time.Minute, wantHib: 10 * time.Minute, wantSSH: ":2222"},
		{name: "file over defaults", file: true, wantIdle: 10 * time.Minute, wantHib: 20 * time.Minute, wantSSH: ":2200"},
		{name: "env over file", file: true, env: map[string]string{"TERMHOST_IDLE_TIMEOUT": "5m"},
			wantIdle: 5 * time.Minute, wantHib: 20 * time.Minute, wantSSH: ":2200"},
		{name: "flag over env", file: true, env: map[string]string{"TERMHOST_IDLE_TIMEOUT": "5m"}, args: []string{"--idle-timeout", "1m"},
			wantIdle: time.Minute, wantHib: 20 * time.Minute, wantSSH: ":2200"},
		{name: "empty flag disables a listener", file: true, args: []string{"--ssh-addr="},
			wantIdle: 10 * time.Minute, wantHib: 20 * time.Minute, wantSSH: ""},
		{name: "env without file", env: map[string]string{"TERMHOST_SSH_ADDR": "127.0.0.1:0", "TERMHOST_HIBERNATE_AFTER": "1h"},
			wantIdle: 30 * time.Minute, wantHib: time.Hour, wantSSH: "127.0.0.1:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			args := tt.args
			if tt.file {
				args = append([]string{"--config", writeFile(t, file)}, args...)
			}
			c, err := resolve(t, true, args...)
			if err != nil {
				t.Fatal(err)
			}
			if c.IdleTimeout != tt.wantIdle || c.HibernateAfter != tt.wantHib || c.SSHAddr != tt.wantSSH {
				t.Errorf("idle %v hibernate %v ssh %q; want %v %v %q", c.IdleTimeout, c.HibernateAfter, c.SSHAddr, tt.wantIdle, tt.wantHib, tt.wantSSH)
			}
		})
	}
}

func TestDefaultsMatchSpec(t *testing.T) {
	clearEnv(t)
	c, err := resolve(t, true)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Default()
	if c.LoginGrace != 30*time.Second || c.IdleTimeout != 30*time.Minute || c.HibernateAfter != 10*time.Minute ||
		c.DetachedTTL != 72*time.Hour || c.MaxSessionAge != 0 || !c.AllowSignup || c.TelnetAddr != ":2323" {
		t.Errorf("defaults = %+v", c)
	}
	if abs, _ := filepath.Abs(want.DataDir); c.DataDir != abs {
		t.Errorf("data dir = %q, want %q made absolute", c.DataDir, abs)
	}
	if c.NodeID == "" {
		t.Error("node id is empty; want the host name")
	}
}

func TestTypedValues(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	t.Setenv("TERMHOST_ALLOW_SIGNUP", "false")
	t.Setenv("TERMHOST_MAX_SESSIONS_PER_USER", "3")
	t.Setenv("TERMHOST_CONFIG", writeFile(t, "proxy_protocol: true\nproxy_trusted: [10.0.0.0/8]\nmax_clients_per_session: 2\nnode_id: n7\n"))
	c, err := resolve(t, false, "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.AllowSignup || c.MaxSessions != 3 || !bool(c.ProxyProtocol) || c.MaxClients != 2 || c.NodeID != "n7" || c.DataDir != dir {
		t.Errorf("config = %+v", c)
	}
}

// SPEC §6 writes proxy_protocol as off|on; proxy_trusted is a list in YAML
// and comma-separated in the environment.
func TestProxySettings(t *testing.T) {
	tests := []struct {
		name        string
		file        string
		env         map[string]string
		wantOn      bool
		wantTrusted []string
	}{
		{name: "default off, none trusted"},
		{name: "yaml on", file: "proxy_protocol: on\nproxy_trusted: [\"10.0.0.0/8\", 192.0.2.7]\n", wantOn: true, wantTrusted: []string{"10.0.0.0/8", "192.0.2.7"}},
		{name: "yaml off", file: "proxy_protocol: off\n"},
		{name: "env on with a list", env: map[string]string{"TERMHOST_PROXY_PROTOCOL": "on", "TERMHOST_PROXY_TRUSTED": "10.1.0.0/16, fd00::/8"},
			wantOn: true, wantTrusted: []string{"10.1.0.0/16", "fd00::/8"}},
		{name: "env overrides file", file: "proxy_protocol: on\nproxy_trusted: [10.0.0.1]\n", env: map[string]string{"TERMHOST_PROXY_PROTOCOL": "off"},
			wantTrusted: []string{"10.0.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var args []string
			if tt.file != "" {
				args = []string{"--config", writeFile(t, tt.file)}
			}
			c, err := resolve(t, true, args...)
			if err != nil {
				t.Fatal(err)
			}
			if bool(c.ProxyProtocol) != tt.wantOn || strings.Join(c.ProxyTrusted, " ") != strings.Join(tt.wantTrusted, " ") {
				t.Errorf("proxy_protocol %v, proxy_trusted %q; want %v, %q", c.ProxyProtocol, c.ProxyTrusted, tt.wantOn, tt.wantTrusted)
			}
			if c.MaxUnauthPer != 8 {
				t.Errorf("max_unauthenticated_per_source = %d, want the default 8", c.MaxUnauthPer)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{name: "unknown yaml key", file: "idle_timout: 5m\n", wantErr: "idle_timout"},
		{name: "bad yaml duration", file: "idle_timeout: soon\n", wantErr: "soon"},
		{name: "yaml not a mapping", file: "- a\n- b\n", wantErr: "config"},
		{name: "bad env duration", env: map[string]string{"TERMHOST_DETACHED_TTL": "3 days"}, wantErr: "TERMHOST_DETACHED_TTL"},
		{name: "negative env duration", env: map[string]string{"TERMHOST_IDLE_TIMEOUT": "-1m"}, wantErr: "negative"},
		{name: "bad env bool", env: map[string]string{"TERMHOST_ALLOW_SIGNUP": "maybe"}, wantErr: "TERMHOST_ALLOW_SIGNUP"},
		{name: "bad env int", env: map[string]string{"TERMHOST_MAX_UNAUTHENTICATED": "many"}, wantErr: "TERMHOST_MAX_UNAUTHENTICATED"},
		{name: "bad flag duration", args: []string{"--hibernate-after", "10"}, wantErr: "--hibernate-after"},
		{name: "missing config file", args: []string{"--config", "/nonexistent/termhost.yaml"}, wantErr: "config"},
		{name: "bad proxy_trusted CIDR", file: "proxy_protocol: on\nproxy_trusted: [10.0.0.0/33]\n", wantErr: "proxy_trusted"},
		{name: "proxy_trusted not an address", file: "proxy_trusted: [lb.example.com]\n", wantErr: "proxy_trusted"},
		{name: "bad proxy_trusted in env", env: map[string]string{"TERMHOST_PROXY_TRUSTED": "10.0.0.0/8,300.1.1.1"}, wantErr: "proxy_trusted"},
		{name: "proxy_protocol on, nobody trusted", file: "proxy_protocol: on\n", wantErr: "proxy_trusted"},
		{name: "proxy_protocol neither on nor off", file: "proxy_protocol: sometimes\n", wantErr: "sometimes"},
		{name: "yaml duration names its key", file: "login_grace: 5s\nidle_timeout: banana\n", wantErr: `line 2: idle_timeout: time: invalid duration "banana"`},
		{name: "negative yaml duration", file: "idle_timeout: -5m\n", wantErr: "idle_timeout: -5m must not be negative"},
		{name: "negative yaml count", file: "max_sessions_per_user: -3\n", wantErr: "max_sessions_per_user: -3 must not be negative"},
		{name: "NaN rate", file: "conn_rate: NaN\n", wantErr: `conn_rate: "NaN" is not a finite number`},
		{name: "infinite rate", env: map[string]string{"TERMHOST_CONN_RATE": "+Inf"}, wantErr: "TERMHOST_CONN_RATE"},
		{name: "negative env count", env: map[string]string{"TERMHOST_MAX_CLIENTS_PER_SESSION": "-1"}, wantErr: "TERMHOST_MAX_CLIENTS_PER_SESSION"},
		{name: "yaml count not a number", file: "max_clients_per_session: lots\n", wantErr: `max_clients_per_session: "lots" is not a whole number`},
		{name: "yaml bool names its key", file: "allow_signup: perhaps\n", wantErr: "allow_signup"},
		{name: "yaml list for a single value", file: "ssh_addr: [a, b]\n", wantErr: "ssh_addr: want a single value"},
		{name: "negative per-source cap", env: map[string]string{"TERMHOST_MAX_UNAUTHENTICATED_PER_SOURCE": "-1"}, wantErr: "max_unauthenticated_per_source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeFile(t, tt.file)}, args...)
			}
			_, err := resolve(t, true, args...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Resolve = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestEmptyFileIsDefaults(t *testing.T) {
	clearEnv(t)
	c, err := resolve(t, true, "--config", writeFile(t, ""))
	if err != nil {
		t.Fatalf("empty config file: %v", err)
	}
	if c.IdleTimeout != 30*time.Minute {
		t.Errorf("idle = %v, want the default", c.IdleTimeout)
	}
}

// TestValidateNegatives: a Config built in code is held to the same rule
// as one read from a file; the error names the key.
func TestValidateNegatives(t *testing.T) {
	tests := []struct {
		name    string
		set     func(c *config.Config)
		wantErr string
	}{
		{name: "defaults", set: func(*config.Config) {}},
		{name: "negative idle", set: func(c *config.Config) { c.IdleTimeout = -time.Minute }, wantErr: "idle_timeout"},
		{name: "negative sessions", set: func(c *config.Config) { c.MaxSessions = -3 }, wantErr: "max_sessions_per_user"},
		{name: "negative rate", set: func(c *config.Config) { c.ConnRate = -1 }, wantErr: "conn_rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			tt.set(&c)
			err := c.Validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestPolicyLine: the effective policy serve prints names each key with
// its resolved value (file and flags applied).
func TestPolicyLine(t *testing.T) {
	clearEnv(t)
	c, err := resolve(t, true, "--config", writeFile(t, "max_sessions_per_user: 3\nallow_signup: no\n"), "--idle-timeout", "5m")
	if err != nil {
		t.Fatal(err)
	}
	got := c.Policy()
	for _, want := range []string{"idle_timeout=5m0s", "max_sessions_per_user=3", "allow_signup=false", "detached_ttl=72h0m0s", "max_clients_per_session=8"} {
		if !strings.Contains(got, want) {
			t.Errorf("Policy() = %q, lacks %q", got, want)
		}
	}
}

// Issue 8: the authenticated SSH connection bounds are config keys with
// the documented defaults, read from the file and the environment, never
// negative, and printed on the policy line.
func TestSSHConnKeys(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		want    [4]any // per user, per source, session grace, sessionless
		wantErr string
	}{
		{name: "defaults", want: [4]any{32, 64, 30 * time.Second, 256}},
		{name: "file", file: "max_ssh_conns_per_user: 4\nmax_ssh_conns_per_source: 0\nssh_session_grace: 5s\nmax_ssh_sessionless: 7\n", want: [4]any{4, 0, 5 * time.Second, 7}},
		{name: "env", env: map[string]string{"TERMHOST_MAX_SSH_CONNS_PER_SOURCE": "9", "TERMHOST_SSH_SESSION_GRACE": "1m"}, want: [4]any{32, 9, time.Minute, 256}},
		{name: "negative sessionless", env: map[string]string{"TERMHOST_MAX_SSH_SESSIONLESS": "-2"}, wantErr: "max_ssh_sessionless"},
		{name: "negative", file: "max_ssh_conns_per_user: -1\n", wantErr: "max_ssh_conns_per_user"},
		{name: "negative grace", env: map[string]string{"TERMHOST_SSH_SESSION_GRACE": "-1s"}, wantErr: "ssh_session_grace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			args := []string{}
			if tt.file != "" {
				args = append(args, "--config", writeFile(t, tt.file))
			}
			c, err := resolve(t, true, args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := [4]any{c.MaxSSHConnsPerUser, c.MaxSSHConnsPerSource, c.SSHSessionGrace, c.MaxSSHSessionless}; got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if p := c.Policy(); !strings.Contains(p, "max_ssh_conns_per_user=") || !strings.Contains(p, "ssh_session_grace=") {
				t.Errorf("policy line %q lacks the SSH connection keys", p)
			}
		})
	}
}
