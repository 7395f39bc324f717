package biometric

import (
	"fmt"
	"math"
	"strings"

	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/ml/face"
)

// QualityMode selects the quality gates applied when a face is created
// (the ENROL / VERIFY / DISABLED modes of generateTemplateFromImage).
type QualityMode string

// Quality modes.
const (
	QualityEnrol    QualityMode = "ENROL"
	QualityVerify   QualityMode = "VERIFY"
	QualityDisabled QualityMode = "DISABLED"
)

// ParseQualityMode accepts the modes case-insensitively; "" is DISABLED.
func ParseQualityMode(s string) (QualityMode, error) {
	switch m := QualityMode(upper(s)); m {
	case "":
		return QualityDisabled, nil
	case QualityEnrol, "ENROLL", QualityVerify, QualityDisabled:
		if m == "ENROLL" {
			return QualityEnrol, nil
		}
		return m, nil
	}
	return "", fault.Invalid("qualityMode %q is not one of ENROL, VERIFY, DISABLED", s)
}

// Measures are the quality measures reported with a face, in original
// image pixels and degrees.
type Measures struct {
	LeftEyeOpen   *float64 `json:"leftEyeOpen,omitempty"`
	RightEyeOpen  *float64 `json:"rightEyeOpen,omitempty"`
	Yaw           *float64 `json:"yaw,omitempty"`
	Pitch         *float64 `json:"pitch,omitempty"`
	Roll          float64  `json:"roll"`
	Sharpness     float64  `json:"sharpness"`
	Brightness    float64  `json:"brightness"`
	Overexposure  float64  `json:"overexposure"`
	Underexposure float64  `json:"underexposure"`
	Uniformity    float64  `json:"illuminationUniformity"`
	InterEye      float64  `json:"interEyeDistance"`
	FaceWidth     float64  `json:"faceWidth"`
	FaceHeight    float64  `json:"faceHeight"`
	Truncation    float64  `json:"truncation"`
}

func measures(q face.Quality, box [4]float64, scale float64) Measures {
	m := Measures{
		Roll: round(q.Roll, 1), Sharpness: round(q.Sharpness, 1), Brightness: round(q.Brightness, 1),
		Overexposure: round(q.Overexposed, 4), Underexposure: round(q.Underexposed, 4),
		Uniformity: round(q.Uniformity, 3), InterEye: round(q.InterEye/scale, 1),
		FaceWidth: round(box[2], 1), FaceHeight: round(box[3], 1), Truncation: round(q.Truncated, 3),
	}
	if q.LeftEyeOpen >= 0 {
		l, r := round(q.LeftEyeOpen, 3), round(q.RightEyeOpen, 3)
		m.LeftEyeOpen, m.RightEyeOpen = &l, &r
	}
	if q.PoseAvailable {
		y, p := round(q.Yaw, 1), round(q.Pitch, 1)
		m.Yaw, m.Pitch = &y, &p
	}
	return m
}

// Score combines the measures into the overall quality on the seeds' scale:
// quality = round(400*F - 100), where F in [0,1] is the product of one factor
// per measure (docs/api.md gives them). A perfect capture scores 300, F = 0.5
// gives 100 (the "good" line) and F < 0.25 gives a negative score ("retake").
func (m Measures) Score() int {
	f := clamp01((m.InterEye - 8) / 40) // 48 px between the eyes or more
	f *= clamp01((math.Log10(math.Max(m.Sharpness, 1)) - math.Log10(30)) / (math.Log10(300) - math.Log10(30)))
	f *= clamp01(1 - (m.Overexposure+m.Underexposure-0.05)/0.30)
	f *= clamp01(1 - (math.Abs(m.Brightness-128)-60)/50)
	pose := math.Max(0, math.Abs(m.Roll)-20)
	if m.Yaw != nil {
		pose += math.Max(0, math.Abs(*m.Yaw)-20) + math.Max(0, math.Abs(*m.Pitch)-20)
	}
	f *= clamp01(1 - pose/40)
	if m.LeftEyeOpen != nil {
		f *= 0.5 + 0.5*math.Min(*m.LeftEyeOpen, *m.RightEyeOpen)
	}
	f *= 0.5 + 0.5*clamp01((m.Uniformity-0.3)/0.4)
	f *= clamp01(1 - m.Truncation/0.3)
	return int(math.Round(400*f - 100))
}

// gate is one quality requirement of a mode.
type gate struct {
	check string
	fail  func(m Measures, quality int) (bool, string)
}

func limit(name string, v *float64, max float64) gate {
	return gate{check: name, fail: func(Measures, int) (bool, string) {
		if v == nil {
			return false, ""
		}
		return math.Abs(*v) > max, fmt.Sprintf("|%s| %.1f degrees exceeds %.0f", name, *v, max)
	}}
}

func gates(mode QualityMode, m *Measures) []gate {
	type th struct {
		eyes, yaw, pitch, roll, interEye, trunc float64
		quality                                 int
	}
	var t th
	switch mode {
	case QualityEnrol:
		t = th{eyes: 0.5, yaw: 25, pitch: 25, roll: 15, interEye: 60, trunc: 0.02, quality: 100}
	case QualityVerify:
		t = th{eyes: 0.2, yaw: 40, pitch: 35, roll: 30, interEye: 30, trunc: 0.15, quality: 0}
	default:
		return nil
	}
	roll := m.Roll
	return []gate{
		{"EYES_OPEN", func(m Measures, _ int) (bool, string) {
			if m.LeftEyeOpen == nil {
				return false, ""
			}
			o := math.Min(*m.LeftEyeOpen, *m.RightEyeOpen)
			return o < t.eyes, fmt.Sprintf("eyes appear closed (open probability %.2f, need %.2f)", o, t.eyes)
		}},
		limit("yaw", m.Yaw, t.yaw),
		limit("pitch", m.Pitch, t.pitch),
		limit("roll", &roll, t.roll),
		{"INTER_EYE_DISTANCE", func(m Measures, _ int) (bool, string) {
			return m.InterEye < t.interEye, fmt.Sprintf("%.0f pixels between the eyes, need at least %.0f", m.InterEye, t.interEye)
		}},
		{"FACE_CUT_OFF", func(m Measures, _ int) (bool, string) {
			return m.Truncation > t.trunc, fmt.Sprintf("%.0f%% of the face is outside the image", 100*m.Truncation)
		}},
		{"OVERALL_QUALITY", func(_ Measures, q int) (bool, string) {
			return q < t.quality, fmt.Sprintf("quality %d is below %d", q, t.quality)
		}},
	}
}

// Check is the outcome of one quality gate.
type Check struct {
	Name    string // EYES_OPEN, POSE_YAW, ..., OVERALL_QUALITY
	Passed  bool
	Message string // why it failed ("" when passed)
}

// Assess evaluates every gate of the mode (none for DISABLED).
func Assess(mode QualityMode, m Measures, quality int) []Check {
	var out []Check
	for _, g := range gates(mode, &m) {
		name := g.check
		if name == "yaw" || name == "pitch" || name == "roll" {
			name = "POSE_" + upper(name)
		}
		bad, why := g.fail(m, quality)
		c := Check{Name: name, Passed: !bad}
		if bad {
			c.Message = why
		}
		out = append(out, c)
	}
	return out
}

// checkGates returns the first failed gate of the mode as a
// QUALITY_CHECK_FAILED error.
func checkGates(mode QualityMode, m Measures, quality int) error {
	for _, c := range Assess(mode, m, quality) {
		if !c.Passed {
			return &fault.Error{Code: fault.CodeQualityCheck, Check: c.Name,
				Message: fmt.Sprintf("quality check %s failed (%s mode): %s", c.Name, mode, c.Message)}
		}
	}
	return nil
}

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func upper(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }
