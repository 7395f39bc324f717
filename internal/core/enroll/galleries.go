package enroll

import (
	"context"
	"math"
	"regexp"
	"strconv"
	"time"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/store"
)

var galleryName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// MaxMembersPerCall bounds one membership change.
const MaxMembersPerCall = 1000

// GalleryJSON is a gallery resource.
type GalleryJSON struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Members     int       `json:"members"`
	Version     int64     `json:"version"`
	Created     time.Time `json:"created"`
}

func galleryOf(g store.Gallery) GalleryJSON {
	return GalleryJSON{Name: g.Name, Description: g.Description, Members: g.Members, Version: g.Version, Created: g.Created.UTC()}
}

// CreateGallery creates an empty gallery.
func (u *UseCases) CreateGallery(ctx context.Context, tenant, name, description string) (GalleryJSON, error) {
	if !galleryName.MatchString(name) {
		return GalleryJSON{}, fault.Invalid("name must be 1-64 of A-Z a-z 0-9 _ -")
	}
	if len(description) > 1024 {
		return GalleryJSON{}, fault.Invalid("description is longer than 1024 characters")
	}
	g := store.Gallery{Tenant: tenant, Name: name, Description: description, Created: u.now()}
	if err := u.Classes.CreateGallery(ctx, g); err != nil {
		return GalleryJSON{}, galleryError(err)
	}
	g, err := u.Classes.GetGallery(ctx, tenant, name)
	if err != nil {
		return GalleryJSON{}, galleryError(err)
	}
	return galleryOf(g), nil
}

// ListGalleries returns the tenant's galleries by name.
func (u *UseCases) ListGalleries(ctx context.Context, tenant string) ([]GalleryJSON, error) {
	gs, err := u.Classes.ListGalleries(ctx, tenant)
	if err != nil {
		return nil, galleryError(err)
	}
	out := make([]GalleryJSON, 0, len(gs))
	for _, g := range gs {
		out = append(out, galleryOf(g))
	}
	return out, nil
}

// DeleteGallery removes a gallery (not its classes) and what is kept of it.
func (u *UseCases) DeleteGallery(ctx context.Context, tenant, name string) error {
	if err := u.Classes.DeleteGallery(ctx, tenant, name); err != nil {
		return galleryError(err)
	}
	return u.Galleries.Drop(ctx, tenant, name)
}

// ChangeMembers adds class ids to a gallery (add) or removes them.
func (u *UseCases) ChangeMembers(ctx context.Context, tenant, name string, ids []uint64, add bool) (GalleryJSON, error) {
	if len(ids) == 0 || len(ids) > MaxMembersPerCall {
		return GalleryJSON{}, fault.Invalid("classIds must list 1 to %d class ids", MaxMembersPerCall)
	}
	for _, id := range ids {
		if id == 0 {
			return GalleryJSON{}, fault.Invalid("class ids are positive 64-bit numbers")
		}
	}
	change := u.Classes.RemoveMembers
	if add {
		change = u.Classes.AddMembers
	}
	g, err := change(ctx, tenant, name, ids)
	if err != nil {
		return GalleryJSON{}, galleryError(err)
	}
	return galleryOf(g), nil
}

// MemberPage is one page of a gallery's members.
type MemberPage struct {
	ClassIDs []uint64 `json:"classIds"`
	// Next is the value of ?after= for the next page; absent on the last.
	Next string `json:"next,omitempty"`
}

// Members returns up to limit members of a gallery after the class id after.
func (u *UseCases) Members(ctx context.Context, tenant, name string, after uint64, limit int) (MemberPage, error) {
	ids, next, err := u.Classes.Members(ctx, tenant, name, after, limit)
	if err != nil {
		return MemberPage{}, galleryError(err)
	}
	page := MemberPage{ClassIDs: ids}
	if page.ClassIDs == nil {
		page.ClassIDs = []uint64{}
	}
	if next != 0 {
		page.Next = strconv.FormatUint(next, 10)
	}
	return page, nil
}

// Candidate is one identification candidate.
type Candidate struct {
	ClassID             uint64  `json:"classId"`
	Score               float64 `json:"score"`
	FalseAcceptanceRate float64 `json:"falseAcceptanceRate"`
	Similarity          float64 `json:"similarity"`
}

// Identification is the answer of a 1:N identification.
type Identification struct {
	Status          string          `json:"status"`
	Errors          []JobError      `json:"errors"`
	ImageProperties ImageProperties `json:"imageProperties"`
	Candidates      []Candidate     `json:"candidates"`
	// CutOff is the FAR per comparison a candidate must reach.
	CutOff float64 `json:"cutOffFalseAcceptanceRate"`
	RefID  string  `json:"refid"`
	// Claims bind a signed identification to the tenant, the request, the
	// probe image and the gallery.
	*signing.Claims
	Signature string `json:"signature,omitempty"`
}

// SetSignature sets the signature (signing.Decision).
func (i *Identification) SetSignature(sig string) { i.Signature = sig }

// Bind sets the claims (signing.Decision).
func (i *Identification) Bind(c *signing.Claims) { i.Claims = c }

// CheckGallery reports a missing gallery (NOT_FOUND) before a probe is read.
func (u *UseCases) CheckGallery(ctx context.Context, tenant, name string) error {
	_, err := u.Classes.GetGallery(ctx, tenant, name)
	return galleryError(err)
}

// Probe is an identification request: the image, how many candidates at
// most (k) and the cut-off as a FAR per comparison.
type Probe struct {
	Image     []byte
	K         int
	CutOffFAR float64
	// RequestID is the request's transaction id (refid, and the request
	// the signature binds).
	RequestID string
}

// Identify searches a gallery for the face of the probe image: the
// candidates above the cut-off, best first, signed and bound to the image
// and the gallery, and published.
func (u *UseCases) Identify(ctx context.Context, tenant, name string, p Probe) (*Identification, error) {
	a, err := u.Bio.Analyze(p.Image, biometric.Options{Label: "image"})
	if err != nil {
		return nil, err
	}
	minCos, err := u.Bio.CosineAt(p.CutOffFAR)
	if err != nil {
		return nil, err
	}
	hits, err := u.Galleries.Identify(ctx, tenant, name, a.Template.Vector, p.K, minCos)
	if err != nil {
		return nil, galleryError(err)
	}
	res := Identification{Status: StatusSucceeded, Errors: []JobError{}, Candidates: []Candidate{},
		CutOff: p.CutOffFAR, RefID: p.RequestID,
		ImageProperties: ImageProperties{Rotated: a.Rotation, QualityScore: a.Quality, Faces: []FaceProperties{{
			LeftEye: Point{X: a.Landmarks.Eyes.X2, Y: a.Landmarks.Eyes.Y2}, RightEye: Point{X: a.Landmarks.Eyes.X1, Y: a.Landmarks.Eyes.Y1}, Box: &a.Box}},
			QualityAssessments: []Assessment{}}}
	if a.FaceCount > 1 {
		res.Errors = append(res.Errors, JobError{ErrorCode: "MultipleFacesFound", Message: "several faces found; the most prominent was searched"})
	}
	for _, h := range hits {
		far, score, err := u.Bio.Calibrated(h.Cosine)
		if err != nil {
			return nil, err
		}
		res.Candidates = append(res.Candidates, Candidate{ClassID: h.ClassID, Score: score, FalseAcceptanceRate: far, Similarity: math.Round(h.Cosine*1e6) / 1e6})
	}
	signErr := u.Signer.SignDecision(&res, tenant, p.RequestID, u.now(),
		signing.Subject{Role: "probe", ImageSHA256: a.Digest, TemplateSHA256: a.Template.Digest()}, signing.Subject{Role: "gallery", ID: name})
	ec := make([]events.Candidate, 0, len(res.Candidates))
	for _, c := range res.Candidates {
		ec = append(ec, events.Candidate{ClassID: c.ClassID, Score: c.Score, FalseAcceptanceRate: c.FalseAcceptanceRate})
	}
	u.emit(ctx)(events.NewIdentificationCompleted(tenant, events.IdentificationData{Gallery: name, Candidates: ec, RefID: res.RefID}))
	return &res, signErr
}
