package config_test

import (
	"strings"
	"testing"
	"time"
)

// metrics_addr and log_format (SPEC §11): defaults, every source, and a
// clear error naming the key for a format that does not exist.
func TestOperationsSettings(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		file        string
		args        []string
		wantMetrics string
		wantFormat  string
		wantErr     string
	}{
		{name: "defaults", wantMetrics: "127.0.0.1:9222", wantFormat: "text"},
		{name: "flag disables metrics", args: []string{"--metrics-addr", ""}, wantMetrics: "", wantFormat: "text"},
		{name: "env", env: map[string]string{"TERMHOST_METRICS_ADDR": ":9300", "TERMHOST_LOG_FORMAT": "json"},
			wantMetrics: ":9300", wantFormat: "json"},
		{name: "file", file: "metrics_addr: 10.0.0.5:9222\nlog_format: json\n", wantMetrics: "10.0.0.5:9222", wantFormat: "json"},
		{name: "flag beats env", env: map[string]string{"TERMHOST_LOG_FORMAT": "json"}, args: []string{"--log-format", "text"},
			wantMetrics: "127.0.0.1:9222", wantFormat: "text"},
		{name: "unknown format", args: []string{"--log-format", "xml"}, wantErr: "log_format"},
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
			c, err := resolve(t, true, args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.MetricsAddr != tt.wantMetrics || c.LogFormat != tt.wantFormat {
				t.Errorf("metrics_addr %q, log_format %q; want %q, %q", c.MetricsAddr, c.LogFormat, tt.wantMetrics, tt.wantFormat)
			}
		})
	}
}

// drain_delay (SPEC §11): 0 by default (stop at once), set from every
// source, and a negative value is an error naming the key.
func TestDrainDelay(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		file    string
		args    []string
		want    time.Duration
		wantErr string
	}{
		{name: "default stops at once", want: 0},
		{name: "flag", args: []string{"--drain-delay", "5s"}, want: 5 * time.Second},
		{name: "env", env: map[string]string{"TERMHOST_DRAIN_DELAY": "1500ms"}, want: 1500 * time.Millisecond},
		{name: "file", file: "drain_delay: 5s\n", want: 5 * time.Second},
		{name: "negative", args: []string{"--drain-delay", "-1s"}, wantErr: "drain_delay"},
		{name: "not a duration", file: "drain_delay: soon\n", wantErr: "drain_delay"},
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
			c, err := resolve(t, true, args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.DrainDelay != tt.want {
				t.Errorf("drain_delay = %v, want %v", c.DrainDelay, tt.want)
			}
		})
	}
}
