package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/fault"
)

// TestEveryCodeHasStatus: the table has a row for every code of package
// fault and no other.
func TestEveryCodeHasStatus(t *testing.T) {
	for _, c := range fault.Codes {
		s, ok := statuses[c]
		if assert.True(t, ok, "code %s has no status", c) {
			assert.GreaterOrEqual(t, s, 400, c)
		}
	}
	assert.Len(t, statuses, len(fault.Codes))
}

// TestStatusOf pins the statuses clients see for the image codes (the
// classification ml/decode's StatusCode did) and the fallbacks.
func TestStatusOf(t *testing.T) {
	tests := []struct {
		err  *fault.Error
		want int
	}{
		{fault.New(fault.CodeImageTooLarge, ""), http.StatusRequestEntityTooLarge},
		{fault.New(fault.CodeUnsupportedImage, ""), http.StatusUnsupportedMediaType},
		{fault.New(fault.CodeInvalidImage, ""), http.StatusBadRequest},
		{fault.New(fault.CodeInternal, ""), http.StatusInternalServerError},
		{fault.New(fault.CodeUnauthenticated, ""), http.StatusUnauthorized},
		{fault.New(fault.CodeForbidden, ""), http.StatusForbidden},
		{fault.New(fault.CodeUploadUsed, ""), http.StatusGone},
		// The table wins over a status given at construction.
		{errorf(http.StatusTeapot, fault.CodeNotFound, ""), http.StatusNotFound},
		// A code the table lacks: the status given, else 500.
		{errorf(http.StatusTeapot, "NEW_CODE", ""), http.StatusTeapot},
		{fault.New("NEW_CODE", ""), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, StatusOf(tt.err), tt.err.Code)
	}
}

// TestCodeAliases: the code constants of this package are the fault codes.
func TestCodeAliases(t *testing.T) {
	for _, c := range []string{CodeInvalidSignature, CodeUploadUsed, CodeBusy, CodeNotFound, CodeMethodNotAllowed,
		CodeUnsupportedMedia, CodeBodyTooLarge, CodeFieldTooLong, CodeUnknownField, CodeDuplicateField, CodeConflictingFields} {
		assert.Contains(t, fault.Codes, c)
	}
}

// TestWriteError: one writer for every error: status from the table, the
// field, a request id set when absent, the cause of an internal error not
// sent.
func TestWriteError(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/v2/x", nil)
	w := httptest.NewRecorder()
	WriteError(w, r, fault.OnField(fault.CodeFieldTooLong, "name", "name is too long"))
	require.Equal(t, http.StatusBadRequest, w.Code)
	id := w.Header().Get("X-Request-Id")
	require.NotEmpty(t, id)
	assert.JSONEq(t, `{"id":"`+id+`","code":"FIELD_TOO_LONG","message":"name is too long","field":"name"}`, w.Body.String())

	w = httptest.NewRecorder()
	w.Header().Set("X-Request-Id", "req-1")
	WriteError(w, r, assert.AnError)
	require.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Equal(t, `{"id":"req-1","code":"INTERNAL_ERROR","message":"internal error"}`+"\n", w.Body.String())
}
