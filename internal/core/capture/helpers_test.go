package capture

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/rsa"
	"fmt"
	"hash/crc32"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeJPEG returns n bytes starting with the JPEG SOI marker.
func fakeJPEG(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	b[0], b[1] = 0xFF, 0xD8
	return b
}

// testManifest returns a valid manifest of n frames, 66 ms apart.
func testManifest(n int) Manifest {
	m := Manifest{
		Version:      1,
		SessionID:    "sess-0123",
		ServerRandom: "c2VydmVyLXJhbmRvbQ",
		DeviceInfo:   &DeviceInfo{OSType: "Android", OSVersion: "14", DeviceModel: "Pixel 8"},
	}
	for i := range n {
		m.Frames = append(m.Frames, FrameRef{File: fmt.Sprintf("%03d.jpg", i), T: int64(i) * 66})
	}
	return m
}

// testFrames returns n fake JPEG frames of size bytes each.
func testFrames(n, size int) [][]byte {
	var fs [][]byte
	for i := range n {
		fs = append(fs, fakeJPEG(size, byte(i)))
	}
	return fs
}

// entry is a raw archive entry for rawZip.
type entry struct {
	name   string
	data   []byte
	method uint16
	// declared, when set, replaces the uncompressed size in the headers.
	declared uint64
	// badCRC stores a wrong CRC-32.
	badCRC bool
	// comp, when set, is written as the compressed data.
	comp []byte
}

// rawZip writes an archive entry by entry, with full control of the
// headers (Store unless method is set).
func rawZip(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		comp := e.data
		if e.method == zip.Deflate {
			var cb bytes.Buffer
			fw, err := flate.NewWriter(&cb, flate.BestCompression)
			require.NoError(t, err)
			_, err = fw.Write(e.data)
			require.NoError(t, err)
			require.NoError(t, fw.Close())
			comp = cb.Bytes()
		}
		if e.comp != nil {
			comp = e.comp
		}
		h := &zip.FileHeader{
			Name:               e.name,
			Method:             e.method,
			CRC32:              crc32.ChecksumIEEE(e.data),
			CompressedSize64:   uint64(len(comp)),
			UncompressedSize64: uint64(len(e.data)),
		}
		if e.declared != 0 {
			h.UncompressedSize64 = e.declared
		}
		if e.badCRC {
			h.CRC32++
		}
		w, err := zw.CreateRaw(h)
		require.NoError(t, err)
		_, err = w.Write(comp)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// manifestEntry returns a deflated capture.json entry of the given JSON.
func manifestEntry(js string) entry {
	return entry{name: ManifestName, data: []byte(js), method: zip.Deflate}
}

var (
	keysOnce sync.Once
	keys     [2]*rsa.PrivateKey
	keysErr  error
)

// testKeys returns two session keys, made once per test binary.
func testKeys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		for i := range keys {
			if keys[i], keysErr = NewSessionKey(); keysErr != nil {
				return
			}
		}
	})
	require.NoError(t, keysErr)
	return keys[0], keys[1]
}
