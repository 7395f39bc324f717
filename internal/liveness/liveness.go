// Package liveness is passive (single image) presentation-attack detection:
// it scores how likely a face in one image is a live person rather than a
// print or a screen replay, and turns the score into a decision at a
// security level whose threshold was calibrated on labelled data.
//
// Models are reached through the Model interface, so everything but Open
// is pure Go and testable with fake models. Which models run, how each
// crops and reads its input, and their weights in the fused score come from
// the models manifest (layers/models/manifest.json, the "liveness" object of
// an entry); the thresholds of the levels come from a calibration file made
// by `facelambda calibrate liveness` (levels/levels.json, embedded).
//
// # Scores
//
// Each model gives a live log-odds, log(p_live / (1 - p_live)) of its
// softmax, clamped to [-MaxLogit, MaxLogit]. The fused score is the
// weighted mean of the models' log-odds: higher means more live, 0 means
// even odds before calibration, and it is on no probability scale a caller
// should rely on; the levels' thresholds are what give it meaning.
package liveness

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/facelambda/facelambda/internal/geometry"
	"github.com/facelambda/facelambda/internal/raster"
)

// Model runs one network: a flat float32 [1,3,S,S] input, one flat slice
// per output.
type Model interface {
	Run(input []float32) ([][]float32, error)
}

// Spec says how one liveness model reads a face. It is the "liveness"
// object of a manifest entry.
type Spec struct {
	// Name is the manifest entry's name (set from the entry).
	Name string `json:"-"`
	// Size is the side of the square input (128 for fr_liveness, 80 for
	// MiniFASNet).
	Size int `json:"input_size"`
	// Crop is the context around the face.
	Crop Crop `json:"crop"`
	// Channels is "BGR" or "RGB"; values are raw 0-255.
	Channels string `json:"channels"`
	// Live is the index of the live class among the outputs (softmax).
	Live int `json:"live_index"`
	// Weight is the model's weight in the fused mean of log-odds (0 leaves
	// it out of the fusion; it is still reported).
	Weight float64 `json:"weight"`
	// Flip adds the horizontally mirrored crop and averages the two
	// log-odds (test-time augmentation).
	Flip bool `json:"flip,omitempty"`
	// Smooth resamples the crop with area averaging where it shrinks
	// (raster.Resize) instead of OpenCV-style plain bilinear sampling.
	Smooth bool `json:"smooth,omitempty"`
}

func (s Spec) validate() error {
	if s.Size < 8 || s.Size > 1024 {
		return fmt.Errorf("liveness model %s: input_size %d", s.Name, s.Size)
	}
	if s.Crop.Scale <= 0 {
		return fmt.Errorf("liveness model %s: crop scale must be positive", s.Name)
	}
	switch s.Crop.Mode {
	case "", CropShift, CropClamp, CropPad:
	default:
		return fmt.Errorf("liveness model %s: unknown crop mode %q", s.Name, s.Crop.Mode)
	}
	if c := strings.ToUpper(s.Channels); c != "BGR" && c != "RGB" {
		return fmt.Errorf("liveness model %s: channels must be BGR or RGB", s.Name)
	}
	if s.Live < 0 || s.Weight < 0 {
		return fmt.Errorf("liveness model %s: live_index and weight must not be negative", s.Name)
	}
	return nil
}

// MaxLogit bounds each model's log-odds, so that one saturated softmax
// cannot outvote the others without limit.
const MaxLogit = 12.0

// Scorer runs one liveness model on faces.
type Scorer struct {
	Spec
	m Model
}

// NewScorer checks spec and returns its scorer over m.
func NewScorer(spec Spec, m Model) (*Scorer, error) {
	if m == nil {
		return nil, fmt.Errorf("liveness model %s: no model", spec.Name)
	}
	if err := spec.validate(); err != nil {
		return nil, err
	}
	return &Scorer{Spec: spec, m: m}, nil
}

// Input returns the model's input tensor for face in img (mirrored when
// flip is set).
func (s *Scorer) Input(img *raster.RGB, face geometry.Box, flip bool) ([]float32, error) {
	r := s.Crop.Region(img.W, img.H, face)
	if r.W < 1 || r.H < 1 {
		return nil, errors.New("liveness: face box outside the image")
	}
	var crop *raster.RGB
	if s.Smooth {
		crop = raster.Resize(img, r, s.Size, s.Size)
		if flip {
			crop = mirror(crop)
		}
	} else {
		crop = cropResize(img, r, s.Size, flip)
	}
	return tensor(crop, strings.EqualFold(s.Channels, "BGR")), nil
}

// Score returns the model's live log-odds for face in img.
func (s *Scorer) Score(img *raster.RGB, face geometry.Box) (float64, error) {
	n := 1
	if s.Flip {
		n = 2
	}
	sum := 0.0
	for i := 0; i < n; i++ {
		in, err := s.Input(img, face, i == 1)
		if err != nil {
			return 0, err
		}
		out, err := s.m.Run(in)
		if err != nil {
			return 0, fmt.Errorf("liveness model %s: %w", s.Name, err)
		}
		if len(out) == 0 || len(out[0]) <= s.Live || len(out[0]) < 2 {
			return 0, fmt.Errorf("liveness model %s: unexpected output", s.Name)
		}
		sum += LiveLogit(out[0], s.Live)
	}
	return sum / float64(n), nil
}

// LiveLogit returns log(p / (1 - p)) for p the softmax of logits at index
// live, computed stably and clamped to [-MaxLogit, MaxLogit].
func LiveLogit(logits []float32, live int) float64 {
	mx := math.Inf(-1)
	for i, v := range logits {
		if i != live {
			mx = math.Max(mx, float64(v))
		}
	}
	var rest float64
	for i, v := range logits {
		if i != live {
			rest += math.Exp(float64(v) - mx)
		}
	}
	l := float64(logits[live]) - (mx + math.Log(rest))
	if math.IsNaN(l) {
		return -MaxLogit
	}
	return math.Max(-MaxLogit, math.Min(MaxLogit, l))
}

// Sigmoid maps a log-odds to a probability.
func Sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// Result is the liveness of one face.
type Result struct {
	// Score is the fused live log-odds (see the package documentation):
	// higher is more live. Compare it with a level's threshold.
	Score float64 `json:"score"`
	// Models holds each model's live log-odds by manifest name.
	Models map[string]float64 `json:"models"`
	// Fusion names the models and weights that made Score; a calibration
	// applies only to the fusion it was made for.
	Fusion string `json:"fusion"`
}

// Detector fuses the scores of several liveness models. It is safe for
// concurrent use when its models are.
type Detector struct {
	scorers []*Scorer
	fusion  string
	cal     *Calibration
}

// New returns a detector over the given scorers, fusing those with a
// positive weight; at least one must have one. The detector takes the
// embedded calibration made for that fusion when there is one.
func New(scorers ...*Scorer) (*Detector, error) {
	d := &Detector{}
	var w float64
	for _, s := range scorers {
		if s == nil {
			continue
		}
		d.scorers = append(d.scorers, s)
		w += s.Weight
	}
	if w <= 0 {
		return nil, errors.New("liveness: no model with a positive weight")
	}
	d.fusion = FusionName(d.scorers)
	if cals, err := Embedded(); err == nil {
		d.cal = cals.For(d.fusion)
	}
	return d, nil
}

// FusionName identifies a fusion: the weighted models, in order, as
// name*weight joined by "+", with "/flip" after models that mirror.
func FusionName(scorers []*Scorer) string {
	var parts []string
	for _, s := range scorers {
		if s.Weight <= 0 {
			continue
		}
		p := fmt.Sprintf("%s*%g", s.Name, s.Weight)
		if s.Flip {
			p += "/flip"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "+")
}

// Fusion identifies the detector's fusion (see FusionName).
func (d *Detector) Fusion() string { return d.fusion }

// Models lists the names of the detector's models.
func (d *Detector) Models() []string {
	var n []string
	for _, s := range d.scorers {
		n = append(n, s.Name)
	}
	return n
}

// ErrUncalibrated reports a detector whose fusion has no calibration.
var ErrUncalibrated = errors.New("liveness: no calibration for this model fusion; run `facelambda calibrate liveness`")

// Calibration returns the level thresholds made for the detector's fusion.
func (d *Detector) Calibration() (*Calibration, error) {
	if d.cal == nil {
		return nil, fmt.Errorf("%w (%s)", ErrUncalibrated, d.fusion)
	}
	return d.cal, nil
}

// SetCalibration replaces the detector's calibration (tests, tools); it
// must have been made for the detector's fusion.
func (d *Detector) SetCalibration(c *Calibration) error {
	if c != nil && c.Fusion != d.fusion {
		return fmt.Errorf("liveness: calibration is for %q, detector fuses %q", c.Fusion, d.fusion)
	}
	d.cal = c
	return nil
}

// Score measures the face (a detector box, in img's pixels) in img. Give
// it the image at the resolution the face was detected in, ideally the
// full decoded image: the calibration was made on full-resolution frames.
func (d *Detector) Score(img *raster.RGB, face geometry.Box) (Result, error) {
	if img == nil || img.W < 2 || img.H < 2 {
		return Result{}, errors.New("liveness: empty image")
	}
	if !(face.W > 0 && face.H > 0) {
		return Result{}, errors.New("liveness: empty face box")
	}
	res := Result{Models: make(map[string]float64, len(d.scorers)), Fusion: d.fusion}
	var sum, w float64
	for _, s := range d.scorers {
		l, err := s.Score(img, face)
		if err != nil {
			return Result{}, err
		}
		res.Models[s.Name] = l
		sum += s.Weight * l
		w += s.Weight
	}
	res.Score = sum / w
	return res, nil
}
