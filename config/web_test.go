package config

import (
	"strings"
	"testing"
	"time"
)

// TestWebKeys: SPEC §9's defaults, and validation errors that name the key.
func TestWebKeys(t *testing.T) {
	d := Default()
	if d.HTTPAddr != ":8080" || d.WebLoginIdle != 12*time.Hour || d.WebLoginMax != 7*24*time.Hour {
		t.Fatalf("defaults http_addr %q, web_login_idle %v, web_login_max %v; want :8080, 12h, 168h", d.HTTPAddr, d.WebLoginIdle, d.WebLoginMax)
	}
	tests := []struct {
		name string
		set  func(c *Config)
		key  string
	}{
		{"defaults", func(c *Config) {}, ""},
		{"web off", func(c *Config) { c.HTTPAddr = "" }, ""},
		{"tls pair", func(c *Config) { c.TLSCert, c.TLSKey = "c.pem", "k.pem" }, ""},
		{"cert without key", func(c *Config) { c.TLSCert = "c.pem" }, "tls_key"},
		{"key without cert", func(c *Config) { c.TLSKey = "k.pem" }, "tls_cert"},
		{"zero idle", func(c *Config) { c.WebLoginIdle = 0 }, "web_login_idle"},
		{"zero max", func(c *Config) { c.WebLoginMax = 0 }, "web_login_max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.set(&c)
			err := c.Validate()
			if (err != nil) != (tt.key != "") || (err != nil && !strings.Contains(err.Error(), tt.key)) {
				t.Fatalf("Validate() = %v; want an error naming %q", err, tt.key)
			}
		})
	}
}
