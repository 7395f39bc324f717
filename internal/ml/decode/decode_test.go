package decode

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/facelambda/facelambda/internal/ml/raster"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decodePaths are the option sets every format test runs under: the
// default path (libjpeg-turbo where compiled in) and the pure-Go one.
func decodePaths() map[string]Options {
	return map[string]Options{"default": {}, "purego": {PureGo: true}}
}

// pixelCheck expects the pixel at (X, Y) of the decoded image to be within
// Tol of C.
type pixelCheck struct {
	X, Y int
	C    color.NRGBA
	Tol  int
}

var white = color.NRGBA{255, 255, 255, 255}

func TestDecodeFormats(t *testing.T) {
	pattern := testPattern(64, 48)
	patternChecks := func(tol int) []pixelCheck {
		return []pixelCheck{{4, 4, red, tol}, {60, 4, green, tol}, {32, 32, gray, tol}}
	}

	grayImg := image.NewGray(image.Rect(0, 0, 32, 24))
	for i := range grayImg.Pix {
		grayImg.Pix[i] = 100
	}
	gray16 := image.NewGray16(image.Rect(0, 0, 8, 8))
	for i := range gray16.Pix {
		gray16.Pix[i] = 0x40
	}

	// Alpha: left half opaque red, right half half-transparent red, bottom
	// row fully transparent.
	alpha := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	alpha64 := image.NewNRGBA64(image.Rect(0, 0, 8, 8))
	for y := range 8 {
		for x := range 8 {
			a := uint8(255)
			if x >= 4 {
				a = 128
			}
			if y == 7 {
				a = 0
			}
			alpha.SetNRGBA(x, y, color.NRGBA{255, 0, 0, a})
			alpha64.SetNRGBA64(x, y, color.NRGBA64{0xFFFF, 0, 0, uint16(a) * 0x101})
		}
	}
	halfRed := color.NRGBA{255, 127, 127, 255}
	alphaChecks := []pixelCheck{{1, 1, red, 0}, {6, 1, halfRed, 1}, {3, 7, white, 0}}

	rgba64 := image.NewRGBA64(image.Rect(0, 0, 8, 8))
	for i := range 64 {
		rgba64.SetRGBA64(i%8, i/8, color.RGBA64{0x1234, 0x5678, 0x9ABC, 0xFFFF})
	}

	pal := image.NewPaletted(image.Rect(0, 0, 8, 8), color.Palette{
		color.NRGBA{0, 0, 255, 255}, color.NRGBA{0, 0, 0, 0},
	})
	pal.SetColorIndex(7, 7, 1)

	// A GIF whose only frame covers part of the logical screen.
	frame := image.NewPaletted(image.Rect(8, 8, 24, 24), palette.Plan9)
	for i := range frame.Pix {
		frame.Pix[i] = uint8(frame.Palette.Index(color.NRGBA{0, 0, 255, 255}))
	}
	var offsetGIF bytes.Buffer
	require.NoError(t, gif.EncodeAll(&offsetGIF, &gif.GIF{
		Image:  []*image.Paletted{frame},
		Delay:  []int{0},
		Config: image.Config{ColorModel: frame.Palette, Width: 32, Height: 32},
	}))

	tests := []struct {
		name   string
		data   []byte
		format string
		w, h   int
		orient int
		checks []pixelCheck
	}{
		{"jpeg generated", encodeJPEG(t, pattern, 95), FormatJPEG, 64, 48, 1, patternChecks(40)},
		{"jpeg grayscale", encodeJPEG(t, grayImg, 95), FormatJPEG, 32, 24, 1,
			[]pixelCheck{{5, 5, color.NRGBA{100, 100, 100, 255}, 2}}},
		{"jpeg fixture", fixture(t, "obama.jpg"), FormatJPEG, 910, 1137, 1, nil},
		{"jpeg progressive", fixture(t, "obama_progressive.jpg"), FormatJPEG, 182, 227, 1, nil},
		{"jpeg cmyk", fixture(t, "obama_cmyk.jpg"), FormatJPEG, 182, 227, 1, nil},
		{"png rgb", encodePNG(t, pattern), FormatPNG, 64, 48, 1, patternChecks(0)},
		{"png nrgba alpha", encodePNG(t, alpha), FormatPNG, 8, 8, 1, alphaChecks},
		{"png 16-bit alpha", encodePNG(t, alpha64), FormatPNG, 8, 8, 1, alphaChecks},
		{"png 16-bit rgb", encodePNG(t, rgba64), FormatPNG, 8, 8, 1,
			[]pixelCheck{{3, 3, color.NRGBA{0x12, 0x56, 0x9A, 255}, 0}}},
		{"png gray", encodePNG(t, grayImg), FormatPNG, 32, 24, 1,
			[]pixelCheck{{5, 5, color.NRGBA{100, 100, 100, 255}, 0}}},
		{"png gray16", encodePNG(t, gray16), FormatPNG, 8, 8, 1,
			[]pixelCheck{{5, 5, color.NRGBA{0x40, 0x40, 0x40, 255}, 0}}},
		{"png palette", encodePNG(t, pal), FormatPNG, 8, 8, 1,
			[]pixelCheck{{0, 0, color.NRGBA{0, 0, 255, 255}, 0}, {7, 7, white, 0}}},
		{"png fixture rgba", fixture(t, "obama_rgba.png"), FormatPNG, 182, 227, 1,
			[]pixelCheck{{0, 0, white, 0}, {181, 226, white, 0}}},
		{"gif", encodeGIF(t, pattern), FormatGIF, 64, 48, 1, patternChecks(10)}, // Plan 9 palette
		{"gif frame offset", offsetGIF.Bytes(), FormatGIF, 32, 32, 1,
			[]pixelCheck{{0, 0, white, 0}, {10, 10, color.NRGBA{0, 0, 255, 255}, 0}, {30, 30, white, 0}}},
		{"webp lossy", fixture(t, "obama.webp"), FormatWebP, 182, 227, 1, nil},
		{"webp lossy alpha", fixture(t, "obama_alpha.webp"), FormatWebP, 182, 227, 1,
			[]pixelCheck{{0, 0, white, 2}, {181, 226, white, 2}}},
		{"webp lossless alpha", fixture(t, "obama_lossless.webp"), FormatWebP, 182, 227, 1,
			[]pixelCheck{{0, 0, white, 0}, {181, 226, white, 0}}},
		{"webp exif orientation 6", fixture(t, "obama_exif6.webp"), FormatWebP, 227, 182, 6, nil},
	}
	for path, opt := range decodePaths() {
		for _, tt := range tests {
			t.Run(path+"/"+tt.name, func(t *testing.T) {
				res, err := Decode(tt.data, opt)
				require.NoError(t, err)
				assert.Equal(t, tt.format, res.Format)
				assert.Equal(t, tt.w, res.Width)
				assert.Equal(t, tt.h, res.Height)
				assert.Equal(t, tt.orient, res.Orientation)
				assert.Equal(t, 1.0, res.Scale)
				require.Equal(t, tt.w, res.Image.W)
				require.Equal(t, tt.h, res.Image.H)
				require.Len(t, res.Image.Pix, tt.w*tt.h*3)
				for _, c := range tt.checks {
					r, g, b := res.Image.At(c.X, c.Y)
					assert.True(t, near(res.Image, c.X, c.Y, c.C, c.Tol),
						"pixel (%d,%d) = %d,%d,%d, want %v ±%d", c.X, c.Y, r, g, b, c.C, c.Tol)
				}

				format, w, h, err := Config(tt.data)
				require.NoError(t, err)
				assert.Equal(t, tt.format, format)
				assert.Equal(t, tt.w, w)
				assert.Equal(t, tt.h, h)
			})
		}
	}
}

// TestDecodeFixturesAgree checks the fixtures made from one picture decode
// to nearly the same pixels whatever their format.
func TestDecodeFixturesAgree(t *testing.T) {
	ref, err := Decode(fixture(t, "obama_progressive.jpg"), Options{PureGo: true})
	require.NoError(t, err)
	for _, name := range []string{"obama_cmyk.jpg", "obama.webp", "obama_progressive.jpg"} {
		for path, opt := range decodePaths() {
			t.Run(path+"/"+name, func(t *testing.T) {
				res, err := Decode(fixture(t, name), opt)
				require.NoError(t, err)
				// Each is a lossy encoding of the same picture, about 4 off it.
				assert.Less(t, meanAbsDiff(t, ref.Image, res.Image), 6.0)
			})
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	jpg := encodeJPEG(t, testPattern(64, 48), 90)
	pngData := encodePNG(t, testPattern(64, 48))
	random := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	// Cuts well inside the entropy-coded data.
	photo := fixture(t, "obama.jpg")
	progressive := fixture(t, "obama_progressive.jpg")
	cut, cutProgressive := photo[:len(photo)*6/10], progressive[:len(progressive)*6/10]
	// A truncated file with its end-of-image marker put back.
	holed := append(append([]byte{}, cut...), 0xFF, 0xD9)
	holedProgressive := append(append([]byte{}, cutProgressive...), 0xFF, 0xD9)

	// Go's encoder writes SOI, DQT, then the frame header.
	sof := 4 + (int(jpg[4])<<8 | int(jpg[5]))
	withSOF := func(marker, precision byte) []byte {
		b := append([]byte{}, jpg...)
		b[sof+1], b[sof+4] = marker, precision
		return b
	}

	tests := []struct {
		name    string
		data    []byte
		opt     Options
		want    error
		message string // expected in err.Error()
	}{
		{"empty", nil, Options{}, ErrEmpty, "no bytes"},
		{"random bytes", random, Options{}, ErrUnsupported, "not a JPEG, PNG, WebP or GIF"},
		{"text", []byte("hello, world"), Options{}, ErrUnsupported, ""},
		{"heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), Options{}, ErrUnsupported, "HEIC"},
		{"over max bytes", jpg, Options{MaxBytes: 100}, ErrTooLarge, fmt.Sprintf("%d bytes, more than the limit of 100 bytes", len(jpg))},
		{"over max bytes default", make([]byte, DefaultMaxBytes+1), Options{}, ErrTooLarge, ""},
		{"over max pixels", jpg, Options{MaxPixels: 1000}, ErrTooLarge, "64x48 is 3072 pixels, more than the limit of 1000 pixels"},
		{"hostile png", hostilePNG(100000, 100000), Options{}, ErrTooLarge, "100000x100000"},
		{"hostile gif", hostileGIF(65535, 65535), Options{}, ErrTooLarge, "65535x65535"},
		{"hostile jpeg", hostileJPEG(65535, 65535), Options{}, ErrTooLarge, "65535x65535"},
		{"hostile webp", hostileWebP(16384, 16384), Options{}, ErrTooLarge, "16384x16384"},
		{"zero-height jpeg", hostileJPEG(100, 0), Options{}, ErrCorrupt, "zero dimensions"},
		{"zero-size png", hostilePNG(0, 10), Options{}, ErrCorrupt, ""},
		{"truncated jpeg", cut, Options{}, ErrCorrupt, "truncated"},
		{"truncated jpeg purego", cut, Options{PureGo: true}, ErrCorrupt, "truncated"},
		{"truncated progressive jpeg", cutProgressive, Options{}, ErrCorrupt, "truncated"},
		{"truncated jpeg header", jpg[:100], Options{}, ErrCorrupt, "truncated"},
		{"truncated jpeg with eoi", holed, Options{}, ErrCorrupt, ""},
		{"truncated jpeg with eoi purego", holed, Options{PureGo: true}, ErrCorrupt, ""},
		{"truncated progressive jpeg with eoi", holedProgressive, Options{}, ErrCorrupt, ""},
		{"truncated progressive jpeg with eoi purego", holedProgressive, Options{PureGo: true}, ErrCorrupt, ""},
		{"truncated jpeg scaled", holed, Options{MinSide: 100}, ErrCorrupt, ""},
		{"truncated png", pngData[:len(pngData)/2], Options{}, ErrCorrupt, ""},
		{"truncated png header", pngData[:20], Options{}, ErrCorrupt, ""},
		{"truncated webp", fixture(t, "obama.webp")[:4000], Options{}, ErrCorrupt, ""},
		{"truncated gif", encodeGIF(t, testPattern(64, 48))[:300], Options{}, ErrCorrupt, ""},
		{"jpeg magic only", []byte{0xFF, 0xD8, 0xFF}, Options{}, ErrCorrupt, ""},
		{"animated webp", animatedWebP(), Options{}, ErrUnsupported, "animated"},
		{"12-bit jpeg", withSOF(0xC0, 12), Options{}, ErrUnsupported, "precision"},
		{"12-bit jpeg purego", withSOF(0xC0, 12), Options{PureGo: true}, ErrUnsupported, "precision"},
		{"lossless jpeg", withSOF(0xC3, 8), Options{}, ErrUnsupported, ""},
		{"lossless jpeg purego", withSOF(0xC3, 8), Options{PureGo: true}, ErrUnsupported, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Decode(tt.data, tt.opt)
			require.Error(t, err)
			assert.Nil(t, res)
			assert.ErrorIs(t, err, tt.want)
			for _, other := range []error{ErrEmpty, ErrTooLarge, ErrUnsupported, ErrCorrupt} {
				if other != tt.want {
					assert.NotErrorIs(t, err, other)
				}
			}
			assert.Contains(t, err.Error(), tt.message)
			t.Log(err)
		})
	}
}

// animatedWebP is a VP8X header with the animation flag set.
func animatedWebP() []byte {
	b := hostileWebP(10, 10)
	b[20] |= 1 << 1
	return b
}

// TestHostileHeadersDoNotAllocate checks that images claiming enormous
// dimensions are refused before any pixel memory is allocated.
func TestHostileHeadersDoNotAllocate(t *testing.T) {
	for name, data := range map[string][]byte{
		"png":  hostilePNG(100000, 100000),
		"gif":  hostileGIF(65535, 65535),
		"jpeg": hostileJPEG(65535, 65535),
		"webp": hostileWebP(16384, 16384),
	} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Decode(data, Options{})
			runtime.ReadMemStats(&after)
			require.ErrorIs(t, err, ErrTooLarge)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20))
		})
	}
}

// TestTurboWarnings checks the policy for libjpeg-turbo warnings: a benign
// one passes with Result.Warning set, damage is ErrCorrupt.
func TestTurboWarnings(t *testing.T) {
	jpg := encodeJPEG(t, testPattern(64, 48), 90)
	// Three junk bytes after the first marker segment (DQT).
	end := 4 + (int(jpg[4])<<8 | int(jpg[5]))
	junk := append(append(append([]byte{}, jpg[:end]...), 1, 2, 3), jpg[end:]...)
	for path, opt := range decodePaths() {
		t.Run(path, func(t *testing.T) {
			res, err := Decode(junk, opt)
			require.NoError(t, err)
			if Turbo && !opt.PureGo {
				assert.Contains(t, res.Warning, "extraneous bytes")
			} else {
				assert.Empty(t, res.Warning)
			}
			clean, err := Decode(jpg, opt)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(clean.Image.Pix, res.Image.Pix), "pixels differ")
		})
	}
}

func TestTrailingGarbageAccepted(t *testing.T) {
	jpg := encodeJPEG(t, testPattern(64, 48), 90)
	data := append(append([]byte{}, jpg...), bytes.Repeat([]byte{0, 0xFF, 0x12}, 100)...)
	for path, opt := range decodePaths() {
		t.Run(path, func(t *testing.T) {
			res, err := Decode(data, opt)
			require.NoError(t, err)
			assert.Equal(t, 64, res.Image.W)
		})
	}
}

func TestScaleEighths(t *testing.T) {
	tests := []struct {
		w, h, minSide, want int
	}{
		{4000, 3000, 0, 8},
		{4000, 3000, 720, 2},  // 3000*2/8 = 750
		{4000, 3000, 750, 2},  // exactly
		{4000, 3000, 751, 3},  // 1125
		{4000, 3000, 3000, 8}, // needs full size
		{4000, 3000, 5000, 8}, // larger than the image
		{640, 480, 300, 5},    // 300
		{640, 480, 60, 1},     // 60
		{640, 480, 61, 2},
		{7, 9, 1, 1},
		{1, 1, 1, 1},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, scaleEighths(tt.w, tt.h, tt.minSide), "%dx%d min %d", tt.w, tt.h, tt.minSide)
	}
}

func TestDecodeScaled(t *testing.T) {
	data := fixture(t, "obama.jpg") // 910x1137
	tests := []struct {
		minSide int
		w, h    int
	}{
		{0, 910, 1137},
		{300, 342, 427},   // 3/8
		{114, 114, 143},   // 1/8
		{910, 910, 1137},  // full
		{2000, 910, 1137}, // larger than the image
		{500, 569, 711},   // 5/8
	}
	for path, opt := range decodePaths() {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/min%d", path, tt.minSide), func(t *testing.T) {
				opt.MinSide = tt.minSide
				res, err := Decode(data, opt)
				require.NoError(t, err)
				assert.Equal(t, 910, res.Width)
				assert.Equal(t, 1137, res.Height)
				assert.Equal(t, tt.w, res.Image.W)
				assert.Equal(t, tt.h, res.Image.H)
				assert.InDelta(t, float64(tt.w)/910, res.Scale, 1.0/910)
				assert.GreaterOrEqual(t, min(res.Image.W, res.Image.H), min(tt.minSide, 910))
			})
		}
	}
}

// TestDecodeScaledOtherFormats checks non-JPEG images come back at the same
// size a JPEG would.
func TestDecodeScaledOtherFormats(t *testing.T) {
	for _, name := range []string{"obama.webp", "obama_rgba.png", "obama_cmyk.jpg"} {
		t.Run(name, func(t *testing.T) {
			res, err := Decode(fixture(t, name), Options{MinSide: 100}) // 182x227
			require.NoError(t, err)
			assert.Equal(t, 114, res.Image.W) // 5/8
			assert.Equal(t, 142, res.Image.H)
			assert.Equal(t, 5.0/8, res.Scale)
		})
	}
}

func TestBoxResize(t *testing.T) {
	src := raster.New(4, 2)
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 10)
	}
	dst := boxResize(src, 4)
	// Each output pixel averages a 2x2 block.
	want := []uint8{
		(0 + 30 + 120 + 150 + 2) / 4, (10 + 40 + 130 + 160 + 2) / 4, (20 + 50 + 140 + 170 + 2) / 4,
		(60 + 90 + 180 + 210 + 2) / 4, (70 + 100 + 190 + 220 + 2) / 4, (80 + 110 + 200 + 230 + 2) / 4,
	}
	assert.Equal(t, want, dst.Pix)
	assert.Same(t, src, boxResize(src, 8))
}

func TestToRGBGeneric(t *testing.T) {
	// image.Alpha has no fast path: white composited with alpha 0 is white.
	m := image.NewAlpha(image.Rect(0, 0, 2, 1))
	m.Pix[1] = 255
	got := toRGB(m)
	assert.Equal(t, []uint8{255, 255, 255, 255, 255, 255}, got.Pix)

	// YCbCr conversion matches color.YCbCrToRGB exactly for every ratio.
	for _, ratio := range []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	} {
		y := image.NewYCbCr(image.Rect(0, 0, 13, 7), ratio)
		rng := rand.New(rand.NewPCG(3, 4))
		for _, p := range [][]uint8{y.Y, y.Cb, y.Cr} {
			for i := range p {
				p[i] = uint8(rng.Uint32())
			}
		}
		// Odd and even origins and widths take different paths.
		for _, r := range []image.Rectangle{y.Rect, image.Rect(3, 1, 12, 6), image.Rect(2, 1, 11, 6), image.Rect(4, 2, 12, 7)} {
			sub := y.SubImage(r).(*image.YCbCr)
			got := toRGB(sub)
			studio := webpToRGB(sub)
			for py := r.Min.Y; py < r.Max.Y; py++ {
				for px := r.Min.X; px < r.Max.X; px++ {
					c := sub.YCbCrAt(px, py)
					r, g, b := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
					gr, gg, gb := got.At(px-sub.Rect.Min.X, py-sub.Rect.Min.Y)
					require.Equal(t, [3]uint8{r, g, b}, [3]uint8{gr, gg, gb}, "ratio %v at %d,%d", ratio, px, py)
					r, g, b = libwebpYUVToRGB(c.Y, c.Cb, c.Cr)
					gr, gg, gb = studio.At(px-sub.Rect.Min.X, py-sub.Rect.Min.Y)
					require.Equal(t, [3]uint8{r, g, b}, [3]uint8{gr, gg, gb}, "studio ratio %v at %d,%d", ratio, px, py)
				}
			}
		}
	}
}

// libwebpYUVToRGB is libwebp's VP8YuvToRgb (src/dsp/yuv.h), written out
// independently of studioRow.
func libwebpYUVToRGB(y, u, v uint8) (r, g, b uint8) {
	multHi := func(v, coeff int) int { return (v * coeff) >> 8 }
	clip8 := func(v int) uint8 {
		if v&^16383 == 0 {
			return uint8(v >> 6)
		}
		if v < 0 {
			return 0
		}
		return 255
	}
	Y, U, V := int(y), int(u), int(v)
	return clip8(multHi(Y, 19077) + multHi(V, 26149) - 14234),
		clip8(multHi(Y, 19077) - multHi(U, 6419) - multHi(V, 13320) + 8708),
		clip8(multHi(Y, 19077) + multHi(U, 33050) - 17685)
}
