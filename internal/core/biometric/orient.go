package biometric

import (
	"fmt"

	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/ml/face"
	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/raster"
)

// CheckUpright names the orientation check in QUALITY_CHECK_FAILED messages
// and enrolment assessments.
const CheckUpright = "FACE_UPRIGHT"

// found is the subject face of an image in the orientation it was measured in.
type found struct {
	quarters int         // quarter turns clockwise applied to the decoded image
	img      *raster.RGB // the decoded image so turned
	dets     []face.Detection
	subj     face.Detection
	face     *face.Face
}

// findFace detects and measures the subject face of img and makes sure it
// is upright. A face measuring face.UprightSure or more is taken as it is,
// at no extra cost. Otherwise (and, with rotate, when no face is found) the
// image is also searched turned 90, 180 and 270 degrees: the same face
// measuring face.UprightMargin higher in another orientation, and at least
// face.UprightFloor, is upright there. With rotate that orientation is used; without it the face is
// refused with QUALITY_CHECK_FAILED (FACE_UPRIGHT). It returns nil when no
// face is found.
func (s *Service) findFace(img *raster.RGB, rotate bool, label string) (*found, error) {
	first, err := s.measureAt(img, 0, nil)
	if err != nil || (first == nil && !rotate) || (first != nil && first.face.Quality.Upright >= face.UprightSure) {
		return first, err
	}
	var best *found
	for q := 1; q < 4; q++ {
		var near *geometry.Box
		if first != nil {
			b := turnBox(first.subj.Box, q, img.W, img.H)
			near = &b
		}
		c, err := s.measureAt(img, q, near)
		if err != nil {
			return nil, err
		}
		if c != nil && (best == nil || c.face.Quality.Upright > best.face.Quality.Upright) {
			best = c
		}
	}
	switch {
	case first == nil:
		return best, nil
	case best == nil || best.face.Quality.Upright < max(first.face.Quality.Upright+face.UprightMargin, face.UprightFloor):
		return first, nil
	case rotate:
		return best, nil
	}
	return nil, &fault.Error{Code: fault.CodeQualityCheck, Check: CheckUpright,
		Message: fmt.Sprintf("%s: quality check %s failed: the face is not upright (it is upright with the image turned %d degrees clockwise); send the image upright or set imageRotationEnabled",
			label, CheckUpright, 90*best.quarters)}
}

// measureAt detects the faces of img turned q quarters clockwise and
// measures the subject, or, when near is given (a box in the turned
// image's pixels), the face that overlaps it most. It returns nil when
// there is no such face.
func (s *Service) measureAt(img *raster.RGB, q int, near *geometry.Box) (*found, error) {
	pic := img.Rotate90(q)
	dets, err := s.eng.Detect(pic)
	if err != nil {
		return nil, internal(err)
	}
	if len(dets) == 0 {
		return nil, nil
	}
	pick := s.eng.Subject(dets)
	if near != nil {
		pick = -1
		bestIoU := 0.3 // the box of a turned face is not the upright one's
		for i, d := range dets {
			if iou := geometry.IoU(d.Box, *near); iou >= bestIoU {
				pick, bestIoU = i, iou
			}
		}
		if pick < 0 {
			return nil, nil
		}
	}
	f, err := s.eng.Analyze(pic, dets[pick])
	if err != nil {
		return nil, internal(err)
	}
	return &found{quarters: q, img: pic, dets: dets, subj: dets[pick], face: f}, nil
}

// turnBox returns box b of a w x h image in the pixels of the image turned q
// quarters clockwise (raster.RGB.Rotate90).
func turnBox(b geometry.Box, q, w, h int) geometry.Box {
	switch ((q % 4) + 4) % 4 {
	case 1:
		return geometry.Box{X: float64(h) - b.Y - b.H, Y: b.X, W: b.H, H: b.W}
	case 2:
		return geometry.Box{X: float64(w) - b.X - b.W, Y: float64(h) - b.Y - b.H, W: b.W, H: b.H}
	case 3:
		return geometry.Box{X: b.Y, Y: float64(w) - b.X - b.W, W: b.H, H: b.W}
	}
	return b
}
