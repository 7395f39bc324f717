package enroll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/template"
)

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
