package evaluation

import (
	"os"
	"path/filepath"
	"sort"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/liveness"
	"github.com/facelambda/facelambda/internal/ml/raster"
	"github.com/facelambda/facelambda/internal/tools/dataset"
	"github.com/facelambda/facelambda/internal/tools/planar"
)

// identityPhotos lists the photos under root by identity (the folder a
// photo is in) and returns, in name order, the first maxIDs identities
// with at least minPhotos photos.
func identityPhotos(root string, minPhotos, maxIDs int) ([]string, map[string][]string, error) {
	paths, err := dataset.Images(root)
	if err != nil {
		return nil, nil, err
	}
	byID := map[string][]string{}
	for _, p := range paths {
		id := filepath.Base(filepath.Dir(p))
		byID[id] = append(byID[id], filepath.Join(root, p))
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var use []string
	for _, id := range ids {
		if len(byID[id]) >= minPhotos && len(use) < maxIDs {
			use = append(use, id)
		}
	}
	return use, byID, nil
}

// photo is one photo with what active liveness observes on it.
type photo struct {
	img []byte
	obs challenge.Observation
}

// observePhotos analyses each photo as active liveness does a frame,
// keeping those with exactly one face and its landmarks.
func observePhotos(svc *biometric.Service, paths []string) []photo {
	var out []photo
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if o, ok := observe(svc, b); ok {
			out = append(out, photo{b, o})
		}
	}
	return out
}

func observe(svc *biometric.Service, img []byte) (challenge.Observation, bool) {
	a, err := svc.Analyze(img, biometric.Options{QualityMode: biometric.QualityDisabled})
	if err != nil || a.FaceCount != 1 || len(a.Points) != challenge.NumLandmarks {
		return challenge.Observation{}, false
	}
	return liveness.Observe(a, 0), true
}

// observeTurned renders the decoded photo turned as a flat picture by yaw
// and pitch (a planar attack, 2.5 picture widths from the camera) and
// analyses it.
func observeTurned(svc *biometric.Service, img *raster.RGB, yaw, pitch float64) (challenge.Observation, bool) {
	m, err := planar.Turn(img, yaw, pitch, 2.5)
	if err != nil {
		return challenge.Observation{}, false
	}
	jpg, err := raster.EncodeJPEG(m, 90)
	if err != nil {
		return challenge.Observation{}, false
	}
	return observe(svc, jpg)
}
