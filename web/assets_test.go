package web

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"regexp"
	"testing"
)

// TestAssetsPinned: the embedded xterm.js files are the pinned npm
// releases (assets/README.md says how to refresh them) and their licences
// ship with them.
func TestAssetsPinned(t *testing.T) {
	tests := []struct{ file, sha256 string }{
		{"assets/xterm/xterm.js", "14903579ff54664cd72f8e8699e6961a6272c21863ec1c3b118cdc8af5d4a972"},     // @xterm/xterm 6.0.0
		{"assets/xterm/xterm.css", "854a7c0fb70e8b1a083c16797ab827299fb18744f5ad34f227b48337e33293c6"},    // @xterm/xterm 6.0.0
		{"assets/xterm/addon-fit.js", "ba3ea256ce0620a0992a197d6c9baea64823fc93d8da07a9e366ca9943c18527"}, // @xterm/addon-fit 0.11.0
		{"assets/xterm/LICENSE.xterm", ""},
		{"assets/xterm/LICENSE.addon-fit", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := fs.ReadFile(assetFS, tt.file)
			if err != nil {
				t.Fatalf("not embedded: %v", err)
			}
			sum := sha256.Sum256(data)
			if tt.sha256 != "" && hex.EncodeToString(sum[:]) != tt.sha256 {
				t.Fatalf("sha256 %x, want %s (refreshed without updating the pins?)", sum, tt.sha256)
			}
		})
	}
}

// TestNoCDN: no page or script loads anything from another host.
func TestNoCDN(t *testing.T) {
	external := regexp.MustCompile(`(src|href)="(https?:)?//`)
	for _, root := range []fs.FS{templateFS, assetFS} {
		fs.WalkDir(root, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || path == "assets/xterm/xterm.js" {
				return err
			}
			data, _ := fs.ReadFile(root, path)
			if loc := external.FindIndex(data); loc != nil {
				t.Errorf("%s loads from another host: %q", path, data[loc[0]:min(loc[1]+40, len(data))])
			}
			return nil
		})
	}
}
