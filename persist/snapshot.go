package persist

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// Snapshot frames carry a magic, a length and a SHA-256 of the payload so a
// torn or corrupted generation is detected before it is decoded.
var frameMagic = [4]byte{'T', 'H', 'S', '1'}

const frameHeader = 4 + 4 + sha256.Size

// Seal frames a payload for storage.
func Seal(payload []byte) []byte {
	out := make([]byte, frameHeader+len(payload))
	copy(out, frameMagic[:])
	binary.BigEndian.PutUint32(out[4:], uint32(len(payload)))
	sum := sha256.Sum256(payload)
	copy(out[8:], sum[:])
	copy(out[frameHeader:], payload)
	return out
}

// Open checks a sealed frame and returns its payload, or an error wrapping
// ErrCorrupt that says what is wrong.
func Open(frame []byte) ([]byte, error) {
	if len(frame) < frameHeader {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the header", ErrCorrupt, len(frame))
	}
	if [4]byte(frame[:4]) != frameMagic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrCorrupt, frame[:4])
	}
	n := binary.BigEndian.Uint32(frame[4:])
	payload := frame[frameHeader:]
	if int(n) != len(payload) {
		return nil, fmt.Errorf("%w: length %d, header says %d", ErrCorrupt, len(payload), n)
	}
	if sha256.Sum256(payload) != [32]byte(frame[8:frameHeader]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return payload, nil
}
