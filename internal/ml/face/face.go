// Package face is the face pipeline: detection, landmarks, alignment,
// embedding and quality measures. Models are reached through the Model
// interface, so this package has no cgo and its logic is testable alone.
package face

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/raster"
)

// Model runs one neural network: a flat float32 input laid out as the
// model's input shape, one flat slice per output.
type Model interface {
	Run(input []float32) ([][]float32, error)
}

// Models are the networks the pipeline needs. Eyes and Pose may be nil, in
// which case those quality measures are reported as unavailable.
type Models struct {
	Detector  Model // [1,3,240,320] -> scores [1,N,2], boxes [1,N,4]
	Landmarks Model // [1,1,64,64] -> [1,136]
	Embedding Model // [1,3,112,112] -> [1,512]
	Eyes      Model // [1,1,24,24] -> [1,2], class 0 closed
	Pose      Model // [1,3,224,224] -> yaw, pitch, roll [1,66] each
}

// Config holds the pipeline's tunable constants.
type Config struct {
	ScoreThreshold float64 // detector confidence, default 0.75
	NMSIoU         float64 // default 0.4
	SubjectMargin  float64 // faces within this score of the best compete on size, default 0.01
}

// DefaultConfig is the measured configuration (docs/accuracy.md): a score
// threshold of 0.75 rather than the 0.65 of the model notes halved the false
// faces on the detection set (4 to 2) and lost no true face there or on LFW.
var DefaultConfig = Config{ScoreThreshold: 0.75, NMSIoU: 0.4, SubjectMargin: 0.01}

// Engine runs the pipeline. It is safe for concurrent use when its models are.
type Engine struct {
	m   Models
	cfg Config
}

// New returns an engine over the given models.
func New(m Models, cfg Config) (*Engine, error) {
	if m.Detector == nil || m.Landmarks == nil || m.Embedding == nil {
		return nil, errors.New("face engine: detector, landmarks and embedding models are required")
	}
	if cfg.ScoreThreshold == 0 {
		cfg = DefaultConfig
	}
	return &Engine{m: m, cfg: cfg}, nil
}

// Detection is one face found by the detector, in image pixels.
type Detection struct {
	Box   geometry.Box
	Score float64
}

const (
	detW, detH = 320, 240
	alignSize  = 112
)

// Detect finds every face in img, best score first.
func (e *Engine) Detect(img *raster.RGB) ([]Detection, error) {
	if img.W < 1 || img.H < 1 {
		return nil, errors.New("detect: empty image")
	}
	lb := geometry.NewLetterbox(img.W, img.H, detW, detH)
	k := int(1 / lb.Scale)
	small := raster.Shrink(img, k)
	kk := float64(img.W) / float64(small.W) // exact shrink factor per axis
	a := 1 / (lb.Scale * kk)
	canvas := raster.Warp(small, geometry.Affine{a, 0, (0.5-lb.PadX)*a - 0.5, 0, a, (0.5-lb.PadY)*a - 0.5}, detW, detH)
	fillPad(canvas, lb, detPad)
	out, err := e.m.Detector.Run(chw(canvas, rgbOrder, centred, by128))
	if err != nil {
		return nil, fmt.Errorf("detect: %w", err)
	}
	if len(out) < 2 || len(out[0])%2 != 0 || len(out[1]) != len(out[0])*2 {
		return nil, fmt.Errorf("detect: unexpected detector outputs")
	}
	scores, boxes := out[0], out[1]
	var cand []geometry.Scored
	for i := 0; i < len(scores)/2; i++ {
		s := float64(scores[i*2+1])
		if s < e.cfg.ScoreThreshold {
			continue
		}
		p0 := lb.ToSource(geometry.Point{X: float64(boxes[i*4]) * detW, Y: float64(boxes[i*4+1]) * detH})
		p1 := lb.ToSource(geometry.Point{X: float64(boxes[i*4+2]) * detW, Y: float64(boxes[i*4+3]) * detH})
		b := clipBox(geometry.Box{X: p0.X, Y: p0.Y, W: p1.X - p0.X, H: p1.Y - p0.Y}, img.W, img.H)
		if b.W < 2 || b.H < 2 {
			continue
		}
		cand = append(cand, geometry.Scored{Box: b, Score: s})
	}
	kept := geometry.NMS(cand, e.cfg.NMSIoU)
	dets := make([]Detection, len(kept))
	for i, k := range kept {
		dets[i] = Detection{Box: k.Box, Score: k.Score}
	}
	return dets, nil
}

// detPad is the grey the letterbox padding is filled with (0 after the
// detector's (p-127)/128 normalisation).
var detPad uint8 = 127

// fillPad paints the letterbox margins, which Warp leaves black.
func fillPad(c *raster.RGB, lb geometry.Letterbox, v uint8) {
	x0, y0 := int(math.Floor(lb.PadX)), int(math.Floor(lb.PadY))
	x1, y1 := c.W-x0, c.H-y0
	for y := 0; y < c.H; y++ {
		for x := 0; x < c.W; x++ {
			if x < x0 || x >= x1 || y < y0 || y >= y1 {
				i := (y*c.W + x) * 3
				c.Pix[i], c.Pix[i+1], c.Pix[i+2] = v, v, v
			}
		}
	}
}

func clipBox(b geometry.Box, w, h int) geometry.Box {
	x0, y0 := math.Max(b.X, 0), math.Max(b.Y, 0)
	x1, y1 := math.Min(b.X+b.W, float64(w)), math.Min(b.Y+b.H, float64(h))
	return geometry.Box{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}
}

// Subject picks the face an image is about: among faces scoring within the
// margin of the best, the largest. It returns -1 for no faces.
func (e *Engine) Subject(dets []Detection) int {
	if len(dets) == 0 {
		return -1
	}
	best := 0
	for i, d := range dets {
		if d.Score > dets[best].Score {
			best = i
		}
	}
	pick := best
	for i, d := range dets {
		if dets[best].Score-d.Score <= e.cfg.SubjectMargin && d.Box.Area() > dets[pick].Box.Area() {
			pick = i
		}
	}
	return pick
}

// Face is a detected face with everything measured on it, in the pixels of
// the image given to Analyze.
type Face struct {
	Detection
	Landmarks [68]geometry.Point
	// Points are the five alignment points: the eye on the image's left, the
	// eye on the image's right, the nose tip, the left and right mouth corners.
	Points    [5]geometry.Point
	Embedding []float32 // L2-normalised
	Aligned   *raster.RGB
	Quality   Quality
}

// maxFaceSide is the face size (pixels) above which Analyze works on a
// box-filtered copy of the image: the models see at most 224 pixels of a
// face, and resampling a large face straight down costs more than the
// models do.
const maxFaceSide = 320

// Analyze measures one detected face: landmarks, alignment, embedding and
// quality. Coordinates and pixel measures are in img's pixels.
func (e *Engine) Analyze(img *raster.RGB, d Detection) (*Face, error) {
	if k := int(math.Max(d.Box.W, d.Box.H) / maxFaceSide); k >= 2 {
		small := raster.Shrink(img, k)
		sx, sy := float64(small.W)/float64(img.W), float64(small.H)/float64(img.H)
		sd := d
		sd.Box = geometry.Box{X: d.Box.X * sx, Y: d.Box.Y * sy, W: d.Box.W * sx, H: d.Box.H * sy}
		f, err := e.analyze(small, sd)
		if err != nil {
			return nil, err
		}
		f.Detection = d
		for i := range f.Landmarks {
			f.Landmarks[i] = geometry.Point{X: f.Landmarks[i].X / sx, Y: f.Landmarks[i].Y / sy}
		}
		for i := range f.Points {
			f.Points[i] = geometry.Point{X: f.Points[i].X / sx, Y: f.Points[i].Y / sy}
		}
		f.Quality.InterEye /= sx
		return f, nil
	}
	return e.analyze(img, d)
}

func (e *Engine) analyze(img *raster.RGB, d Detection) (*Face, error) {
	f := &Face{Detection: d}
	if err := e.landmarks(img, f); err != nil {
		return nil, err
	}
	m, ok := geometry.Similarity(f.Points[:], reference[:])
	if !ok {
		return nil, errors.New("align: degenerate landmarks")
	}
	toSrc, ok := m.Invert()
	if !ok {
		return nil, errors.New("align: singular transform")
	}
	f.Aligned = raster.Warp(img, toSrc, alignSize, alignSize)
	out, err := e.m.Embedding.Run(chw(f.Aligned, bgrOrder, centred, by128))
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	if len(out) == 0 || len(out[0]) == 0 {
		return nil, errors.New("embed: empty output")
	}
	f.Embedding = Normalize(out[0])
	if err := e.measure(img, f); err != nil {
		return nil, err
	}
	if err := e.upright(img, f, l2(out[0])); err != nil {
		return nil, err
	}
	return f, nil
}

// reference holds the five points of the 112x112 aligned face (ArcFace layout).
var reference = [5]geometry.Point{
	{X: 38.2946, Y: 51.6963}, {X: 73.5318, Y: 51.5014}, {X: 56.0252, Y: 71.7366},
	{X: 41.5493, Y: 92.3655}, {X: 70.7299, Y: 92.2041},
}

func (e *Engine) landmarks(img *raster.RGB, f *Face) error {
	b := f.Box
	side := math.Sqrt(b.W * b.H)
	c := b.Center()
	crop := 1.1 * side
	box := geometry.Box{X: c.X - 0.05*side - crop/2, Y: c.Y - crop/2, W: crop, H: crop}
	patch := raster.Resize(img, box, 64, 64)
	g := patch.Gray()
	for i := range g {
		g[i] /= 256
	}
	out, err := e.m.Landmarks.Run(g)
	if err != nil {
		return fmt.Errorf("landmarks: %w", err)
	}
	if len(out) == 0 || len(out[0]) != 136 {
		return errors.New("landmarks: unexpected output")
	}
	for i := 0; i < 68; i++ {
		f.Landmarks[i] = geometry.Point{X: box.X + float64(out[0][2*i])*box.W, Y: box.Y + float64(out[0][2*i+1])*box.H}
	}
	mean := func(idx ...int) geometry.Point {
		var p geometry.Point
		for _, i := range idx {
			p.X += f.Landmarks[i].X
			p.Y += f.Landmarks[i].Y
		}
		return geometry.Point{X: p.X / float64(len(idx)), Y: p.Y / float64(len(idx))}
	}
	f.Points = [5]geometry.Point{
		mean(37, 38, 40, 41), mean(43, 44, 46, 47), f.Landmarks[30], mean(48, 60), mean(54, 64),
	}
	return nil
}

// Normalize returns v scaled to unit L2 norm (v itself when it is zero).
func Normalize(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return v
	}
	inv := float32(1 / math.Sqrt(s))
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = x * inv
	}
	return out
}

// Cosine is the cosine similarity of a and b: their dot product divided by
// both norms, so it relies on nothing from the caller. It is always finite
// and in [-1, 1]: vectors of different lengths, empty or all-zero vectors,
// and vectors holding NaN or infinite values score 0 (no similarity). The
// sums run in float64, where float32 values can neither overflow (a square
// is at most about 1.2e77) nor lose their small values.
func Cosine(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	c := dot / (math.Sqrt(na) * math.Sqrt(nb))
	if math.IsNaN(c) || math.IsInf(c, 0) {
		return 0
	}
	return max(-1, min(1, c))
}

// SortBySize orders detections largest first (for stable reporting).
func SortBySize(d []Detection) {
	sort.SliceStable(d, func(i, j int) bool { return d[i].Box.Area() > d[j].Box.Area() })
}
