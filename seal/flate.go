package seal

import (
	"compress/flate"
	"io"
	"sync"
)

// Level is the DEFLATE level Seal uses (see BENCHMARKS.md "Sealed state").
const Level = flate.DefaultCompression

// A flate.Writer holds ≈600 KiB of tables; reuse them across seals.
var writers sync.Pool

func flateWriter(w io.Writer) *flate.Writer {
	if zw, ok := writers.Get().(*flate.Writer); ok {
		zw.Reset(w)
		return zw
	}
	zw, _ := flate.NewWriter(w, Level) // only fails for a bad level
	return zw
}

func putFlateWriter(zw *flate.Writer) { writers.Put(zw) }

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
