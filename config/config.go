// Package config loads termhost's settings: defaults, then the YAML file,
// then TERMHOST_* environment variables, then command-line flags.
package config

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"termhost/seal"
)

// Config is every setting; yaml names are the config keys of SPEC §2.
type Config struct {
	DataDir    string `yaml:"data_dir"`
	SSHAddr    string `yaml:"ssh_addr"`
	TelnetAddr string `yaml:"telnet_addr"`
	Store      string `yaml:"store"`
	NodeID     string `yaml:"node_id"`
	// LeaseTTL is how long a node's claim on a live session lasts without
	// renewal (SPEC §6): a dead node's sessions move this long after it died.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// ClusterAddr is where a node of a cluster listens for clients other
	// nodes forward to it (`attach --shared` across nodes); it must be
	// reachable by the other nodes: a private address. Only used with a
	// shared (PostgreSQL) store.
	ClusterAddr    string        `yaml:"cluster_addr"`
	LoginGrace     time.Duration `yaml:"login_grace"`
	IdleTimeout    time.Duration `yaml:"idle_timeout"`
	HibernateAfter time.Duration `yaml:"hibernate_after"`
	DetachedTTL    time.Duration `yaml:"detached_ttl"`
	MaxSessionAge  time.Duration `yaml:"max_session_age"`
	AllowSignup    bool          `yaml:"allow_signup"`
	ProxyProtocol  Switch        `yaml:"proxy_protocol"` // off|on (SPEC §6)
	ProxyTrusted   []string      `yaml:"proxy_trusted"`  // CIDRs or addresses allowed to send PROXY headers
	MaxSessions    int           `yaml:"max_sessions_per_user"`
	MaxClients     int           `yaml:"max_clients_per_session"`
	MaxUnauth      int           `yaml:"max_unauthenticated"`
	MaxUnauthPer   int           `yaml:"max_unauthenticated_per_source"` // below max_unauthenticated: one address cannot fill it
	ConnRate       float64       `yaml:"conn_rate"`                      // new connections per second per source (0: off)
	ConnBurst      int           `yaml:"conn_burst"`                     // connections a source may open at once
	SignupRate     float64       `yaml:"signup_rate"`                    // accounts one source may sign up per hour (0: off)
	// Authenticated SSH connections (issue 8): caps per account and per
	// source (0: off), how long one may run no session (0: forever), and
	// how many may run none node-wide (0: off; over it the longest waiting
	// is closed).
	MaxSSHConnsPerUser   int           `yaml:"max_ssh_conns_per_user"`
	MaxSSHConnsPerSource int           `yaml:"max_ssh_conns_per_source"`
	SSHSessionGrace      time.Duration `yaml:"ssh_session_grace"`
	MaxSSHSessionless    int           `yaml:"max_ssh_sessionless"`

	// Operations (SPEC §11).
	MetricsAddr string `yaml:"metrics_addr"` // /metrics, /healthz, /readyz; "" disables
	LogFormat   string `yaml:"log_format"`   // text|json
	// DrainDelay is how long, after SIGTERM, /readyz answers 503 while the
	// listeners still serve, so that a load balancer's health check marks
	// the node down before its doors close (HAProxy: inter × fall + margin).
	// 0 (the default) stops at once.
	DrainDelay time.Duration `yaml:"drain_delay"`

	// Web (SPEC §9).
	HTTPAddr     string        `yaml:"http_addr"`      // browser terminal and API; "" disables
	TLSCert      string        `yaml:"tls_cert"`       // PEM certificate chain; with tls_key: HTTPS
	TLSKey       string        `yaml:"tls_key"`        // PEM private key
	WebURL       string        `yaml:"web_url"`        // public base URL for `weblink` links ("" derives it)
	WebLoginIdle time.Duration `yaml:"web_login_idle"` // a web login unused this long ends
	WebLoginMax  time.Duration `yaml:"web_login_max"`  // a web login ends this long after sign-in

	// Users are the accounts of a storage-less node (`store: memory`,
	// SPEC §10), loaded at every start; config file only (users.go).
	Users []User `yaml:"users"`
	// WebLogin is where web logins live (SPEC §9, §10): "server" (default) keeps
	// a hashed token per login in the store; "client" makes the cookie a seal
	// and stores nothing per login.
	WebLogin string `yaml:"web_login"`
	// SealKeys is the seal key ring (SPEC §10) as "ID:base64secret" entries,
	// the sealing key first, the same on every node of a cluster; empty: the
	// ring in DATA/secrets (made at first start, `termhost keys`).
	SealKeys []string `yaml:"seal_keys"`
}

// Default returns SPEC §2 and §3's defaults.
func Default() Config {
	return Config{
		DataDir: "./data", SSHAddr: ":2222", TelnetAddr: ":2323",
		LoginGrace: 30 * time.Second, IdleTimeout: 30 * time.Minute, HibernateAfter: 10 * time.Minute,
		DetachedTTL: 72 * time.Hour, AllowSignup: true, MaxSessions: 20, MaxClients: 8, MaxUnauth: 64,
		MaxUnauthPer: 8, ConnRate: 10, ConnBurst: 40, SignupRate: 10,
		MaxSSHConnsPerUser: 32, MaxSSHConnsPerSource: 64, SSHSessionGrace: 30 * time.Second, MaxSSHSessionless: 256,
		MetricsAddr: "127.0.0.1:9222", LogFormat: "text", LeaseTTL: 10 * time.Second, ClusterAddr: "127.0.0.1:0",
		HTTPAddr: ":8080", WebLoginIdle: 12 * time.Hour, WebLoginMax: 7 * 24 * time.Hour, WebLogin: "server",
	}
}

// Flags registers the common flags (--config, --data-dir) and, for serve,
// the listener and policy flags. Call Resolve after parsing.
type Flags struct {
	fs         *flag.FlagSet
	configFile string
	values     map[string]*string
}

// serveFlags maps flag names to yaml keys.
var serveFlags = map[string]string{
	"ssh-addr": "ssh_addr", "telnet-addr": "telnet_addr", "store": "store",
	"idle-timeout": "idle_timeout", "detached-ttl": "detached_ttl", "hibernate-after": "hibernate_after",
	"login-grace": "login_grace", "max-session-age": "max_session_age", "node-id": "node_id",
	"metrics-addr": "metrics_addr", "log-format": "log_format", "drain-delay": "drain_delay", "lease-ttl": "lease_ttl", "cluster-addr": "cluster_addr",
	"http-addr": "http_addr",
}

// Register adds the flags to fs.
func Register(fs *flag.FlagSet, serve bool) *Flags {
	f := &Flags{fs: fs, values: map[string]*string{}}
	fs.StringVar(&f.configFile, "config", "", "YAML config file")
	f.values["data_dir"] = fs.String("data-dir", "", "data directory (default ./data)")
	if !serve {
		// Every command reaches the same store as serve (SPEC §3): a
		// cluster's store is a DSN, not a file in the data dir.
		f.values["store"] = fs.String("store", "", "overrides config key store")
	}
	if serve {
		for name, key := range serveFlags {
			f.values[key] = fs.String(name, "", "overrides config key "+key)
		}
	}
	return f
}

// Resolve builds the Config: defaults < file < env < flags.
func (f *Flags) Resolve() (Config, error) {
	c := Default()
	// from is where each key's value came from, for errors found once all
	// are merged (Validate): "flag --idle-timeout", "env TERMHOST_…",
	// "config FILE: line N". A key left at its default has none.
	from := map[string]string{}
	file := f.configFile
	if file == "" {
		file = os.Getenv("TERMHOST_CONFIG")
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		lines := map[string]int{}
		if err := decodeFile(&c, data, lines); err != nil {
			return c, fmt.Errorf("config %s: %w", file, err)
		}
		for key, line := range lines {
			from[key] = fmt.Sprintf("config %s: line %d: %s:", file, line, key)
		}
	}
	for _, key := range keys() {
		if v, ok := os.LookupEnv("TERMHOST_" + strings.ToUpper(key)); ok {
			if err := setKey(&c, key, v); err != nil {
				return c, fmt.Errorf("env TERMHOST_%s (%s): %w", strings.ToUpper(key), key, err)
			}
			from[key] = fmt.Sprintf("env TERMHOST_%s (%s):", strings.ToUpper(key), key)
		}
	}
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for name, key := range serveFlags {
		if set[name] && f.values[key] != nil {
			if err := setKey(&c, key, *f.values[key]); err != nil {
				return c, fmt.Errorf("flag --%s (%s): %w", name, key, err)
			}
			from[key] = fmt.Sprintf("flag --%s (%s):", name, key)
		}
	}
	if set["data-dir"] {
		c.DataDir = *f.values["data_dir"]
	}
	if c.NodeID == "" {
		h, _ := os.Hostname()
		c.NodeID = h
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return c, err
	}
	c.DataDir = abs
	if err := c.Validate(); err != nil {
		var ke *KeyError
		if errors.As(err, &ke) && from[ke.Key] != "" {
			return c, fmt.Errorf("%s %w", from[ke.Key], ke.Err)
		}
		return c, err
	}
	return c, nil
}

// KeyError is a Validate error about one key's value; Resolve names where
// the value came from (the flag, the environment variable or the config
// file's line, issue 9) in front of it.
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

// keyErr is a KeyError with a formatted message.
func keyErr(key, format string, args ...any) error {
	return &KeyError{Key: key, Err: fmt.Errorf(format, args...)}
}

// addrKeys are the listener addresses: host:port, an empty host for every
// interface, port 0 for any; "" turns a listener off where SPEC §2 says so.
var addrKeys = []string{"ssh_addr", "telnet_addr", "metrics_addr", "http_addr", "cluster_addr"}

// checkAddr accepts "host:port" with a port number 0–65535.
func checkAddr(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not host:port (\":2222\", \"127.0.0.1:2222\")", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number 0-65535", v, port)
	}
	return nil
}

// checkStore accepts what the commands open (cli.openStore): "" (the data
// dir's SQLite file), sqlite:PATH, postgres:// or postgresql:// DSNs, and
// memory.
func checkStore(v string) error {
	switch {
	case v == "", v == "memory",
		strings.HasPrefix(v, "sqlite:") && len(v) > len("sqlite:"),
		strings.HasPrefix(v, "postgres://"), strings.HasPrefix(v, "postgresql://"):
		return nil
	}
	return fmt.Errorf("%q: want sqlite:PATH, postgres://… or memory", v)
}

// decodeFile sets every key of a YAML mapping through setKey, the parser
// of environment variables and flags, so that a value is read the same way
// wherever it comes from and an error names its key and line
// ("line 2: idle_timeout: time: invalid duration "banana""). lines, if
// not nil, gets the line of each key set.
func decodeFile(c *Config, data []byte, lines map[string]int) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	if len(doc.Content) == 0 {
		return nil // empty file: defaults
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping of keys to values", m.Line)
	}
	known := keys()
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if !slices.Contains(known, k.Value) {
			return fmt.Errorf("line %d: unknown key %q", k.Line, k.Value)
		}
		var text string
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
			continue // "key:" with no value keeps the default
		case k.Value == "users":
			users, err := decodeUsers(v)
			if err != nil {
				return err
			}
			c.Users = users
			continue
		case v.Kind == yaml.ScalarNode:
			text = v.Value
		case v.Kind == yaml.SequenceNode && (k.Value == "proxy_trusted" || k.Value == "seal_keys"):
			items := make([]string, 0, len(v.Content))
			for _, it := range v.Content {
				if it.Kind != yaml.ScalarNode {
					return fmt.Errorf("line %d: %s: want a list of addresses", it.Line, k.Value)
				}
				items = append(items, it.Value)
			}
			text = strings.Join(items, ",")
		default:
			return fmt.Errorf("line %d: %s: want a single value", v.Line, k.Value)
		}
		if err := setKey(c, k.Value, text); err != nil {
			return fmt.Errorf("line %d: %s: %w", v.Line, k.Value, err)
		}
		if lines != nil {
			lines[k.Value] = v.Line
		}
	}
	return nil
}

// policyKeys are the keys Policy prints: what a user or an attacker meets.
var policyKeys = []string{"idle_timeout", "hibernate_after", "detached_ttl", "max_session_age",
	"max_sessions_per_user", "max_clients_per_session", "allow_signup", "login_grace",
	"max_unauthenticated", "max_unauthenticated_per_source", "conn_rate", "conn_burst", "signup_rate",
	"max_ssh_conns_per_user", "max_ssh_conns_per_source", "ssh_session_grace", "max_ssh_sessionless",
	"proxy_protocol", "web_login_idle", "web_login_max", "web_login"}

// Policy is the effective session and admission policy as "key=value"
// pairs in SPEC §2's key names, for the log line serve prints at start.
func (c Config) Policy() string {
	rv := reflect.ValueOf(c)
	t := rv.Type()
	parts := make([]string, 0, len(policyKeys))
	for _, key := range policyKeys {
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).Tag.Get("yaml") == key {
				parts = append(parts, fmt.Sprintf("%s=%v", key, rv.Field(i).Interface()))
			}
		}
	}
	return strings.Join(parts, " ")
}

// Validate checks values that parse but cannot work; each error names its
// key. Durations and counts are never negative (SPEC §2: 0 turns a limit
// off where the SPEC gives it a meaning).
func (c Config) Validate() error {
	rv := reflect.ValueOf(c)
	t := rv.Type()
	for i := 0; i < t.NumField(); i++ {
		f := rv.Field(i)
		negative := false
		switch f.Kind() {
		case reflect.Int, reflect.Int64:
			negative = f.Int() < 0
		case reflect.Float64:
			negative = f.Float() < 0
		}
		if negative {
			return keyErr(t.Field(i).Tag.Get("yaml"), "%v must not be negative", f.Interface())
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return keyErr("log_format", "%q: want text or json", c.LogFormat)
	}
	addrs := map[string]string{"ssh_addr": c.SSHAddr, "telnet_addr": c.TelnetAddr, "metrics_addr": c.MetricsAddr,
		"http_addr": c.HTTPAddr, "cluster_addr": c.ClusterAddr}
	for _, key := range addrKeys {
		if v := addrs[key]; v != "" {
			if err := checkAddr(v); err != nil {
				return &KeyError{Key: key, Err: err}
			}
		}
	}
	if err := checkStore(c.Store); err != nil {
		return &KeyError{Key: "store", Err: err}
	}
	for _, n := range []struct {
		key string
		v   int
	}{{"max_unauthenticated", c.MaxUnauth}, {"max_unauthenticated_per_source", c.MaxUnauthPer}} {
		if n.v < 0 {
			return keyErr(n.key, "%d must not be negative (0 turns the cap off)", n.v)
		}
	}
	for _, r := range c.ProxyTrusted {
		if err := checkRange(r); err != nil {
			return &KeyError{Key: "proxy_trusted", Err: err}
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("tls_cert and tls_key: set both for HTTPS, or neither")
	}
	if c.WebLoginIdle <= 0 || c.WebLoginMax <= 0 {
		return fmt.Errorf("web_login_idle (%v) and web_login_max (%v) must be positive", c.WebLoginIdle, c.WebLoginMax)
	}
	if c.WebLogin != "server" && c.WebLogin != "client" {
		return keyErr("web_login", "%q: want server or client", c.WebLogin)
	}
	if len(c.SealKeys) > 0 {
		if _, err := seal.ParseKeys(c.SealKeys); err != nil {
			return err // "seal_keys[i] …: …" names the entry, never the secret
		}
	}
	if c.LeaseTTL < time.Second {
		return keyErr("lease_ttl", "%v is too short (at least 1s; renewals run every lease_ttl/3)", c.LeaseTTL)
	}
	if c.ProxyProtocol && len(c.ProxyTrusted) == 0 {
		return errors.New("proxy_protocol is on but proxy_trusted is empty: no peer could send a PROXY header; list your load balancers' addresses")
	}
	return nil
}

// checkRange accepts a CIDR ("10.0.0.0/8") or a single address.
func checkRange(r string) error {
	if strings.Contains(r, "/") {
		if _, err := netip.ParsePrefix(r); err != nil {
			return fmt.Errorf("%q is not a CIDR range: %w", r, err)
		}
		return nil
	}
	if _, err := netip.ParseAddr(r); err != nil {
		return fmt.Errorf("%q is not an IP address or CIDR range", r)
	}
	return nil
}

// Switch is an on/off setting: "on", "off", "true", "false" (SPEC §6
// writes proxy_protocol: off|on).
type Switch bool

// ParseSwitch reads on/off, yes/no or a strconv.ParseBool value.
func ParseSwitch(v string) (Switch, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "yes":
		return true, nil
	case "off", "no":
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%q is not on or off", v)
	}
	return Switch(b), nil
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *Switch) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseSwitch(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*s = v
	return nil
}

// keys lists the yaml keys of Config.
func keys() []string {
	t := reflect.TypeOf(Config{})
	out := make([]string, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		out = append(out, t.Field(i).Tag.Get("yaml"))
	}
	return out
}

// setKey assigns a textual value to the field tagged key.
func setKey(c *Config, key, v string) error {
	rv := reflect.ValueOf(c).Elem()
	t := rv.Type()
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("yaml") != key {
			continue
		}
		f := rv.Field(i)
		switch f.Interface().(type) {
		case []User:
			return errors.New("users are set in the config file only (a list of name, role, keys, password_hash)")
		case string:
			f.SetString(v)
		case time.Duration:
			d, err := time.ParseDuration(v)
			if err != nil {
				return err
			}
			if d < 0 {
				return fmt.Errorf("%s must not be negative", v)
			}
			f.SetInt(int64(d))
		case bool:
			b, err := ParseSwitch(v) // YAML 1.1's yes/no/on/off, as before
			if err != nil {
				return err
			}
			f.SetBool(bool(b))
		case Switch:
			b, err := ParseSwitch(v)
			if err != nil {
				return err
			}
			f.SetBool(bool(b))
		case []string: // comma-separated
			var list []string
			for _, item := range strings.Split(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					list = append(list, item)
				}
			}
			f.Set(reflect.ValueOf(list))
		case int:
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
			if n < 0 {
				return fmt.Errorf("%d must not be negative", n)
			}
			f.SetInt(int64(n))
		case float64:
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("%q is not a finite number", v)
			}
			if x < 0 {
				return fmt.Errorf("%v must not be negative", v)
			}
			f.SetFloat(x)
		}
		return nil
	}
	return fmt.Errorf("unknown key %q", key)
}
