package biometric

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/template"
	"github.com/facelambda/facelambda/internal/ml/decode"
)

// TestImageErrorCodes: each decoding failure gets its stable code (the
// transport's table gives 413, 415, 400 and 500), keeps its cause and
// names the image.
func TestImageErrorCodes(t *testing.T) {
	tests := []struct {
		err  error
		code string
	}{
		{fmt.Errorf("%w: x", decode.ErrTooLarge), fault.CodeImageTooLarge},
		{fmt.Errorf("%w: x", decode.ErrUnsupported), fault.CodeUnsupportedImage},
		{fmt.Errorf("%w: x", decode.ErrCorrupt), fault.CodeInvalidImage},
		{fmt.Errorf("%w: x", decode.ErrEmpty), fault.CodeInvalidImage},
		{errors.New("other"), fault.CodeInternal},
	}
	for _, tt := range tests {
		e := imageError("image", tt.err)
		assert.Equal(t, tt.code, e.Code, tt.err.Error())
		assert.Equal(t, "image: "+tt.err.Error(), e.Message)
		assert.ErrorIs(t, e, tt.err)
	}
}

func TestTemplateErrorCodes(t *testing.T) {
	assert.Equal(t, fault.CodeTemplateVersion, templateError("t", template.ErrEncoderMismatch).Code)
	assert.Equal(t, fault.CodeTemplateVersion, templateError("t", template.ErrUnsupportedFormat).Code)
	assert.Equal(t, fault.CodeInvalidTemplate, templateError("t", errors.New("bad crc")).Code)
}
