// Package biometric is the application layer of the face service: it turns
// uploaded images into faces with templates and quality measures, applies
// the quality gates, and matches faces with calibrated scores. It knows
// nothing of HTTP or Lambda; the engine is reached through an interface.
package biometric

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/template"
	"github.com/facelambda/facelambda/internal/ml/decode"
	"github.com/facelambda/facelambda/internal/ml/face"
	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/raster"
)

// Engine is the face pipeline the service needs.
type Engine interface {
	Detect(img *raster.RGB) ([]face.Detection, error)
	Subject(dets []face.Detection) int
	Analyze(img *raster.RGB, d face.Detection) (*face.Face, error)
}

// Service creates and matches faces.
type Service struct {
	eng       Engine
	encoder   string
	cal       *calibration.Table
	decodeOpt decode.Options
	mode      string
	dims      int
	Now       func() time.Time
}

// Config configures a Service.
type Config struct {
	Encoder string // encoder id written into templates
	// Calibration maps cosine to FAR; without it the service can embed
	// faces (for calibration itself) but not compare them.
	Calibration *calibration.Table
	Decode      decode.Options // limits and scaled decoding
	// Mode is the algorithm name reported in the faces' "mode" field.
	Mode string
	// Dimensions is the length of the encoder's templates; 0 takes it from
	// an engine with an EmbeddingDims method (the model manifest).
	Dimensions int
}

// MinDecodeSide is the shorter side large images are decoded to before
// detection; faces that come out small are re-measured at full resolution.
const MinDecodeSide = 720

// New builds a service.
func New(eng Engine, cfg Config) (*Service, error) {
	if eng == nil || cfg.Encoder == "" {
		return nil, fmt.Errorf("biometric: engine and encoder are required")
	}
	if cfg.Calibration != nil && cfg.Calibration.Encoder != cfg.Encoder {
		return nil, fmt.Errorf("biometric: calibration table is for encoder %s, engine runs %s", cfg.Calibration.Encoder, cfg.Encoder)
	}
	if cfg.Decode.MinSide == 0 {
		cfg.Decode.MinSide = MinDecodeSide
	}
	if cfg.Mode == "" {
		cfg.Mode = cfg.Encoder
	}
	if d, ok := eng.(interface{ EmbeddingDims() int }); ok && cfg.Dimensions == 0 {
		cfg.Dimensions = d.EmbeddingDims()
	}
	if cfg.Dimensions < 1 || cfg.Dimensions > template.MaxDimensions {
		return nil, fmt.Errorf("biometric: encoder %s: template dimensions %d unknown or out of range", cfg.Encoder, cfg.Dimensions)
	}
	return &Service{eng: eng, encoder: cfg.Encoder, cal: cfg.Calibration, decodeOpt: cfg.Decode, mode: cfg.Mode, dims: cfg.Dimensions, Now: time.Now}, nil
}

// Encoder is the encoder id of the templates the service makes and accepts.
func (s *Service) Encoder() string { return s.encoder }

// ImageType says what kind of picture an image is.
type ImageType string

// Image types.
const (
	Selfie     ImageType = "SELFIE"
	IDDocument ImageType = "ID_DOCUMENT"
	VideoFrame ImageType = "VIDEO_FRAME"
)

// ParseImageType accepts the three types case-insensitively; "" is SELFIE.
func ParseImageType(s string) (ImageType, error) {
	switch t := ImageType(upper(s)); t {
	case "":
		return Selfie, nil
	case Selfie, IDDocument, VideoFrame:
		return t, nil
	}
	return "", fault.Invalid("imageType %q is not one of SELFIE, ID_DOCUMENT, VIDEO_FRAME", s)
}

// Options say how to process one image.
type Options struct {
	ImageType       ImageType
	RotationEnabled bool
	QualityMode     QualityMode
	// Single requires exactly one face (face creation); otherwise the
	// subject face is used and the others are only counted (matching).
	Single bool
	// Label names the image in error messages ("image", "candidateImage").
	Label string
	// Thumbnail asks for a JPEG of the subject face with some context
	// (Analysis.Thumbnail): what a template needs to be re-extracted by a
	// future encoder.
	Thumbnail bool
	// KeepImage keeps the decoded image and the subject's box in its pixels
	// (Analysis.Image, Analysis.ImageBox), for models that look at the
	// whole frame (liveness).
	KeepImage bool
}

// Box is a face box in original image pixels with its detection score.
type Box struct {
	X      float64 `json:"x"`
	Y      float64 `json:"y"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
	Score  float64 `json:"score"`
}

// Point is a landmark in original image pixels.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Eyes are the eye centres in the seed's layout: (x1, y1) is the eye on the
// image's left, (x2, y2) the one on its right.
type Eyes struct {
	X1 float64 `json:"x1"`
	Y1 float64 `json:"y1"`
	X2 float64 `json:"x2"`
	Y2 float64 `json:"y2"`
}

// Landmarks are the named points of a face.
type Landmarks struct {
	Eyes   Eyes  `json:"eyes"`
	Nose   Point `json:"nose"`
	MouthL Point `json:"mouthLeft"`
	MouthR Point `json:"mouthRight"`
}

// Analysis is everything measured on the subject face of one image.
type Analysis struct {
	Digest    string // SHA-256 of the image bytes, hex
	Format    string
	Width     int
	Height    int
	Rotation  int // degrees clockwise the image was turned to find the face
	FaceCount int
	Faces     []Box // every face found, in the (rotated) image's pixels
	Box       Box   // the subject face
	Landmarks Landmarks
	// Points are the 68 landmarks (iBUG order) in original image pixels:
	// what motion analysis (active liveness) works on.
	Points       []Point
	Measures     Measures
	Quality      int
	Template     template.Template
	MultipleFace bool
	// Thumbnail is the face crop asked for by Options.Thumbnail.
	Thumbnail []byte
	// Image and ImageBox are kept when Options.KeepImage asks for them.
	Image    *raster.RGB
	ImageBox geometry.Box
}

// Analyze decodes img, finds its faces and measures the subject.
func (s *Service) Analyze(img []byte, opt Options) (*Analysis, error) {
	if opt.Label == "" {
		opt.Label = "image"
	}
	res, err := decode.Decode(img, s.decodeOpt)
	if err != nil {
		return nil, imageError(opt.Label, err)
	}
	sum := sha256.Sum256(img)
	a := &Analysis{Digest: hex.EncodeToString(sum[:]), Format: res.Format, Width: res.Width, Height: res.Height}

	fnd, err := s.findFace(res.Image, opt.RotationEnabled, opt.Label)
	if err != nil {
		return nil, err
	}
	if fnd == nil {
		return nil, &fault.Error{Code: fault.CodeFaceNotFound,
			Message: fmt.Sprintf("%s: no face was found in the image", opt.Label)}
	}
	pic, scale, dets, subj, f := fnd.img, res.Scale, fnd.dets, fnd.subj, fnd.face
	a.Rotation = 90 * fnd.quarters
	if a.Rotation%180 == 90 {
		a.Width, a.Height = a.Height, a.Width
	}
	a.FaceCount = len(dets)
	a.MultipleFace = len(dets) > 1
	for _, d := range dets {
		a.Faces = append(a.Faces, toBox(d, scale))
	}
	if opt.Single && len(dets) > 1 {
		return nil, &fault.Error{Code: fault.CodeMultipleFaces,
			Message: fmt.Sprintf("%s: %d faces were found; exactly one is expected", opt.Label, len(dets))}
	}
	// A face that came out small in a downscaled decode is measured again at
	// full resolution, so downscaling never costs a small face its detail.
	if scale < 1 && f.Quality.InterEye < 48 {
		full, err := decode.Decode(img, decode.Options{MaxBytes: s.decodeOpt.MaxBytes, MaxPixels: s.decodeOpt.MaxPixels, PureGo: s.decodeOpt.PureGo})
		if err != nil {
			return nil, imageError(opt.Label, err)
		}
		fp := full.Image.Rotate90(a.Rotation / 90)
		k := float64(fp.W) / float64(pic.W)
		d := face.Detection{Score: subj.Score, Box: geometry.Box{X: subj.Box.X * k, Y: subj.Box.Y * k, W: subj.Box.W * k, H: subj.Box.H * k}}
		if f, err = s.eng.Analyze(fp, d); err != nil {
			return nil, internal(err)
		}
		scale = 1
	}
	a.Box = toBox(face.Detection{Box: f.Box, Score: subj.Score}, scale)
	pt := func(p geometry.Point) Point { return Point{round(p.X/scale, 2), round(p.Y/scale, 2)} }
	a.Landmarks = Landmarks{
		Eyes: Eyes{X1: pt(f.Points[0]).X, Y1: pt(f.Points[0]).Y, X2: pt(f.Points[1]).X, Y2: pt(f.Points[1]).Y},
		Nose: pt(f.Points[2]), MouthL: pt(f.Points[3]), MouthR: pt(f.Points[4]),
	}
	a.Points = make([]Point, len(f.Landmarks))
	for i, p := range f.Landmarks {
		a.Points[i] = Point{p.X / scale, p.Y / scale}
	}
	a.Measures = measures(f.Quality, [4]float64{a.Box.X, a.Box.Y, a.Box.Width, a.Box.Height}, scale)
	a.Quality = a.Measures.Score()
	a.Template = template.Template{Encoder: s.encoder, Vector: f.Embedding}
	if opt.Thumbnail {
		if a.Thumbnail, err = thumbnail(pic, subj.Box); err != nil {
			return nil, internal(err)
		}
	}
	if opt.KeepImage {
		a.Image, a.ImageBox = pic, subj.Box
	}
	if err := checkGates(opt.QualityMode, a.Measures, a.Quality); err != nil {
		e := err.(*fault.Error)
		e.Message = opt.Label + ": " + e.Message
		return nil, e
	}
	return a, nil
}

func toBox(d face.Detection, scale float64) Box {
	return Box{X: round(d.Box.X/scale, 1), Y: round(d.Box.Y/scale, 1), Width: round(d.Box.W/scale, 1),
		Height: round(d.Box.H/scale, 1), Score: round(d.Score, 4)}
}

func internal(err error) *fault.Error {
	return fault.Internal("internal error while processing the image", err)
}

// ParseTemplate decodes a base64 template and checks it was made by this
// service's encoder and that its vector can be the encoder's output (its
// dimensions, finite values of unit norm: template.Check). A template that
// fails is an INVALID_TEMPLATE (TEMPLATE_VERSION_MISMATCH for another
// encoder or format version).
func (s *Service) ParseTemplate(label, b64 string) (template.Template, error) {
	t, err := template.ParseBase64(b64, s.encoder)
	if err == nil {
		err = template.Check(t.Vector, s.dims)
	}
	if err != nil {
		return template.Template{}, templateError(label, err)
	}
	return t, nil
}

// Dimensions is the length of the encoder's templates.
func (s *Service) Dimensions() int { return s.dims }

// DetectAll decodes img and returns every face box, in original pixels.
func (s *Service) DetectAll(img []byte) ([]Box, error) {
	res, err := decode.Decode(img, s.decodeOpt)
	if err != nil {
		return nil, imageError("image", err)
	}
	dets, err := s.eng.Detect(res.Image)
	if err != nil {
		return nil, internal(err)
	}
	out := make([]Box, len(dets))
	for i, d := range dets {
		out[i] = toBox(d, res.Scale)
	}
	return out, nil
}

// thumbnail crops the face box enlarged 1.8 times (clamped to the image),
// scaled to at most 320 pixels a side, as a quality-90 JPEG: enough context
// for a detector and aligner to find the face again.
func thumbnail(img *raster.RGB, b geometry.Box) ([]byte, error) {
	side := math.Max(b.W, b.H) * 1.8
	c := b.Center()
	box := geometry.Box{X: math.Max(0, c.X-side/2), Y: math.Max(0, c.Y-side/2)}
	box.W = math.Min(float64(img.W), c.X+side/2) - box.X
	box.H = math.Min(float64(img.H), c.Y+side/2) - box.Y
	scale := math.Min(1, 320/math.Max(box.W, box.H))
	w, h := max(1, int(box.W*scale)), max(1, int(box.H*scale))
	return raster.EncodeJPEG(raster.Resize(img, box, w, h), 90)
}
