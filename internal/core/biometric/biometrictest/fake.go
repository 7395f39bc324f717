// Package biometrictest is a small fake of the face engine
// (biometric.Engine) for tests of handlers and services that do not claim
// accuracy: it runs without ONNX Runtime, detects the faces Picture draws
// and derives each face's unit embedding from its colour, so pictures of
// one identity match and pictures of two do not.
//
// A face, to the fake, is a square of strongly coloured pixels (the
// largest channel at least 96 above the smallest) on a grey background;
// its identity is its colour. Real photographs are not meant for it.
package biometrictest

import (
	"bytes"
	"cmp"
	"errors"
	"hash/fnv"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/ml/engine"
	"github.com/facelambda/facelambda/internal/ml/engine/enginetest"
	"github.com/facelambda/facelambda/internal/ml/face"
	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/modelset"
	"github.com/facelambda/facelambda/internal/ml/raster"
)

// Dims is the length of the fake's embeddings: the real encoder's.
const Dims = 512

// Engine is the fake face engine; its zero value is ready.
type Engine struct{}

// EmbeddingDims is Dims (biometric.New reads the template length from it).
func (Engine) EmbeddingDims() int { return Dims }

// grid is the number of cells the detector samples along an image's
// shorter side; a face covers at least minCells of them.
const (
	grid     = 64
	minCells = 9
)

// Detect finds the coloured squares of img, largest first.
func (Engine) Detect(img *raster.RGB) ([]face.Detection, error) {
	if img.W < 1 || img.H < 1 {
		return nil, errors.New("fake detect: empty image")
	}
	step := max(1, min(img.W, img.H)/grid)
	gw, gh := img.W/step, img.H/step
	marked := make([]bool, gw*gh)
	for gy := range gh {
		for gx := range gw {
			marked[gy*gw+gx] = coloured(img.At(gx*step+step/2, gy*step+step/2))
		}
	}
	var out []face.Detection
	seen := make([]bool, len(marked))
	for start := range marked {
		if !marked[start] || seen[start] {
			continue
		}
		// Flood the connected cells and take their bounding box.
		x0, y0, x1, y1, n := gw, gh, -1, -1, 0
		stack := []int{start}
		seen[start] = true
		for len(stack) > 0 {
			c := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := c%gw, c/gw
			x0, y0, x1, y1, n = min(x0, x), min(y0, y), max(x1, x), max(y1, y), n+1
			for _, nb := range [][2]int{{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}} {
				if nb[0] < 0 || nb[1] < 0 || nb[0] >= gw || nb[1] >= gh {
					continue
				}
				if i := nb[1]*gw + nb[0]; marked[i] && !seen[i] {
					seen[i] = true
					stack = append(stack, i)
				}
			}
		}
		if n < minCells {
			continue
		}
		out = append(out, face.Detection{Score: 0.99, Box: geometry.Box{X: float64(x0 * step), Y: float64(y0 * step),
			W: float64((x1 - x0 + 1) * step), H: float64((y1 - y0 + 1) * step)}})
	}
	slices.SortStableFunc(out, func(a, b face.Detection) int { return cmp.Compare(b.Box.W*b.Box.H, a.Box.W*a.Box.H) })
	return out, nil
}

// Subject is the largest face (the first).
func (Engine) Subject(dets []face.Detection) int { return 0 }

// Analyze measures face d of img: landmarks laid out in its box, the
// measures of a good frontal capture, and the embedding of its colour.
func (Engine) Analyze(img *raster.RGB, d face.Detection) (*face.Face, error) {
	b := d.Box
	if b.W < 1 || b.H < 1 {
		return nil, errors.New("fake analyze: empty box")
	}
	at := func(fx, fy float64) geometry.Point { return geometry.Point{X: b.X + fx*b.W, Y: b.Y + fy*b.H} }
	f := &face.Face{Detection: d,
		Points: [5]geometry.Point{at(0.3, 0.4), at(0.7, 0.4), at(0.5, 0.6), at(0.35, 0.8), at(0.65, 0.8)}}
	for i := range f.Landmarks {
		a := 2 * math.Pi * float64(i) / float64(len(f.Landmarks))
		f.Landmarks[i] = at(0.5+0.4*math.Cos(a), 0.5+0.4*math.Sin(a))
	}
	f.Quality = face.Quality{LeftEyeOpen: 0.95, RightEyeOpen: 0.95, PoseAvailable: true, Sharpness: 500,
		Brightness: 128, Uniformity: 1, InterEye: geometry.Dist(f.Points[0], f.Points[1]), Upright: face.UprightSure + 1}
	f.Embedding = Embedding(identity(img, b))
	return f, nil
}

// coloured says whether a pixel belongs to a face.
func coloured(r, g, b uint8) bool {
	return int(max(r, g, b))-int(min(r, g, b)) >= 96
}

// identity is the colour of the centre of box b, each channel quantised
// to 8 levels (JPEG keeps a flat square's colour well within a level).
func identity(img *raster.RGB, b geometry.Box) uint64 {
	var sum [3]float64
	n := 0
	for y := int(b.Y + b.H/4); y < int(b.Y+3*b.H/4) && y < img.H; y++ {
		for x := int(b.X + b.W/4); x < int(b.X+3*b.W/4) && x < img.W; x++ {
			r, g, bl := img.At(max(x, 0), max(y, 0))
			sum[0], sum[1], sum[2], n = sum[0]+float64(r), sum[1]+float64(g), sum[2]+float64(bl), n+1
		}
	}
	var id uint64
	for _, s := range sum {
		id = id<<3 | uint64(s/float64(max(n, 1)))/32
	}
	return id
}

// Embedding is the unit vector of identity id: a deterministic random
// direction, so two identities' cosine is near 0 and one's own is 1.
func Embedding(id uint64) []float32 {
	h := fnv.New64a()
	var b [8]byte
	for i := range b {
		b[i] = byte(id >> (8 * i))
	}
	_, _ = h.Write(b[:])
	rng := rand.New(rand.NewPCG(h.Sum64(), id))
	v := make([]float32, Dims)
	var norm float64
	for i := range v {
		x := rng.NormFloat64()
		v[i], norm = float32(x), norm+x*x
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(norm))
	}
	return v
}

// Face is one face of a Picture: identity ID (an index into a palette of
// twelve colours, wrapping) in a Size-pixel square at (X, Y).
type Face struct {
	ID, X, Y, Size int
}

// palette holds saturated colours at the centres of the quantisation
// levels identity uses.
var palette = []color.RGBA{
	{240, 48, 48, 255}, {48, 240, 48, 255}, {48, 48, 240, 255}, {240, 240, 48, 255},
	{240, 48, 240, 255}, {48, 240, 240, 255}, {240, 144, 48, 255}, {144, 48, 240, 255},
	{48, 144, 240, 255}, {240, 48, 144, 255}, {144, 240, 48, 255}, {48, 240, 144, 255},
}

// Picture is Draw encoded as JPEG.
func Picture(w, h int, faces ...Face) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, Draw(w, h, faces...), &jpeg.Options{Quality: 92}); err != nil {
		panic(err) // encoding to memory does not fail
	}
	return buf.Bytes()
}

// Draw is a w x h picture on a grey background with faces drawn on it: no
// face at all when none is given.
func Draw(w, h int, faces ...Face) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 128
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	for _, f := range faces {
		c := palette[((f.ID%len(palette))+len(palette))%len(palette)]
		for y := max(f.Y, 0); y < min(f.Y+f.Size, h); y++ {
			for x := max(f.X, 0); x < min(f.X+f.Size, w); x++ {
				img.SetRGBA(x, y, c)
			}
		}
	}
	return img
}

// Portrait is a 480 x 360 picture of one face of identity id, large enough
// for every quality gate (ENROL wants 60 pixels between the eyes).
func Portrait(id int) []byte { return Picture(480, 360, Face{ID: id, X: 140, Y: 80, Size: 200}) }

// Service is the biometric service on the fake engine, with the encoder id
// and the calibration table of the real embedding model (the manifest's),
// so its templates and scores read as the service's.
func Service() (*biometric.Service, error) {
	m, err := modelset.Embedded()
	if err != nil {
		return nil, err
	}
	f, err := m.Lookup("embedding")
	if err != nil {
		return nil, err
	}
	cal, err := calibration.Default(f.Encoder)
	if err != nil {
		return nil, err
	}
	return biometric.New(Engine{}, biometric.Config{Encoder: f.Encoder, Calibration: cal})
}

var (
	realOnce sync.Once
	realSvc  *biometric.Service
	realErr  error
)

// Real is the biometric service on the real models, built once per test
// binary; the test is skipped, saying so, when the layers are absent.
func Real(t testing.TB) *biometric.Service {
	t.Helper()
	cfg := enginetest.Config(t)
	realOnce.Do(func() {
		var eng *engine.Engine
		if eng, realErr = engine.Open(cfg); realErr != nil {
			return
		}
		var cal *calibration.Table
		if cal, realErr = calibration.Default(eng.Encoder); realErr != nil {
			return
		}
		realSvc, realErr = biometric.New(eng, biometric.Config{Encoder: eng.Encoder, Calibration: cal})
	})
	if realErr != nil {
		t.Fatal(realErr)
	}
	return realSvc
}
