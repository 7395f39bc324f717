package decode

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/ml/raster"
	"github.com/facelambda/facelambda/internal/testkit"
)

// Colours of the marker blocks in testPattern.
var (
	red   = color.NRGBA{255, 0, 0, 255}
	green = color.NRGBA{0, 255, 0, 255}
	gray  = color.NRGBA{128, 128, 128, 255}
)

// testPattern returns a w x h gray image with a 16x16 red block in the top
// left corner and a 16x16 green block in the top right one, aligned to JPEG
// MCUs so the colours survive compression.
func testPattern(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := gray
			switch {
			case y < 16 && x < 16:
				c = red
			case y < 16 && x >= w-16:
				c = green
			}
			m.SetNRGBA(x, y, c)
		}
	}
	return m
}

func encodeJPEG(t testing.TB, m image.Image, quality int) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, m, &jpeg.Options{Quality: quality}))
	return b.Bytes()
}

func encodePNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, m))
	return b.Bytes()
}

func encodeGIF(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, gif.Encode(&b, m, nil))
	return b.Bytes()
}

// fixture reads a file from testdata/images.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testkit.Testdata(t, "images", name))
	require.NoError(t, err)
	return b
}

// withExif inserts an APP1 Exif segment holding orientation o right after
// the SOI marker of jpg, in little-endian (II) or big-endian (MM) order.
func withExif(jpg []byte, o int, bigEndian bool) []byte {
	app1 := append([]byte{0xFF, 0xE1, 0, 0}, exifHeader...)
	app1 = append(app1, tiffOrientation(o, bigEndian)...)
	binary.BigEndian.PutUint16(app1[2:], uint16(len(app1)-2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, app1...)
	return append(out, jpg[2:]...)
}

// tiffOrientation returns a minimal TIFF structure whose IFD0 holds a
// single orientation entry.
func tiffOrientation(o int, bigEndian bool) []byte {
	var order binary.AppendByteOrder = binary.LittleEndian
	b := []byte("II*\x00")
	if bigEndian {
		order = binary.BigEndian
		b = []byte("MM\x00*")
	}
	b = order.AppendUint32(b, 8)      // IFD0 offset
	b = order.AppendUint16(b, 1)      // one entry
	b = order.AppendUint16(b, 0x0112) // orientation
	b = order.AppendUint16(b, 3)      // SHORT
	b = order.AppendUint32(b, 1)      // count
	b = order.AppendUint16(b, uint16(o))
	b = order.AppendUint16(b, 0)
	return order.AppendUint32(b, 0) // no next IFD
}

// pngChunk encodes one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}

// hostilePNG claims a w x h truecolour image and carries no pixel data.
func hostilePNG(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	b := append([]byte{}, magicPNG...)
	b = append(b, pngChunk("IHDR", ihdr)...)
	return append(b, pngChunk("IEND", nil)...)
}

// hostileGIF claims a w x h logical screen and holds a 1x1 frame.
func hostileGIF(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	b = append(b, 0x80, 0, 0)                      // global colour table of 2 entries
	b = append(b, 0, 0, 0, 255, 255, 255)          // black, white
	b = append(b, 0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0) // image descriptor 1x1
	b = append(b, 2, 2, 0x44, 0x01, 0)             // LZW data
	return append(b, 0x3B)
}

// hostileJPEG is a JPEG whose frame header claims w x h.
func hostileJPEG(w, h uint16) []byte {
	b := []byte{0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8}
	b = binary.BigEndian.AppendUint16(b, h)
	b = binary.BigEndian.AppendUint16(b, w)
	b = append(b, 1, 1, 0x11, 0)
	b = append(b, 0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0)
	return append(b, 0xFF, 0xD9)
}

// hostileWebP is an extended WebP whose VP8X canvas claims w x h.
func hostileWebP(w, h uint32) []byte {
	vp8x := []byte{0, 0, 0, 0}
	vp8x = append(vp8x, byte(w-1), byte((w-1)>>8), byte((w-1)>>16))
	vp8x = append(vp8x, byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	b := []byte("RIFF\x00\x00\x00\x00WEBPVP8X")
	b = binary.LittleEndian.AppendUint32(b, uint32(len(vp8x)))
	b = append(b, vp8x...)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

// meanAbsDiff returns the mean absolute difference per channel of two
// images of the same size.
func meanAbsDiff(t testing.TB, a, b *raster.RGB) float64 {
	t.Helper()
	require.Equal(t, a.W, b.W, "widths differ")
	require.Equal(t, a.H, b.H, "heights differ")
	var sum int
	for i := range a.Pix {
		d := int(a.Pix[i]) - int(b.Pix[i])
		sum += max(d, -d)
	}
	return float64(sum) / float64(len(a.Pix))
}

// near reports whether pixel (x, y) of m is within tol of c in every channel.
func near(m *raster.RGB, x, y int, c color.NRGBA, tol int) bool {
	r, g, b := m.At(x, y)
	d := func(a, b uint8) bool { return int(a)-int(b) <= tol && int(b)-int(a) <= tol }
	return d(r, c.R) && d(g, c.G) && d(b, c.B)
}
