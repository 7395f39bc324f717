// Package enroll is the application layer of enrolment: templates stored
// under a tenant's class ids (up to MaxVectors feature vectors each,
// encrypted at rest), verification of a probe image against them, their
// erasure, and upgrades to a new encoder from stored face thumbnails.
package enroll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/core/envelope"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/template"
	"github.com/facelambda/facelambda/internal/core/uid"
	"github.com/facelambda/facelambda/internal/ml/face"
)

// Sealer encrypts template payloads at rest, bound to tenant and class id so
// a stored template cannot be moved to another class or tenant.
type Sealer interface {
	SealTemplate(ctx context.Context, tenant string, classID uint64, plaintext []byte) ([]byte, error)
	OpenTemplate(ctx context.Context, tenant string, classID uint64, blob []byte) ([]byte, error)
}

// Service enrols, verifies and erases templates.
type Service struct {
	Bio     *biometric.Service
	Classes store.Classes
	Blobs   store.Blobs
	Sealer  Sealer
	// Thumbnails keeps a face thumbnail per enrolled image (seed 004's "full"
	// template), which lets a template be upgraded to a new encoder.
	Thumbnails bool
	// MaxVectors is the most feature vectors a template keeps (default 10).
	MaxVectors int
	// OnChange is called after a class's vectors change (galleries use it
	// to refresh their matrices). Optional.
	OnChange func(ctx context.Context, tenant string, classID uint64)
	// OnErase is called after a class is erased with the galleries it
	// belonged to (galleries delete their stored shards). Optional.
	OnErase func(ctx context.Context, tenant string, galleries []string) error
	Now     func() time.Time
}

// MaxImages is the most images one enrolment request may carry.
const MaxImages = 20

// vector is one feature vector of a template with what chose to keep it.
type vector struct {
	Template []byte    `json:"t"` // template.MarshalBinary
	Quality  int       `json:"q"`
	Enrolled time.Time `json:"at"`
	Thumb    string    `json:"th,omitempty"` // blob key of its thumbnail
}

// payload is what Class.Sealed holds once opened.
type payload struct {
	Vectors []vector `json:"v"`
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) maxVectors() int {
	if s.MaxVectors > 0 {
		return s.MaxVectors
	}
	return 10
}

// ParseClassID reads a class id: a positive 64-bit number.
func ParseClassID(raw string) (uint64, error) {
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil || id == 0 {
		return 0, fault.Invalid("classId %q is not a positive 64-bit number", raw)
	}
	return id, nil
}

// JobError is an entry of a response's errors list (seed 001/004).
type JobError struct {
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
}

// Point is an eye position in image pixels.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// FaceProperties describes the face found in an image.
type FaceProperties struct {
	LeftEye  Point          `json:"leftEye"`
	RightEye Point          `json:"rightEye"`
	Box      *biometric.Box `json:"box,omitempty"`
}

// Assessment is one quality check of an image.
type Assessment struct {
	Check   string  `json:"check"`
	Score   float64 `json:"score"`
	Message string  `json:"message,omitempty"`
}

// ImageProperties are the findings on one image (seed 001/004).
type ImageProperties struct {
	Rotated            int                 `json:"rotated"`
	Faces              []FaceProperties    `json:"faces"`
	QualityScore       int                 `json:"qualityScore"`
	QualityAssessments []Assessment        `json:"qualityAssessments"`
	FrameNumber        int                 `json:"frameNumber"`
	Measures           *biometric.Measures `json:"qualityMeasures,omitempty"`
}

// TemplateStatus is the state of a stored template (seed 004).
type TemplateStatus struct {
	ClassID          uint64      `json:"classId"`
	Available        bool        `json:"available"`
	Enrolled         *time.Time  `json:"enrolled,omitempty"`
	Updated          *time.Time  `json:"updated,omitempty"`
	Tags             []string    `json:"tags"`
	EncoderVersion   int         `json:"encoderVersion"`
	Encoder          string      `json:"encoder,omitempty"`
	FeatureVectors   int         `json:"featureVectors"`
	ThumbnailsStored int         `json:"thumbnailsStored"`
	EnrolledImages   int         `json:"enrolledImages"`
	Galleries        []string    `json:"galleries,omitempty"`
	Thumbnails       []Thumbnail `json:"thumbnails,omitempty"`
	// Outdated is set when the template was made by an older encoder and
	// cannot be used until it is upgraded (or re-enrolled).
	Outdated bool `json:"outdated,omitempty"`
}

// Thumbnail is an enrolled face thumbnail, base64 JPEG.
type Thumbnail struct {
	Enrolled time.Time `json:"enrolled"`
	Image    []byte    `json:"image"`
}

// EncoderVersion is the trailing version number of an encoder id
// ("fr_feature-512-v1" is 1).
func EncoderVersion(encoder string) int {
	i := strings.LastIndex(encoder, "-v")
	if i < 0 {
		return 0
	}
	v, _ := strconv.Atoi(encoder[i+2:])
	return v
}

// Actions reported in performedAction.
const (
	ActionNone      = "NONE"
	ActionCreated   = "NEW_TEMPLATE_CREATED"
	ActionUpdated   = "TEMPLATE_UPDATED"
	ActionUpgraded  = "TEMPLATE_UPGRADED"
	ActionFailed    = "ENROLLMENT_FAILED"
	StatusSucceeded = "SUCCEEDED"
)

// Result is the enrolment response of seed 004.
type Result struct {
	Status          string            `json:"status"`
	Errors          []JobError        `json:"errors"`
	ImageProperties []ImageProperties `json:"imageProperties"`
	PerformedAction string            `json:"performedAction"`
	EnrolledImages  int               `json:"enrolledImages"`
	TemplateStatus  TemplateStatus    `json:"templateStatus"`
}

// extracted is one enrolment image that yielded a feature vector.
type extracted struct {
	vec   vector
	thumb []byte
}

// analyse runs the pipeline on one enrolment image and says whether it can
// be enrolled; failures are reported in the image's assessments.
func (s *Service) analyse(img []byte, n int) (ImageProperties, *extracted, *JobError) {
	props := ImageProperties{Faces: []FaceProperties{}, QualityAssessments: []Assessment{}, FrameNumber: n}
	a, err := s.Bio.Analyze(img, biometric.Options{Label: fmt.Sprintf("images[%d]", n), Thumbnail: s.Thumbnails})
	var be *fault.Error
	if err != nil {
		if errors.As(err, &be) && be.Code == fault.CodeFaceNotFound {
			props.QualityAssessments = append(props.QualityAssessments, Assessment{Check: "FaceFound", Score: 0, Message: be.Message})
			return props, nil, nil
		}
		if errors.As(err, &be) && be.Code != fault.CodeInternal {
			if be.Check != "" { // a face refused by a quality check (FACE_UPRIGHT)
				props.QualityAssessments = append(props.QualityAssessments, Assessment{Check: "FaceFound", Score: 1},
					Assessment{Check: be.Check, Score: 0, Message: be.Message})
			}
			return props, nil, &JobError{ErrorCode: "InvalidImage", Message: be.Message}
		}
		return props, nil, &JobError{ErrorCode: "InternalError", Message: "internal error"}
	}
	props.Rotated = a.Rotation
	props.QualityScore = a.Quality
	m := a.Measures
	props.Measures = &m
	for _, f := range a.Faces {
		fb := f
		props.Faces = append(props.Faces, FaceProperties{Box: &fb})
	}
	if len(props.Faces) > 0 {
		// The eyes are the subject's; the image's left eye is the person's right.
		e := a.Landmarks.Eyes
		props.Faces[0] = FaceProperties{LeftEye: Point{e.X2, e.Y2}, RightEye: Point{e.X1, e.Y1}, Box: &a.Box}
	}
	props.QualityAssessments = append(props.QualityAssessments, Assessment{Check: "FaceFound", Score: 1})
	single := Assessment{Check: "SingleFaceOnImage", Score: 1}
	if a.FaceCount > 1 {
		single = Assessment{Check: "SingleFaceOnImage", Score: 0, Message: fmt.Sprintf("%d faces found", a.FaceCount)}
	}
	props.QualityAssessments = append(props.QualityAssessments, single)
	for _, c := range biometric.Assess(biometric.QualityEnrol, a.Measures, a.Quality) {
		as := Assessment{Check: c.Name, Score: 1, Message: c.Message}
		if !c.Passed {
			as.Score = 0
		}
		props.QualityAssessments = append(props.QualityAssessments, as)
	}
	if a.FaceCount > 1 {
		return props, nil, nil
	}
	tb, err := a.Template.MarshalBinary()
	if err != nil || len(a.Template.Vector) == 0 {
		props.QualityAssessments = append(props.QualityAssessments, Assessment{Check: "FaceFeaturesAvailable", Score: 0})
		return props, nil, nil
	}
	props.QualityAssessments = append(props.QualityAssessments, Assessment{Check: "FaceFeaturesAvailable", Score: 1})
	return props, &extracted{vec: vector{Template: tb, Quality: a.Quality, Enrolled: s.now()}, thumb: a.Thumbnail}, nil
}

// Enroll adds the images' feature vectors to the class's template (creating
// or upgrading it as needed). Conditional writes make concurrent enrolments
// into one class lose nothing.
func (s *Service) Enroll(ctx context.Context, tenant string, classID uint64, images [][]byte) (*Result, error) {
	if len(images) > MaxImages {
		return nil, fault.Invalid("at most %d images per enrolment, got %d", MaxImages, len(images))
	}
	res := &Result{Status: StatusSucceeded, Errors: []JobError{}, ImageProperties: []ImageProperties{}, PerformedAction: ActionNone}
	var fresh []extracted
	sawFace := false
	for i, img := range images {
		props, ex, jerr := s.analyse(img, i)
		res.ImageProperties = append(res.ImageProperties, props)
		if jerr != nil {
			res.Errors = append(res.Errors, *jerr)
		}
		if len(props.Faces) == 1 {
			sawFace = true
		}
		if ex != nil {
			fresh = append(fresh, *ex)
		}
	}
	if len(images) > 0 && len(fresh) == 0 {
		res.PerformedAction = ActionFailed
		code, msg := "NoFeatureVectors", "no feature vector could be extracted from the images"
		if !sawFace {
			code, msg = "NoSuitableFaceImage", "no image shows exactly one face"
		}
		res.Errors = append(res.Errors, JobError{ErrorCode: code, Message: msg})
		st, err := s.Status(ctx, tenant, classID, false)
		if err == nil {
			res.TemplateStatus = *st
		} else {
			res.TemplateStatus = TemplateStatus{ClassID: classID, Tags: []string{}}
		}
		return res, nil
	}

	// Thumbnails are stored before the template that names them.
	for i := range fresh {
		if s.Thumbnails && fresh[i].thumb != nil {
			key := ThumbnailPrefix(tenant, classID) + uid.New() + ".jpg"
			if err := s.Blobs.Put(ctx, key, fresh[i].thumb, "image/jpeg"); err != nil {
				return nil, fmt.Errorf("store thumbnail: %w", err)
			}
			fresh[i].vec.Thumb = key
		}
	}
	for attempt := 0; ; attempt++ {
		action, c, err := s.apply(ctx, tenant, classID, fresh)
		if errors.Is(err, store.ErrConflict) && attempt < 50 {
			time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
			continue
		}
		if err != nil {
			// No stored template names the fresh thumbnails: remove them.
			for _, f := range fresh {
				if f.vec.Thumb != "" {
					_ = s.Blobs.Delete(context.WithoutCancel(ctx), f.vec.Thumb)
				}
			}
			return nil, err
		}
		res.PerformedAction = action
		res.EnrolledImages = len(fresh)
		gs, _ := s.Classes.GalleriesOf(ctx, tenant, classID)
		res.TemplateStatus = s.statusOf(c, gs)
		if action != ActionNone && s.OnChange != nil {
			s.OnChange(ctx, tenant, classID)
		}
		return res, nil
	}
}

// ThumbnailPrefix is the blob-key prefix of a class's thumbnails.
func ThumbnailPrefix(tenant string, classID uint64) string {
	return store.ThumbnailPrefix(tenant, classID)
}

// apply reads the class, merges the fresh vectors (upgrading an outdated
// template from its thumbnails) and writes it back conditionally.
func (s *Service) apply(ctx context.Context, tenant string, classID uint64, fresh []extracted) (string, store.Class, error) {
	enc := s.Bio.Encoder()
	c, err := s.Classes.GetClass(ctx, tenant, classID)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", c, err
	}
	var p payload
	action := ActionCreated
	if exists {
		if p, err = s.open(ctx, c); err != nil {
			return "", c, err
		}
		action = ActionUpdated
		if c.Encoder != enc {
			upgraded, ok, err := s.upgrade(ctx, p)
			if err != nil {
				return "", c, err
			}
			if ok {
				p, action = upgraded, ActionUpgraded
			} else if len(fresh) > 0 {
				// Old vectors without thumbnails cannot be carried over:
				// the template starts again from the new images.
				p, action = payload{}, ActionUpgraded
			} else {
				return ActionNone, c, nil
			}
		} else if len(fresh) == 0 {
			return ActionNone, c, nil
		}
	} else {
		if len(fresh) == 0 {
			return ActionNone, store.Class{Tenant: tenant, ClassID: classID}, nil
		}
		c = store.Class{Tenant: tenant, ClassID: classID, Created: s.now()}
	}
	for _, f := range fresh {
		p.Vectors = append(p.Vectors, f.vec)
	}
	dropped := keepBest(&p, s.maxVectors())
	plain, err := json.Marshal(p)
	if err != nil {
		return "", c, err
	}
	sealed, err := s.Sealer.SealTemplate(ctx, tenant, classID, plain)
	if err != nil {
		return "", c, fmt.Errorf("seal template: %w", err)
	}
	c.Encoder, c.Sealed, c.Vectors = enc, sealed, len(p.Vectors)
	c.Enrolled += len(fresh)
	c.Updated = s.now()
	c.Thumbnails = nil
	for _, v := range p.Vectors {
		if v.Thumb != "" {
			c.Thumbnails = append(c.Thumbnails, v.Thumb)
		}
	}
	saved, err := s.Classes.PutClass(ctx, c)
	if err != nil {
		return "", c, err
	}
	for _, d := range dropped {
		if d.Thumb != "" {
			_ = s.Blobs.Delete(ctx, d.Thumb)
		}
	}
	return action, saved, nil
}

// keepBest keeps at most n vectors: the highest quality, the newest first
// among equals, and returns the dropped ones.
func keepBest(p *payload, n int) []vector {
	if len(p.Vectors) <= n {
		return nil
	}
	sort.SliceStable(p.Vectors, func(i, j int) bool {
		a, b := p.Vectors[i], p.Vectors[j]
		if a.Quality != b.Quality {
			return a.Quality > b.Quality
		}
		return a.Enrolled.After(b.Enrolled)
	})
	dropped := append([]vector(nil), p.Vectors[n:]...)
	p.Vectors = p.Vectors[:n]
	sort.SliceStable(p.Vectors, func(i, j int) bool { return p.Vectors[i].Enrolled.Before(p.Vectors[j].Enrolled) })
	return dropped
}

// upgrade re-extracts every vector of an outdated template from its
// thumbnail; ok is false when some vector has none.
func (s *Service) upgrade(ctx context.Context, old payload) (payload, bool, error) {
	var p payload
	for _, v := range old.Vectors {
		if v.Thumb == "" {
			return payload{}, false, nil
		}
		img, _, err := s.Blobs.Get(ctx, v.Thumb)
		if errors.Is(err, store.ErrNotFound) {
			return payload{}, false, nil
		}
		if err != nil {
			return payload{}, false, fmt.Errorf("upgrade: read thumbnail: %w", err)
		}
		a, err := s.Bio.Analyze(img, biometric.Options{Label: "thumbnail"})
		var be *fault.Error
		if errors.As(err, &be) && be.Code != fault.CodeInternal {
			return payload{}, false, nil // the new encoder finds no usable face in it
		}
		if err != nil {
			return payload{}, false, fmt.Errorf("upgrade: %w", err)
		}
		tb, err := a.Template.MarshalBinary()
		if err != nil {
			return payload{}, false, err
		}
		p.Vectors = append(p.Vectors, vector{Template: tb, Quality: a.Quality, Enrolled: v.Enrolled, Thumb: v.Thumb})
	}
	return p, true, nil
}

func (s *Service) open(ctx context.Context, c store.Class) (payload, error) {
	var p payload
	plain, err := s.Sealer.OpenTemplate(ctx, c.Tenant, c.ClassID, c.Sealed)
	if err != nil {
		return p, fmt.Errorf("open template of class %d: %w", c.ClassID, err)
	}
	if err := json.Unmarshal(plain, &p); err != nil {
		return p, fmt.Errorf("template of class %d: %w", c.ClassID, err)
	}
	return p, nil
}

func (s *Service) statusOf(c store.Class, galleries []string) TemplateStatus {
	st := TemplateStatus{ClassID: c.ClassID, Tags: c.Tags, Galleries: galleries}
	if st.Tags == nil {
		st.Tags = []string{}
	}
	if c.Version == 0 {
		return st
	}
	created, updated := c.Created.UTC(), c.Updated.UTC()
	st.Available = c.Vectors > 0
	st.Enrolled, st.Updated = &created, &updated
	st.Encoder, st.EncoderVersion = c.Encoder, EncoderVersion(c.Encoder)
	st.FeatureVectors, st.ThumbnailsStored, st.EnrolledImages = c.Vectors, len(c.Thumbnails), c.Enrolled
	st.Outdated = c.Encoder != s.Bio.Encoder()
	return st
}

// Status reports a class's template; with thumbnails, their images too.
// TEMPLATE_NOT_FOUND when there is no template.
func (s *Service) Status(ctx context.Context, tenant string, classID uint64, thumbnails bool) (*TemplateStatus, error) {
	c, err := s.Classes.GetClass(ctx, tenant, classID)
	if err != nil {
		return nil, notFound(err)
	}
	gs, err := s.Classes.GalleriesOf(ctx, tenant, classID)
	if err != nil {
		return nil, err
	}
	st := s.statusOf(c, gs)
	if thumbnails {
		p, err := s.open(ctx, c)
		if err != nil {
			return nil, err
		}
		for _, v := range p.Vectors {
			if v.Thumb == "" {
				continue
			}
			img, _, err := s.Blobs.Get(ctx, v.Thumb)
			if err != nil {
				continue
			}
			st.Thumbnails = append(st.Thumbnails, Thumbnail{Enrolled: v.Enrolled, Image: img})
		}
	}
	return &st, nil
}

func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fault.Wrap(fault.CodeTemplateNotFound, "no template for this class id", err)
	}
	return err
}

// Delete erases a class: its template, thumbnails and gallery memberships.
// The thumbnails removed are exactly those the removed template named, so
// an enrolment racing the delete keeps the thumbnails of the template it
// writes afterwards. Memberships of an id never enrolled are erased all the
// same, and then a missing template is reported as TEMPLATE_NOT_FOUND.
func (s *Service) Delete(ctx context.Context, tenant string, classID uint64) error {
	galleries, err := s.Classes.GalleriesOf(ctx, tenant, classID)
	if err != nil {
		return err
	}
	deleted, delErr := s.Classes.DeleteClass(ctx, tenant, classID)
	if delErr != nil && !errors.Is(delErr, store.ErrNotFound) {
		return delErr
	}
	for _, key := range deleted.Thumbnails {
		if err := s.Blobs.Delete(ctx, key); err != nil {
			return fmt.Errorf("delete thumbnail: %w", err)
		}
	}
	if s.OnErase != nil {
		if err := s.OnErase(ctx, tenant, galleries); err != nil {
			return err
		}
	}
	if delErr != nil {
		return notFound(delErr)
	}
	return nil
}

// Vectors returns a class's feature vectors (for identification). An
// outdated template gives a TEMPLATE_OUTDATED error.
func (s *Service) Vectors(ctx context.Context, c store.Class) ([][]float32, error) {
	if c.Encoder != s.Bio.Encoder() {
		return nil, &fault.Error{Code: fault.CodeTemplateOutdated,
			Message: fmt.Sprintf("the template of class %d was made by encoder %s; this service runs %s: enrol again (an empty enrolment upgrades it when thumbnails are stored)", c.ClassID, c.Encoder, s.Bio.Encoder())}
	}
	p, err := s.open(ctx, c)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, 0, len(p.Vectors))
	for _, v := range p.Vectors {
		t, err := template.Parse(v.Template, s.Bio.Encoder())
		if err != nil {
			return nil, fmt.Errorf("class %d: %w", c.ClassID, err)
		}
		out = append(out, t.Vector)
	}
	return out, nil
}

// Verification is the verify response of seed 001 plus calibrated figures.
type Verification struct {
	Status          string          `json:"status"`
	Errors          []JobError      `json:"errors"`
	ImageProperties ImageProperties `json:"imageProperties"`
	Verified        bool            `json:"verified"`
	Score           float64         `json:"score"`
	// The calibrated figures are absent when no comparison was made (no
	// face, several faces).
	MatchScore             *float64           `json:"matchScore,omitempty"`
	FalseAcceptanceRate    *float64           `json:"falseAcceptanceRate,omitempty"`
	Similarity             *float64           `json:"similarity,omitempty"`
	Level                  calibration.Level  `json:"level"`
	HighestLevelReached    *calibration.Level `json:"matchHighestSecurityLevelReached"`
	ComparedFeatureVectors int                `json:"comparedFeatureVectors"`
}

// Verify compares a probe image with the class's template and decides at
// level. The probe is scored against the template's centroid, the
// normalised mean of its vectors (docs/api.md).
func (s *Service) Verify(ctx context.Context, tenant string, classID uint64, img []byte, level calibration.Level) (*Verification, error) {
	c, err := s.Classes.GetClass(ctx, tenant, classID)
	if err != nil {
		return nil, notFound(err)
	}
	vecs, err := s.Vectors(ctx, c)
	if err != nil {
		return nil, err
	}
	if len(vecs) == 0 {
		return nil, notFound(store.ErrNotFound)
	}
	v := &Verification{Status: StatusSucceeded, Errors: []JobError{}, Level: level, ComparedFeatureVectors: len(vecs)}
	a, err := s.Bio.Analyze(img, biometric.Options{Label: "image"})
	if err != nil {
		var be *fault.Error
		if errors.As(err, &be) && be.Code == fault.CodeFaceNotFound {
			v.Errors = append(v.Errors, JobError{ErrorCode: "FaceNotFound", Message: be.Message})
			v.ImageProperties = ImageProperties{Faces: []FaceProperties{}, QualityAssessments: []Assessment{{Check: "FaceFound", Score: 0}}}
			return v, nil
		}
		return nil, err
	}
	v.ImageProperties = ImageProperties{Rotated: a.Rotation, QualityScore: a.Quality, Faces: []FaceProperties{{
		LeftEye: Point{a.Landmarks.Eyes.X2, a.Landmarks.Eyes.Y2}, RightEye: Point{a.Landmarks.Eyes.X1, a.Landmarks.Eyes.Y1}, Box: &a.Box}},
		QualityAssessments: []Assessment{{Check: "FaceFound", Score: 1}}}
	if a.FaceCount > 1 {
		v.Errors = append(v.Errors, JobError{ErrorCode: "MultipleFacesFound", Message: fmt.Sprintf("%d faces found; exactly one is expected", a.FaceCount)})
		v.ImageProperties.QualityAssessments = append(v.ImageProperties.QualityAssessments, Assessment{Check: "SingleFaceOnImage", Score: 0})
		return v, nil
	}
	probe := template.Template{Encoder: s.Bio.Encoder(), Vector: a.Template.Vector}
	ref := template.Template{Encoder: s.Bio.Encoder(), Vector: Centroid(vecs)}
	cmp, err := s.Bio.Compare(ref, probe, calibration.Selfie, level)
	if err != nil {
		return nil, err
	}
	v.Similarity, v.FalseAcceptanceRate, v.MatchScore = &cmp.Similarity, &cmp.FAR, &cmp.Score
	v.Verified = cmp.PossibleMatch != nil && *cmp.PossibleMatch
	v.HighestLevelReached = cmp.HighestLevel
	v.Score = NormalisedScore(cmp.Similarity)
	return v, nil
}

// Centroid is the normalised mean of a template's vectors: what a probe is
// compared with. On LFW it beats the best single vector and the mean
// cosine, and keeps the calibrated FAR closer to the truth
// (docs/accuracy.md, `facelambda eval template-fusion`).
func Centroid(vecs [][]float32) []float32 {
	c := make([]float32, len(vecs[0]))
	for _, v := range vecs {
		for i := range c {
			c[i] += v[i]
		}
	}
	return face.Normalize(c)
}

// NormalisedScore maps cosine similarity to seed 001's 0..1 score.
func NormalisedScore(cos float64) float64 {
	return max(0, min(1, (cos+1)/2))
}

// EnvelopeSealer seals templates with an envelope.Sealer, binding each to
// its tenant and class id (purpose "template").
type EnvelopeSealer struct{ Sealer *envelope.Sealer }

// SealTemplate encrypts a template payload.
func (e EnvelopeSealer) SealTemplate(ctx context.Context, tenant string, classID uint64, plaintext []byte) ([]byte, error) {
	return e.Sealer.Seal(ctx, plaintext, envelope.AAD{Tenant: tenant, ClassID: classID, Purpose: "template"})
}

// OpenTemplate decrypts a template payload sealed for this tenant and class.
func (e EnvelopeSealer) OpenTemplate(ctx context.Context, tenant string, classID uint64, blob []byte) ([]byte, error) {
	return e.Sealer.Open(ctx, blob, envelope.AAD{Tenant: tenant, ClassID: classID, Purpose: "template"})
}
