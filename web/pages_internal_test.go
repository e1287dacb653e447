package web

import (
	"strings"
	"testing"
)

func TestSafeNext(t *testing.T) {
	tests := []struct{ next, want string }{
		{"/s/work", "/s/work"},
		{"/?signedin=1", "/?signedin=1"},
		{"", "/"},
		{"https://evil.example/", "/"},
		{"//evil.example", "/"},
		{"/\\evil.example", "/"},
		{"/\t/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\r/evil.example", "/"},
		{"/\x00", "/"},
		{"/\x7f", "/"},
		{"/" + strings.Repeat("a", 512), "/"},
	}
	for _, tt := range tests {
		if got := safeNext(tt.next); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.next, got, tt.want)
		}
	}
}

// FuzzSafeNext: whatever comes in, the target stays a path on this site
// once a browser has dropped the tabs and newlines it drops.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/s/x", "//evil", "/\\evil", "/\t/evil", "/\r\n/evil", "https://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		seen := strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(got)
		if !strings.HasPrefix(seen, "/") || strings.HasPrefix(seen, "//") || strings.HasPrefix(seen, "/\\") || len(got) > 512 {
			t.Fatalf("safeNext(%q) = %q: a browser would leave the site", next, got)
		}
		if got != "/" && got != next {
			t.Fatalf("safeNext(%q) = %q: changed a kept target", next, got)
		}
	})
}
