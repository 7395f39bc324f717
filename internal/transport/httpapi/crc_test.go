package httpapi_test

import (
	"encoding/binary"
	"hash/crc32"
	"log/slog"
	"os"
	"testing"
)

// fixCRC recomputes the CRC of the PNG chunk whose type starts at typeAt
// and whose data is n bytes long.
func fixCRC(b []byte, typeAt, n int) []byte {
	end := typeAt + 4 + n
	binary.BigEndian.PutUint32(b[end:], crc32.ChecksumIEEE(b[typeAt:end]))
	return b
}

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}
