package sessions

import (
	"testing"

	uv "github.com/charmbracelet/ultraviolet"
)

func TestClampSize(t *testing.T) {
	def := Size{80, 24}
	tests := []struct {
		name string
		in   Size
		want Size
	}{
		{name: "ordinary", in: Size{80, 24}, want: Size{80, 24}},
		{name: "smallest the spec names", in: Size{20, 5}, want: Size{20, 5}},
		{name: "a big terminal fits", in: Size{320, 90}, want: Size{320, 90}},
		{name: "zero takes the default", in: Size{0, 0}, want: def},
		{name: "negative takes the default", in: Size{-1, 40}, want: Size{80, 40}},
		{name: "too wide", in: Size{2000, 10}, want: Size{MaxWidth, 10}},
		{name: "too tall", in: Size{40, 2000}, want: Size{40, MaxHeight}},
		{name: "too many cells: rows are cut", in: Size{400, 150}, want: Size{400, MaxCells / 400}},
		{name: "65535 square", in: Size{65535, 65535}, want: Size{MaxWidth, MaxCells / MaxWidth}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ClampSize(tt.in, def)
			if got != tt.want {
				t.Errorf("ClampSize(%v) = %v, want %v", tt.in, got, tt.want)
			}
			if got.Width*got.Height > MaxCells {
				t.Errorf("ClampSize(%v) = %v: %d cells, over %d", tt.in, got, got.Width*got.Height, MaxCells)
			}
		})
	}
}

// TestScratchPoolKeepsNoHugeBuffers: a frame buffer over maxPooledCells,
// counting what a resize hid, is left to the GC instead of the pool
// (pooled buffers live until the second GC: minutes on an idle node).
func TestScratchPoolKeepsNoHugeBuffers(t *testing.T) {
	tests := []struct {
		name   string
		buf    uv.ScreenBuffer
		pooled bool
	}{
		{name: "80x24", buf: uv.NewScreenBuffer(80, 24), pooled: true},
		{name: "at the bound", buf: uv.NewScreenBuffer(200, 60), pooled: true},
		{name: "maximal window", buf: uv.NewScreenBuffer(MaxWidth, MaxCells/MaxWidth)},
		{name: "shrunk from a maximal window", buf: shrunk(MaxWidth, MaxCells/MaxWidth)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			drainScratch()
			returnScreen(tt.buf)
			found := false
			for b, ok := scratch.Get().(uv.ScreenBuffer); ok; b, ok = scratch.Get().(uv.ScreenBuffer) {
				found = found || b.RenderBuffer == tt.buf.RenderBuffer
			}
			// sync.Pool may drop what it is given (always under -race,
			// sometimes), so only "never pooled" is certain.
			if found && !tt.pooled {
				t.Errorf("a buffer of %d cells was pooled, bound %d", cellsHeld(tt.buf), maxPooledCells)
			}
		})
	}
}

// shrunk is a w×h buffer resized to 20×5: it still holds w×h cells.
func shrunk(w, h int) uv.ScreenBuffer {
	b := uv.NewScreenBuffer(w, h)
	b.Resize(20, 5)
	return b
}

func drainScratch() {
	for i := 0; i < 1000 && scratch.Get() != nil; i++ {
	}
}
