package decode

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"testing"
)

// fuzzSeeds returns small valid images of every format, plus hostile and
// EXIF-bearing variants.
func fuzzSeeds(t testing.TB) [][]byte {
	pattern := testPattern(32, 24)
	gray := image.NewGray(image.Rect(0, 0, 16, 16))
	alpha := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	for i := range alpha.Pix {
		alpha.Pix[i] = uint8(i * 7)
	}
	pal := image.NewPaletted(image.Rect(0, 0, 8, 8), color.Palette{color.Black, color.Transparent})
	jpg := encodeJPEG(t, pattern, 80)
	return [][]byte{
		jpg,
		withExif(jpg, 6, false),
		withExif(jpg, 8, true),
		encodeJPEG(t, gray, 80),
		encodePNG(t, pattern),
		encodePNG(t, alpha),
		encodePNG(t, pal),
		encodeGIF(t, pattern),
		fixture(t, "obama.webp"),
		fixture(t, "obama_exif6.webp"),
		fixture(t, "obama_progressive.jpg"),
		hostilePNG(100000, 100000),
		hostileGIF(65535, 65535),
		hostileJPEG(65535, 65535),
		hostileWebP(16384, 16384),
	}
}

func FuzzDecode(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		for _, n := range []int{len(seed), len(seed) / 2, len(seed) - 2, 40} {
			if n > 0 && n <= len(seed) {
				f.Add(seed[:n], uint16(0), false)
				f.Add(seed[:n], uint16(20), true)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, minSide uint16, pureGo bool) {
		// A small pixel limit keeps each run fast; the limit logic is
		// exercised all the same.
		opt := Options{MaxPixels: 1 << 20, MinSide: int(minSide), PureGo: pureGo}
		res, err := Decode(data, opt)
		if err != nil {
			n := 0
			for _, sentinel := range []error{ErrEmpty, ErrTooLarge, ErrUnsupported, ErrCorrupt} {
				if errors.Is(err, sentinel) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error wraps %d sentinels: %v", n, err)
			}
			return
		}
		m := res.Image
		if m == nil || m.W <= 0 || m.H <= 0 || len(m.Pix) != m.W*m.H*3 {
			t.Fatalf("bad image: %v", m)
		}
		if m.W > res.Width || m.H > res.Height || res.Width*res.Height > opt.MaxPixels {
			t.Fatalf("image %dx%d from %dx%d", m.W, m.H, res.Width, res.Height)
		}
		if res.Scale <= 0 || res.Scale > 1 || res.Orientation < 1 || res.Orientation > 8 {
			t.Fatalf("scale %v orientation %d", res.Scale, res.Orientation)
		}
		format, w, h, err := Config(data)
		if err != nil || format != res.Format || w != res.Width || h != res.Height {
			t.Fatalf("Config = %s %dx%d %v, Decode = %s %dx%d", format, w, h, err, res.Format, res.Width, res.Height)
		}
	})
}

func FuzzEXIF(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("II*\x00\x08\x00\x00\x00"))
	for o := 1; o <= 8; o++ {
		f.Add(tiffOrientation(o, o%2 == 0))
	}
	f.Add(append(append([]byte{}, exifHeader...), tiffOrientation(6, false)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := exifOrientation(b); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
		// The same bytes as a JPEG APP1 segment and a WebP EXIF chunk.
		if len(b) < 0xFFF0 {
			app1 := []byte{0xFF, 0xD8, 0xFF, 0xE1, byte((len(b) + 8) >> 8), byte(len(b) + 8)}
			app1 = append(append(app1, exifHeader...), b...)
			if h, err := scanJPEG(app1); err == nil || h.orientation < 1 || h.orientation > 8 {
				t.Fatalf("scanJPEG = %+v, %v", h, err)
			}
		}
		riff := []byte("RIFF\x00\x00\x00\x00WEBPEXIF")
		riff = append(riff, byte(len(b)), byte(len(b)>>8), byte(len(b)>>16), byte(len(b)>>24))
		riff = append(riff, b...)
		if o := scanWebP(riff).orientation; o < 1 || o > 8 {
			t.Fatalf("scanWebP orientation %d", o)
		}
		if !bytes.HasPrefix(b, []byte("RIFF")) {
			return
		}
		scanWebP(b) // raw input as a container: must not panic
	})
}
