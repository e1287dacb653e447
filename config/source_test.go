package config_test

import (
	"strings"
	"testing"
)

// A value refused once every source is merged (Validate) is named where
// it came from: the flag, the environment variable, or the config file's
// key and line (issue 9: "log_format: …" or a listen error at start did
// not say which). Listener addresses and the store are checked before
// anything starts.
func TestErrorsNameTheirSource(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{name: "address from a flag", args: []string{"--ssh-addr", "nope"}, wantErr: `flag --ssh-addr (ssh_addr): "nope" is not host:port`},
		{name: "address from env", env: map[string]string{"TERMHOST_TELNET_ADDR": "127.0.0.1"}, wantErr: `env TERMHOST_TELNET_ADDR (telnet_addr): "127.0.0.1" is not host:port`},
		{name: "address from the file", file: "log_format: text\nhttp_addr: localhost:http\n", wantErr: `line 2: http_addr: "localhost:http": port "http" is not a number`},
		{name: "port out of range", args: []string{"--metrics-addr", ":70000"}, wantErr: "flag --metrics-addr (metrics_addr)"},
		{name: "cluster address", file: "cluster_addr: x\n", wantErr: "line 1: cluster_addr:"},
		{name: "log format from a flag", args: []string{"--log-format", "xml"}, wantErr: `flag --log-format (log_format): "xml": want text or json`},
		{name: "log format from env", env: map[string]string{"TERMHOST_LOG_FORMAT": "xml"}, wantErr: "env TERMHOST_LOG_FORMAT (log_format)"},
		{name: "log format from the file", file: "log_format: xml\n", wantErr: "line 1: log_format:"},
		{name: "store from a flag", args: []string{"--store", "bogus"}, wantErr: `flag --store (store): "bogus": want sqlite:PATH`},
		{name: "store from env", env: map[string]string{"TERMHOST_STORE": "mysql://x"}, wantErr: "env TERMHOST_STORE (store)"},
		{name: "empty sqlite path", file: "store: 'sqlite:'\n", wantErr: "line 1: store:"},
		{name: "lease ttl from a flag", args: []string{"--lease-ttl", "10ms"}, wantErr: "flag --lease-ttl (lease_ttl): 10ms is too short"},
		{name: "web login from env", env: map[string]string{"TERMHOST_WEB_LOGIN": "cookie"}, wantErr: "env TERMHOST_WEB_LOGIN (web_login)"},
		{name: "flag beats file: the flag is named", file: "log_format: json\n", args: []string{"--log-format", "xml"}, wantErr: "flag --log-format"},
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
				t.Errorf("Resolve = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

// Good addresses and stores pass.
func TestAddressesAndStoresAccepted(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{name: "all interfaces", args: []string{"--ssh-addr", ":2222"}},
		{name: "ipv6", args: []string{"--telnet-addr", "[::1]:2323"}},
		{name: "any port", args: []string{"--cluster-addr", "127.0.0.1:0"}},
		{name: "off", args: []string{"--http-addr", ""}},
		{name: "sqlite", args: []string{"--store", "sqlite:/tmp/x.db"}},
		{name: "postgres", args: []string{"--store", "postgres://u@localhost/db"}},
		{name: "memory", args: []string{"--store", "memory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			if _, err := resolve(t, true, tt.args...); err != nil {
				t.Fatalf("Resolve(%q) = %v", tt.args, err)
			}
		})
	}
}
