package persist_test

import (
	"reflect"
	"testing"

	"termhost/persist"
)

func TestAppsDecoder(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    []persist.App
		wantErr bool
	}{
		{name: "empty list", text: "[]", want: []persist.App{}},
		{name: "empty text", text: "", want: []persist.App{}},
		{name: "tabs", text: `[{"app":"notes","documents":["a","b"]},{"app":"chat","documents":[]},{"app":"who"}]`,
			want: []persist.App{{App: "notes", Documents: []string{"a", "b"}}, {App: "chat", Documents: []string{}}, {App: "who"}}},
		{name: "bad json", text: `[{"app":`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d persist.AppsDecoder
			for range 2 { // decoded, then from the cache
				got, err := d.Decode(tt.text)
				if (err != nil) != tt.wantErr {
					t.Fatalf("Decode(%q) error %v, want error %v", tt.text, err, tt.wantErr)
				}
				if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
					t.Errorf("Decode(%q) = %#v, want %#v", tt.text, got, tt.want)
				}
			}
		})
	}
}

// Rows that share an apps text get copies: changing or appending to one
// row's apps leaves the other rows (and the cache) alone.
func TestAppsDecoderCopies(t *testing.T) {
	var d persist.AppsDecoder
	const text = `[{"app":"notes","documents":["a"]},{"app":"docs","documents":["b","c"]}]`
	first, _ := d.Decode(text)
	first[0].Documents[0] = "changed"
	first[0].Documents = append(first[0].Documents, "appended")
	first[1].App = "changed"
	second, _ := d.Decode(text)
	want := []persist.App{{App: "notes", Documents: []string{"a"}}, {App: "docs", Documents: []string{"b", "c"}}}
	if !reflect.DeepEqual(second, want) {
		t.Errorf("second row = %#v, want %#v", second, want)
	}
	if first[1].Documents[0] != "b" {
		t.Errorf("append to the first tab's documents wrote into the second's: %q", first[1].Documents)
	}
}

func TestDecodeAttachments(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		wantLen int
		wantErr bool
	}{
		{name: "none", text: "[]"},
		{name: "empty text", text: ""},
		{name: "one", text: `[{"transport":"ssh","remote_addr":"192.0.2.1:22","term":"xterm","width":80,"height":24,"since":"2026-11-30T08:00:00Z"}]`, wantLen: 1},
		{name: "bad", text: `[{`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := persist.DecodeAttachments(tt.text)
			if (err != nil) != tt.wantErr || len(got) != tt.wantLen || (tt.wantLen == 0 && got != nil) {
				t.Errorf("DecodeAttachments(%q) = %#v, %v", tt.text, got, err)
			}
		})
	}
}
