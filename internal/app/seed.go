package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/transport/httpapi"
)

// The fixture that events/ refer to: the key their apikey header carries,
// and sessions and faces with fixed ids (tenant FixtureTenant).
const (
	FixtureKey     = "fl_local-development-key-do-not-use-in-production"
	FixtureTenant  = "events"
	FixtureSession = "0f8e2a4c-0000-4000-8000-000000000001" // image storage on, faces FixtureFace1..3
	DeleteSession  = "0f8e2a4c-0000-4000-8000-000000000002" // deleted by an event
	EmptySession   = "0f8e2a4c-0000-4000-8000-000000000003" // one face, deleted by the delete-faces event
	FixtureFace1   = "5b1d7c9e-0000-4000-8000-00000000000a" // obama.jpg
	FixtureFace2   = "5b1d7c9e-0000-4000-8000-00000000000b" // obama2.jpg
	FixtureFace3   = "5b1d7c9e-0000-4000-8000-00000000000c" // deleted by an event

	FixtureClass       = 1001 // obama.jpg enrolled; member of FixtureGallery
	FixtureClassOther  = 1002 // biden.jpg enrolled; member of FixtureGallery
	FixtureClassDelete = 1003 // erased by an event
	FixtureGallery     = "staff"
	FixtureGalleryDel  = "former-staff" // deleted by an event
	CreatedGallery     = "visitors"     // created by an event (removed by Seed so it can be again)
)

// SeedImages are the images of the fixture faces.
type SeedImages struct{ Reference, Candidate, Other []byte }

// Seed stores the fixture the event files refer to: the API key, three
// sessions and their faces (templates made by bio from the images). It
// replaces what a previous seed left.
func Seed(ctx context.Context, recs store.Records, blobs store.Blobs, bio *biometric.Service, img SeedImages, now time.Time) error {
	return SeedAll(ctx, &httpapi.Deps{Records: recs, Blobs: blobs, Bio: bio}, img, now)
}

// SeedAll stores the fixture, with the enrolment fixture (classes and
// galleries) when d has an enrolment service.
func SeedAll(ctx context.Context, d *httpapi.Deps, img SeedImages, now time.Time) error {
	recs, blobs, bio := d.Records, d.Blobs, d.Bio
	if err := recs.PutAPIKey(ctx, store.APIKey{Hash: auth.Hash(FixtureKey), Tenant: FixtureTenant, Name: "events fixture",
		Scopes: []string{auth.ScopeAll}, Created: now.UTC()}); err != nil {
		return fmt.Errorf("seed key: %w", err)
	}
	faces := map[string][]byte{}
	for id, b := range map[string][]byte{FixtureFace1: img.Reference, FixtureFace2: img.Candidate, FixtureFace3: img.Candidate} {
		a, err := bio.Analyze(b, biometric.Options{})
		if err != nil {
			return fmt.Errorf("seed face %s: %w", id, err)
		}
		faces[id] = mustJSON(map[string]any{"id": id, "mode": bio.Encoder(), "imageType": "SELFIE", "quality": a.Quality,
			"landmarks": a.Landmarks, "templateVersion": 1, "encoder": bio.Encoder(), "digest": a.Digest, "created": now.UTC()})
		tpl, _ := a.Template.MarshalBinary()
		faces[id+"/tpl"] = tpl
	}
	type seedFace struct {
		id    string
		image []byte
	}
	for _, s := range []struct {
		id    string
		store bool
		faces []seedFace
	}{
		{FixtureSession, true, []seedFace{{FixtureFace1, img.Reference}, {FixtureFace2, img.Candidate}, {FixtureFace3, img.Candidate}}},
		{DeleteSession, false, nil},
		{EmptySession, false, []seedFace{{FixtureFace3, nil}}},
	} {
		if err := recs.DeleteSession(ctx, FixtureTenant, s.id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("seed: clear session %s: %w", s.id, err)
		}
		sess := store.Session{Tenant: FixtureTenant, ID: s.id, CorrelationID: "events-fixture", ImageStorage: s.store,
			Created: now.UTC(), Expires: now.Add(24 * time.Hour).UTC()}
		if err := recs.CreateSession(ctx, sess); err != nil {
			return fmt.Errorf("seed session %s: %w", s.id, err)
		}
		for i, f := range s.faces {
			rec := store.Face{Tenant: FixtureTenant, SessionID: s.id, ID: f.id, Created: now.Add(time.Duration(i) * time.Millisecond).UTC(),
				Data: faces[f.id], Template: faces[f.id+"/tpl"], HasImage: f.image != nil}
			if rec.HasImage {
				if err := blobs.Put(ctx, httpapi.FaceImageKey(FixtureTenant, s.id, f.id), f.image, "image/jpeg"); err != nil {
					return fmt.Errorf("seed image %s: %w", f.id, err)
				}
			}
			if _, err := recs.PutFace(ctx, rec); err != nil {
				return fmt.Errorf("seed face %s: %w", f.id, err)
			}
		}
	}
	if d.Enroll == nil {
		return nil
	}
	for id, b := range map[uint64][]byte{FixtureClass: img.Reference, FixtureClassOther: img.Other, FixtureClassDelete: img.Other} {
		if err := d.Enroll.Delete(ctx, FixtureTenant, id); err != nil && !isNotFound(err) {
			return fmt.Errorf("seed: clear class %d: %w", id, err)
		}
		res, err := d.Enroll.Enroll(ctx, FixtureTenant, id, [][]byte{b})
		if err != nil {
			return fmt.Errorf("seed class %d: %w", id, err)
		}
		if res.EnrolledImages != 1 {
			return fmt.Errorf("seed class %d: %s %v", id, res.PerformedAction, res.Errors)
		}
	}
	// Classes the events enrol are removed too, so they start afresh (and a
	// table reused with another template key holds none it cannot open).
	for _, id := range []uint64{2001, 2002} {
		if err := d.Enroll.Delete(ctx, FixtureTenant, id); err != nil && !isNotFound(err) {
			return fmt.Errorf("seed: clear class %d: %w", id, err)
		}
	}
	if err := d.Classes.DeleteGallery(ctx, FixtureTenant, CreatedGallery); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("seed: clear gallery %s: %w", CreatedGallery, err)
	}
	for _, g := range []string{FixtureGallery, FixtureGalleryDel} {
		if err := d.Classes.DeleteGallery(ctx, FixtureTenant, g); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("seed: clear gallery %s: %w", g, err)
		}
		if err := d.Classes.CreateGallery(ctx, store.Gallery{Tenant: FixtureTenant, Name: g, Created: now.UTC()}); err != nil {
			return fmt.Errorf("seed gallery %s: %w", g, err)
		}
	}
	if _, err := d.Classes.AddMembers(ctx, FixtureTenant, FixtureGallery, []uint64{FixtureClass, FixtureClassOther}); err != nil {
		return fmt.Errorf("seed gallery members: %w", err)
	}
	return nil
}

func isNotFound(err error) bool {
	be := fault.As(err)
	return errors.Is(err, store.ErrNotFound) || be != nil && (be.Code == fault.CodeNotFound || be.Code == fault.CodeTemplateNotFound)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// FixtureImages reads the fixture's images from a folder of testdata/faces.
func FixtureImages(dir string) (SeedImages, error) {
	var img SeedImages
	var err error
	for name, dst := range map[string]*[]byte{"obama.jpg": &img.Reference, "obama2.jpg": &img.Candidate, "biden.jpg": &img.Other} {
		if *dst, err = os.ReadFile(filepath.Join(dir, name)); err != nil {
			return img, err
		}
	}
	return img, nil
}
