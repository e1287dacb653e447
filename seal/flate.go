package seal

import (
	"compress/flate"
	"io"
	"sync"
)

// DEFLATE levels of Seal (BENCHMARKS.md "Sealed state"): FastLevel first —
// on a 100 KB workspace 5× faster than the default level for a 16 % larger
// result — and TightLevel only when that result would not fit MaxSealed.
const (
	FastLevel  = flate.BestSpeed
	TightLevel = flate.BestCompression
)

// A flate.Writer holds up to ≈600 KiB of tables; reuse them across seals,
// one pool per level.
var writers = map[int]*sync.Pool{FastLevel: {}, TightLevel: {}}

func flateWriter(w io.Writer, level int) *flate.Writer {
	if zw, ok := writers[level].Get().(*flate.Writer); ok {
		zw.Reset(w)
		return zw
	}
	zw, _ := flate.NewWriter(w, level) // only fails for a bad level
	return zw
}

func putFlateWriter(zw *flate.Writer, level int) { writers[level].Put(zw) }

// A flate reader holds a 32 KiB window and tables; reuse them across opens.
var readers sync.Pool

func flateReader(r io.Reader) io.ReadCloser {
	if zr, ok := readers.Get().(io.ReadCloser); ok {
		if zr.(flate.Resetter).Reset(r, nil) == nil {
			return zr
		}
	}
	return flate.NewReader(r)
}

func putFlateReader(zr io.ReadCloser) { readers.Put(zr) }
