package envelope

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// header is a parsed blob header.
type header struct {
	flags    byte
	keyID    string
	wrapped  []byte
	hdrLen   int
	nonceEnd int
}

func parseHeader(b []byte) (header, error) {
	var h header
	if len(b) < len(Magic) || !bytes.Equal(b[:len(Magic)], []byte(Magic)) {
		return h, fmt.Errorf("%w: missing %q signature", ErrMalformed, Magic)
	}
	if len(b) < 8 {
		return h, fmt.Errorf("%w: truncated header", ErrMalformed)
	}
	if b[4] != FormatVersion {
		return h, fmt.Errorf("%w: format version %d (this build reads %d)", ErrMalformed, b[4], FormatVersion)
	}
	h.flags = b[5]
	if h.flags&^flagClass != 0 {
		return h, fmt.Errorf("%w: unknown flags %#x", ErrMalformed, h.flags)
	}
	k := int(binary.BigEndian.Uint16(b[6:]))
	if k == 0 || k > maxField || len(b) < 8+k+2 {
		return h, fmt.Errorf("%w: key id of %d bytes", ErrMalformed, k)
	}
	h.keyID = string(b[8 : 8+k])
	w := int(binary.BigEndian.Uint16(b[8+k:]))
	if w == 0 || w > maxWrapped || len(b) < 10+k+w+nonceLen+tagLen {
		return h, fmt.Errorf("%w: truncated (wrapped key of %d bytes)", ErrMalformed, w)
	}
	h.wrapped = b[10+k : 10+k+w]
	h.hdrLen = 10 + k + w
	h.nonceEnd = h.hdrLen + nonceLen
	return h, nil
}

// MaxOverhead is the most bytes a sealed blob adds to its plaintext.
const MaxOverhead = 10 + maxField + maxWrapped + nonceLen + tagLen

// Overhead returns how many bytes a sealed blob adds to its plaintext,
// read from the blob's header without opening it: head is the blob's
// start, at least min(len(blob), MaxOverhead) bytes of it.
func Overhead(head []byte) (int, error) {
	h, err := parseHeader(head)
	if err != nil {
		return 0, err
	}
	return h.nonceEnd + tagLen, nil
}

// KeyID returns the id of the key a blob's data key is wrapped under (for
// re-wrapping after a key rotation, or diagnostics).
func KeyID(blob []byte) (string, error) {
	h, err := parseHeader(blob)
	return h.keyID, err
}
