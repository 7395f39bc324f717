package httpapi

import (
	"errors"
	"fmt"
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
		{fault.New(fault.CodeNoLivenessParameters, ""), http.StatusConflict},
		// A code the table lacks: 500.
		{fault.New("NEW_CODE", ""), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, StatusOf(tt.err), tt.err.Code)
	}
}

// TestUsageStatus: the status a usage record keeps is the one the client
// was answered with, for the face pipeline's errors too (they carry a code
// only).
func TestUsageStatus(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, http.StatusOK},
		{fault.New(fault.CodeFaceNotFound, "no face"), http.StatusBadRequest},
		{fmt.Errorf("analyse: %w", fault.New(fault.CodeLivenessExpired, "expired")), http.StatusBadRequest},
		{fault.New(fault.CodeReplayed, "again"), http.StatusConflict},
		{errors.New("dynamodb: throttled"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, statusOf(tt.err), "%v", tt.err)
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
