package httpapi_test

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPassiveLiveness(t *testing.T) {
	a := newAPI(t)
	live := func(name, threshold string, status int) map[string]any {
		body := jsonBody(t, map[string]string{"image": base64.StdEncoding.EncodeToString(fixture(t, name)), "threshold": threshold})
		return a.object("POST", "/v2/liveness", "application/json", body, a.key, status)
	}
	r := live("obama.jpg", "", 200)
	assert.Equal(t, false, r["is_spoof"], "a bona fide portrait passes the default level")
	assert.Equal(t, "BALANCED_VERY_HIGH", r["threshold"])
	assert.Equal(t, "OK", r["quality"].(map[string]any)["status"])
	assert.NotNil(t, r["as_highest_security_level_reached"])
	assert.Regexp(t, `^W-face-liveness-`, r["refid"])

	r = live("obama-240p.jpg", "HIGH", 200)
	q := r["quality"].(map[string]any)
	assert.Equal(t, "RETAKE", q["status"], "a 72-pixel face is too small to judge")
	assert.Contains(t, q["failed"], "FACE_TOO_SMALL")
	assert.Nil(t, r["is_spoof"], "no spoof verdict on a retake")

	r = live("coffee.png", "", 400)
	assert.Equal(t, "FACE_NOT_FOUND", r["code"])
	r = live("obama.jpg", "EXTREME", 400)
	assert.Equal(t, "INVALID_REQUEST", r["code"])
}
