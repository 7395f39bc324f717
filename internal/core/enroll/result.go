package enroll

import (
	"strconv"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/biometric"
)

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
