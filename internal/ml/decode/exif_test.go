package decode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/facelambda/facelambda/internal/ml/raster"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExifOrientation(t *testing.T) {
	long := tiffOrientation(6, false)
	binary.LittleEndian.PutUint16(long[12:], 4) // type LONG
	short := tiffOrientation(6, true)
	badType := tiffOrientation(6, true)
	badType[11] = 2 // ASCII
	farIFD := tiffOrientation(6, false)
	binary.LittleEndian.PutUint32(farIFD[4:], 0xFFFFFFF0)
	lowIFD := tiffOrientation(6, false)
	binary.LittleEndian.PutUint32(lowIFD[4:], 2)
	manyEntries := tiffOrientation(6, true)
	binary.BigEndian.PutUint16(manyEntries[8:], 0xFFFF)
	manyEntries[11] = 0x13 // first entry is no longer the orientation tag

	tests := []struct {
		name string
		b    []byte
		want int
	}{
		{"empty", nil, 1},
		{"garbage", []byte("not a tiff at all"), 1},
		{"header only", []byte("II*\x00"), 1},
		{"long type", long, 6},
		{"exif prefix", append(append([]byte{}, exifHeader...), short...), 6},
		{"unknown type", badType, 1},
		{"ifd offset past end", farIFD, 1},
		{"ifd offset inside header", lowIFD, 1},
		{"entry count past end", manyEntries, 1},
		{"truncated entry", tiffOrientation(6, false)[:20], 1},
		{"zero", tiffOrientation(0, false), 1},
		{"nine", tiffOrientation(9, true), 1},
		{"max", tiffOrientation(0xFFFF, true), 1},
	}
	for o := 1; o <= 8; o++ {
		tests = append(tests,
			struct {
				name string
				b    []byte
				want int
			}{fmt.Sprintf("II %d", o), tiffOrientation(o, false), o},
			struct {
				name string
				b    []byte
				want int
			}{fmt.Sprintf("MM %d", o), tiffOrientation(o, true), o})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, exifOrientation(tt.b))
		})
	}
}

// cornerAt returns a point 1/8 of the way in from corner c ("tl", "tr",
// "bl", "br") of m.
func cornerAt(m *raster.RGB, c string) (x, y int) {
	dx, dy := m.W/16, m.H/16
	x, y = dx, dy
	if c[1] == 'r' {
		x = m.W - 1 - dx
	}
	if c[0] == 'b' {
		y = m.H - 1 - dy
	}
	return x, y
}

func TestDecodeOrientation(t *testing.T) {
	// The stored picture is 64x32 with red top left and green top right.
	jpg := encodeJPEG(t, testPattern(64, 32), 95)
	tests := []struct {
		orientation   int
		w, h          int
		red, greenish string // display corners of the stored top-left and top-right
	}{
		{1, 64, 32, "tl", "tr"},
		{2, 64, 32, "tr", "tl"},
		{3, 64, 32, "br", "bl"},
		{4, 64, 32, "bl", "br"},
		{5, 32, 64, "tl", "bl"},
		{6, 32, 64, "tr", "br"},
		{7, 32, 64, "br", "tr"},
		{8, 32, 64, "bl", "tl"},
	}
	for path, opt := range decodePaths() {
		for _, bigEndian := range []bool{false, true} {
			for _, minSide := range []int{0, 16} {
				for _, tt := range tests {
					name := fmt.Sprintf("%s/o%d/be=%v/min%d", path, tt.orientation, bigEndian, minSide)
					t.Run(name, func(t *testing.T) {
						data := withExif(jpg, tt.orientation, bigEndian)
						opt.MinSide = minSide
						res, err := Decode(data, opt)
						require.NoError(t, err)
						assert.Equal(t, tt.orientation, res.Orientation)
						assert.Equal(t, tt.w, res.Width)
						assert.Equal(t, tt.h, res.Height)
						scale := 1.0
						if minSide > 0 {
							scale = 0.5 // 32*4/8 = 16
						}
						assert.Equal(t, scale, res.Scale)
						require.Equal(t, int(float64(tt.w)*scale), res.Image.W)
						require.Equal(t, int(float64(tt.h)*scale), res.Image.H)

						x, y := cornerAt(res.Image, tt.red)
						assert.True(t, near(res.Image, x, y, red, 60), "red not at %s (%d,%d)", tt.red, x, y)
						x, y = cornerAt(res.Image, tt.greenish)
						assert.True(t, near(res.Image, x, y, green, 60), "green not at %s (%d,%d)", tt.greenish, x, y)
						for _, c := range []string{"tl", "tr", "bl", "br"} {
							if c != tt.red && c != tt.greenish {
								x, y = cornerAt(res.Image, c)
								assert.True(t, near(res.Image, x, y, gray, 30), "gray not at %s", c)
							}
						}

						_, w, h, err := Config(data)
						require.NoError(t, err)
						assert.Equal(t, tt.w, w)
						assert.Equal(t, tt.h, h)
					})
				}
			}
		}
	}
}

// TestOrientExact checks orient against a direct per-pixel definition.
func TestOrientExact(t *testing.T) {
	src := raster.New(5, 3)
	for i := range src.Pix {
		src.Pix[i] = uint8(i)
	}
	// Where the displayed pixel (x, y) comes from in the stored image.
	from := map[int]func(x, y int) (int, int){
		1: func(x, y int) (int, int) { return x, y },
		2: func(x, y int) (int, int) { return src.W - 1 - x, y },
		3: func(x, y int) (int, int) { return src.W - 1 - x, src.H - 1 - y },
		4: func(x, y int) (int, int) { return x, src.H - 1 - y },
		5: func(x, y int) (int, int) { return y, x },
		6: func(x, y int) (int, int) { return y, src.H - 1 - x },
		7: func(x, y int) (int, int) { return src.W - 1 - y, src.H - 1 - x },
		8: func(x, y int) (int, int) { return src.W - 1 - y, x },
	}
	for o, f := range from {
		got := orient(src, o)
		for y := range got.H {
			for x := range got.W {
				sx, sy := f(x, y)
				r, g, b := src.At(sx, sy)
				gr, gg, gb := got.At(x, y)
				require.Equal(t, [3]uint8{r, g, b}, [3]uint8{gr, gg, gb}, "orientation %d at %d,%d", o, x, y)
			}
		}
	}
	assert.Same(t, src, orient(src, 0))
	assert.Same(t, src, orient(src, 9))
}

func TestWebPOrientation(t *testing.T) {
	plain, err := Decode(fixture(t, "obama.webp"), Options{})
	require.NoError(t, err)
	rotated, err := Decode(fixture(t, "obama_exif6.webp"), Options{})
	require.NoError(t, err)
	assert.Equal(t, 6, rotated.Orientation)
	assert.True(t, bytes.Equal(orient(plain.Image, 6).Pix, rotated.Image.Pix))
}

func TestScanJPEGFirstExifWins(t *testing.T) {
	jpg := encodeJPEG(t, testPattern(32, 32), 90)
	data := withExif(withExif(jpg, 3, false), 6, true) // the 6 comes first
	h, err := scanJPEG(data)
	require.NoError(t, err)
	assert.Equal(t, 6, h.orientation)
}
