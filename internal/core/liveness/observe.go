package liveness

import (
	"math"
	"time"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/ml/geometry"
)

// Observe turns a frame's analysis into the challenge package's
// observation. The pose model's yaw is negated: it is positive when the
// subject turns to their right, the challenge package's when they turn to
// their left (measured on LFW against the landmark geometry).
func Observe(a *biometric.Analysis, at time.Duration) challenge.Observation {
	m := a.Measures
	o := challenge.Observation{Time: at, Faces: a.FaceCount, Roll: m.Roll, LeftEyeOpen: -1, RightEyeOpen: -1,
		Live: math.NaN(), Quality: a.Quality, Embedding: a.Template.Vector}
	if m.Yaw != nil && m.Pitch != nil {
		o.Yaw, o.Pitch, o.PoseAvailable = -*m.Yaw, *m.Pitch, true
	}
	if m.LeftEyeOpen != nil && m.RightEyeOpen != nil {
		o.LeftEyeOpen, o.RightEyeOpen = *m.LeftEyeOpen, *m.RightEyeOpen
	}
	o.Landmarks = make([]geometry.Point, len(a.Points))
	for i, p := range a.Points {
		o.Landmarks[i] = geometry.Point{X: p.X, Y: p.Y}
	}
	return o
}
