// Package liveness is passive (single image) presentation-attack detection:
// it scores how likely a face in one image is a live person rather than a
// print or a screen replay, and turns the score into a decision at a
// security level whose threshold was calibrated on labelled data.
//
// Models are reached through the Model interface, so scoring, metrics and
// levels are pure Go and testable with fake models; only Open and Load
// (open.go) reach ONNX Runtime. Which models run, how each
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
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/raster"
)

// Model runs one network: a flat float32 [1,3,S,S] input, one flat slice
// per output.
type Model interface {
	Run(input []float32) ([][]float32, error)
}

// Spec says how one liveness model reads a face. It is the "liveness"
// object of a manifest entry.
type Spec struct {
	// Name is the manifest entry's name and SHA256 its file's digest (set
	// from the entry; they identify the model in the fusion's name).
	Name   string `json:"-"`
	SHA256 string `json:"-"`
	// Size is the side of the square input (128 for fr_liveness, 80 for
	// MiniFASNet).
	Size int `json:"input_size"`
	// Crops are the contexts around the face the model sees; the model's
	// score is the mean of its log-odds over them (test-time augmentation
	// when there are several).
	Crops []Crop `json:"crops"`
	// Channels is "BGR" or "RGB"; values are raw 0-255.
	Channels string `json:"channels"`
	// Live is the index of the live class among the outputs (softmax).
	Live int `json:"live_index"`
	// Weight is the model's weight in the fused mean of log-odds. A model
	// of weight 0 is run and reported but takes no part in the score.
	Weight float64 `json:"weight"`
	// Flip adds the horizontally mirrored image of every crop to the mean
	// (test-time augmentation).
	Flip bool `json:"flip,omitempty"`
	// Smooth resamples the crop with area averaging where it shrinks
	// (raster.Resize) instead of OpenCV-style plain bilinear sampling.
	Smooth bool `json:"smooth,omitempty"`
}

func (s Spec) validate() error {
	if s.Size < 8 || s.Size > 1024 {
		return fmt.Errorf("liveness model %s: input_size %d", s.Name, s.Size)
	}
	if len(s.Crops) == 0 {
		return fmt.Errorf("liveness model %s: no crop", s.Name)
	}
	for _, c := range s.Crops {
		if !(c.Scale > 0) {
			return fmt.Errorf("liveness model %s: crop scale must be positive", s.Name)
		}
		switch c.Mode {
		case "", CropShift, CropClamp, CropPad:
		default:
			return fmt.Errorf("liveness model %s: unknown crop mode %q", s.Name, c.Mode)
		}
	}
	if c := strings.ToUpper(s.Channels); c != "BGR" && c != "RGB" {
		return fmt.Errorf("liveness model %s: channels must be BGR or RGB", s.Name)
	}
	if s.Live < 0 || !(s.Weight >= 0) {
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

// Input returns the model's input tensor for face in img seen through
// crop (mirrored when flip is set).
func (s *Scorer) Input(img *raster.RGB, face geometry.Box, crop Crop, flip bool) ([]float32, error) {
	r := crop.Region(img.W, img.H, face)
	if r.W < 1 || r.H < 1 {
		return nil, errors.New("liveness: face box outside the image")
	}
	var m *raster.RGB
	if s.Smooth {
		m = raster.Resize(img, r, s.Size, s.Size)
		if flip {
			m = mirror(m)
		}
	} else {
		m = cropResize(img, r, s.Size, flip)
	}
	return tensor(m, strings.EqualFold(s.Channels, "BGR")), nil
}

// Run runs the model on an input made by Input.
func (s *Scorer) Run(input []float32) ([][]float32, error) { return s.m.Run(input) }

// Score returns the model's live log-odds for face in img: the mean over
// its crops (and their mirror images when Flip is set).
func (s *Scorer) Score(img *raster.RGB, face geometry.Box) (float64, error) {
	sum, n := 0.0, 0
	for _, c := range s.Crops {
		for _, flip := range []bool{false, true} {
			if flip && !s.Flip {
				continue
			}
			in, err := s.Input(img, face, c, flip)
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
			n++
		}
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
	// Cues holds the image cues measured (only when the fusion weighs
	// some).
	Cues map[string]float64 `json:"cues,omitempty"`
	// Fusion names the models, cues and weights that made Score; a
	// calibration applies only to the fusion it was made for.
	Fusion string `json:"fusion"`
}

// CueWeight is an image cue's weight in the fused score (see Cues).
type CueWeight struct {
	Name   string  `json:"name"`
	Weight float64 `json:"weight"`
}

// Terms are what the fused score adds to the weighted mean of the models'
// log-odds: each image cue times its weight, and a constant offset that
// centres the score (0 about where bona fide and attacks are equally
// likely on the calibration data). It is the manifest's "liveness_terms"
// object.
type Terms struct {
	Cues   []CueWeight `json:"cues,omitempty"`
	Offset float64     `json:"offset,omitempty"`
}

func (t Terms) validate() error {
	for _, c := range t.Cues {
		if !slices.Contains(CueNames, c.Name) || math.IsNaN(c.Weight) || math.IsInf(c.Weight, 0) {
			return fmt.Errorf("liveness: unknown cue %q or bad weight", c.Name)
		}
	}
	if math.IsNaN(t.Offset) || math.IsInf(t.Offset, 0) {
		return errors.New("liveness: bad offset")
	}
	return nil
}

// Detector fuses the scores of several liveness models and image cues. It
// is safe for concurrent use when its models are.
type Detector struct {
	scorers []*Scorer
	terms   Terms
	fusion  string
	cal     *Calibration
}

// New returns a detector over the given scorers, fusing those with a
// positive weight; at least one must have one. The detector takes the
// embedded calibration made for that fusion when there is one.
func New(scorers ...*Scorer) (*Detector, error) { return NewFused(Terms{}, scorers...) }

// NewFused is New with terms (image cues, an offset) added to the fused
// score.
func NewFused(terms Terms, scorers ...*Scorer) (*Detector, error) {
	if err := terms.validate(); err != nil {
		return nil, err
	}
	terms.Cues = slices.Clone(terms.Cues)
	d := &Detector{terms: terms}
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
	d.fusion = FusionName(d.scorers, d.terms)
	if cals, err := Embedded(); err == nil {
		d.cal = cals.For(d.fusion)
	}
	return d, nil
}

// FusionName identifies a fusion: the weighted models as name*weight
// joined by "+", then "@" and the first 12 hex digits of the SHA-256 of
// their specs and file digests, so that any change to what makes the score
// (a model file, a crop, a weight) changes the name and orphans the
// calibrations made for the old one.
//
// Image cues in the fusion are named as cue*weight after the models (the
// offset is in the digest only).
func FusionName(scorers []*Scorer, terms Terms) string {
	var parts []string
	h := sha256.New()
	for _, s := range scorers {
		if s.Weight <= 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s*%g", s.Name, s.Weight))
		spec, _ := json.Marshal(s.Spec)
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", s.Name, s.SHA256, spec)
	}
	for _, c := range terms.Cues {
		parts = append(parts, fmt.Sprintf("%s*%g", c.Name, c.Weight))
		fmt.Fprintf(h, "cue\x00%s\x00%g\x00%s\x00", c.Name, c.Weight, cueVersion)
	}
	if terms.Offset != 0 {
		fmt.Fprintf(h, "offset\x00%g\x00", terms.Offset)
	}
	return strings.Join(parts, "+") + "@" + hex.EncodeToString(h.Sum(nil))[:12]
}

// Fusion identifies the detector's fusion (see FusionName).
func (d *Detector) Fusion() string { return d.fusion }

// Specs returns the specs of the detector's models.
func (d *Detector) Specs() []Spec {
	var out []Spec
	for _, s := range d.scorers {
		out = append(out, s.Spec)
	}
	return out
}

// Terms returns the cues and offset the detector adds to the models.
func (d *Detector) Terms() Terms {
	t := d.terms
	t.Cues = slices.Clone(t.Cues)
	return t
}

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

// WithCalibration returns a copy of the detector that uses c (made for the
// detector's fusion) instead of the embedded calibration; the detector
// itself, which Open shares, is left as it is.
func (d *Detector) WithCalibration(c *Calibration) (*Detector, error) {
	if c == nil {
		return nil, fmt.Errorf("%w (%s)", ErrUncalibrated, d.fusion)
	}
	if c.Fusion != d.fusion {
		return nil, fmt.Errorf("liveness: calibration is for %q, detector fuses %q", c.Fusion, d.fusion)
	}
	cp := *d
	cp.cal = c
	return &cp, nil
}

// MaxFaceHeight is the face box height (pixels) above which Score works on
// a box-filtered copy of the image reduced by an integer factor: the
// models' crops are sampled like OpenCV's resize, without averaging, so
// that a 12-megapixel selfie would otherwise reach them aliased. Faces in
// the calibration data are 85 to 431 pixels high and are not reduced.
const MaxFaceHeight = 480

// Score measures the face (a detector box, in img's pixels) in img. Give
// it the full decoded image (not a crop); large faces are reduced first
// (see MaxFaceHeight).
func (d *Detector) Score(img *raster.RGB, face geometry.Box) (Result, error) {
	if img == nil || img.W < 2 || img.H < 2 {
		return Result{}, errors.New("liveness: empty image")
	}
	if !(face.W > 0 && face.H > 0) {
		return Result{}, errors.New("liveness: empty face box")
	}
	img, face = Reduce(img, face)
	res := Result{Models: make(map[string]float64, len(d.scorers)), Fusion: d.fusion}
	for _, s := range d.scorers {
		l, err := s.Score(img, face)
		if err != nil {
			return Result{}, err
		}
		res.Models[s.Name] = l
	}
	if len(d.terms.Cues) > 0 {
		names := make([]string, len(d.terms.Cues))
		for i, c := range d.terms.Cues {
			names[i] = c.Name
		}
		res.Cues = CuesOf(img, face, names...)
	}
	res.Score = d.Fuse(res.Models, res.Cues)
	return res, nil
}

// Reduce returns img and face reduced by an integer factor when the face
// is higher than MaxFaceHeight (see there), else img and face unchanged.
func Reduce(img *raster.RGB, face geometry.Box) (*raster.RGB, geometry.Box) {
	if k := int(math.Ceil(face.H / MaxFaceHeight)); k >= 2 {
		small := raster.Shrink(img, k)
		sx, sy := float64(small.W)/float64(img.W), float64(small.H)/float64(img.H)
		return small, geometry.Box{X: face.X * sx, Y: face.Y * sy, W: face.W * sx, H: face.H * sy}
	}
	return img, face
}

// Fuse returns the fused score of per-model log-odds (by model name) and
// image cues (by cue name), as Score computes it: the weighted mean of the
// log-odds plus the weighted cues and the offset. Missing models count as 0 (even odds),
// missing cues as 0.
func (d *Detector) Fuse(models, cues map[string]float64) float64 {
	var sum, w float64
	for _, s := range d.scorers {
		sum += s.Weight * models[s.Name]
		w += s.Weight
	}
	sum = sum/w + d.terms.Offset
	for _, c := range d.terms.Cues {
		sum += c.Weight * cues[c.Name]
	}
	return sum
}

// Without returns a detector over the same models but those named (the
// fusion that runs when optional models are absent), and an error when
// no weighted model remains.
func (d *Detector) Without(names ...string) (*Detector, error) {
	var keep []*Scorer
	for _, s := range d.scorers {
		if !slices.Contains(names, s.Name) {
			keep = append(keep, s)
		}
	}
	return NewFused(d.terms, keep...)
}

// Weighted returns a detector over the weighted models only: the same
// fusion and calibration, without the cost of the models that are only
// reported.
func (d *Detector) Weighted() *Detector {
	var drop []string
	for _, s := range d.scorers {
		if s.Weight <= 0 {
			drop = append(drop, s.Name)
		}
	}
	if len(drop) == 0 {
		return d
	}
	w, err := d.Without(drop...)
	if err != nil {
		return d
	}
	w.cal = d.cal
	return w
}
