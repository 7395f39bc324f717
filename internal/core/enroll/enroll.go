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
	"time"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/uid"
)

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
