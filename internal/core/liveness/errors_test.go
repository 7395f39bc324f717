package liveness

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/fault"
)

// TestRefused: an error is a final answer (an upload is then deleted and
// its usage recorded) when it refuses the request, the session's state or
// the deployment; a failure of the service is not, so that the upload is
// retried. The face pipeline's internal error carries its code only.
func TestRefused(t *testing.T) {
	tests := []struct {
		err     error
		refusal bool
	}{
		{fault.New(fault.CodeReplayed, "again"), true},
		{fmt.Errorf("capture: %w", fault.New(fault.CodeFaceNotFound, "no face")), true},
		{fault.New(fault.CodeNotConfigured, "liveness is not configured"), true},
		{fault.Internal("internal error while processing the image", errors.New("onnx: out of memory")), false},
		{fault.New(fault.CodeGPUUnavailable, "the GPU service did not answer"), false},
		{errors.New("dynamodb: throttled"), false},
		{nil, false},
	}
	for _, tt := range tests {
		code, _, ok := refused(tt.err)
		assert.Equal(t, tt.refusal, ok, "%v", tt.err)
		if ok {
			assert.Equal(t, fault.As(tt.err).Code, code)
		}
	}
}

// TestCaptureError: the capture package's errors become the refusals
// clients see.
func TestCaptureError(t *testing.T) {
	tests := []struct {
		err  error
		code string
	}{
		{fmt.Errorf("%w: 9 MB", capture.ErrTooLarge), fault.CodeRequestTooLarge},
		{capture.ErrDecrypt, fault.CodeDecryptionFailed},
		{fmt.Errorf("%w: no metadata", capture.ErrInvalid), fault.CodeInvalidRequest},
		{fault.New(fault.CodeInvalidImage, "frame 2"), fault.CodeInvalidImage},
	}
	for _, tt := range tests {
		mapped, ok := CaptureError(tt.err)
		if assert.True(t, ok, "%v", tt.err) {
			assert.Equal(t, tt.code, fault.As(mapped).Code, "%v", tt.err)
		}
	}
	_, ok := CaptureError(errors.New("s3: timeout"))
	assert.False(t, ok)
}
