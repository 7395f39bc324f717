package decode

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"sync"
	"testing"

	"github.com/facelambda/facelambda/internal/ml/raster"
	"golang.org/x/image/draw"
)

// benchJPEGs caches the benchmark JPEGs by size.
var (
	benchMu    sync.Mutex
	benchJPEGs = map[[2]int][]byte{}
)

// benchImage returns obama.jpg resized to w x h and encoded at quality 90,
// made once per size.
func benchImage(b *testing.B, w, h int) []byte {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if data, ok := benchJPEGs[[2]int{w, h}]; ok {
		return data
	}
	src, err := jpeg.Decode(bytes.NewReader(fixture(b, "obama.jpg")))
	if err != nil {
		b.Fatal(err)
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.BiLinear.Scale(dst, dst.Rect, src, src.Bounds(), draw.Src, nil)
	data := encodeJPEG(b, dst, 90)
	benchJPEGs[[2]int{w, h}] = data
	return data
}

func BenchmarkDecode(b *testing.B) {
	sizes := []struct {
		name        string
		w, h        int
		faceMinSide int
	}{
		{"640x480", 640, 480, 240},
		{"12MP", 4000, 3000, 720},
	}
	paths := []struct {
		name   string
		pureGo bool
	}{{"turbo", false}, {"purego", true}}
	for _, size := range sizes {
		for _, path := range paths {
			for _, minSide := range []int{0, size.faceMinSide} {
				name := fmt.Sprintf("%s/%s/min%d", path.name, size.name, minSide)
				b.Run(name, func(b *testing.B) {
					if !path.pureGo && !Turbo {
						b.Skip("libjpeg-turbo not compiled in")
					}
					data := benchImage(b, size.w, size.h)
					opt := Options{MinSide: minSide, PureGo: path.pureGo}
					b.SetBytes(int64(len(data)))
					b.ReportAllocs()
					var res *Result
					for b.Loop() {
						var err error
						if res, err = Decode(data, opt); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(size.w*size.h)*float64(b.N)/1e6/b.Elapsed().Seconds(), "Mpx/s")
					b.ReportMetric(float64(res.Image.W), "out_w")
				})
			}
		}
	}
}

func BenchmarkOrient(b *testing.B) {
	src := raster.New(4000, 3000)
	for _, o := range []int{3, 6} {
		b.Run(fmt.Sprintf("12MP/o%d", o), func(b *testing.B) {
			for b.Loop() {
				orient(src, o)
			}
		})
	}
}

func BenchmarkBoxResize(b *testing.B) {
	src := raster.New(4000, 3000)
	for _, m := range []int{2, 3} {
		b.Run(fmt.Sprintf("12MP/%d-8", m), func(b *testing.B) {
			for b.Loop() {
				boxResize(src, m)
			}
		})
	}
}

func BenchmarkToRGB(b *testing.B) {
	data := benchImage(b, 4000, 3000)
	m, err := safeDecode(FormatJPEG, data, jpeg.Decode)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("12MP/ycbcr420", func(b *testing.B) {
		for b.Loop() {
			toRGB(m)
		}
	})
}
