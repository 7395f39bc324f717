package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/enroll"
	"github.com/facelambda/facelambda/internal/core/fault"
)

// TestFacesNotUpright: obama2_exif3.jpg shows Obama upside down (upright
// pixels, EXIF orientation 3); obama2_exif6_upright.jpg stores him turned
// with the EXIF orientation 6 that makes him upright. Session faces refuse
// the upside-down face unless imageRotationEnabled is set, in which case it
// is found turned 180 degrees and matches the upright photo; enrolment never
// builds a template from it.
func TestFacesNotUpright(t *testing.T) {
	a := newAPI(t)
	sid := a.session(a.key, `{}`)["id"].(string)
	up := a.addFace(a.key, sid, "obama.jpg")

	m := a.object("POST", "/v2/bio-sessions/"+sid+"/faces", "application/json", jsonBody(t, map[string]any{
		"image": fixture(t, "obama2_exif3.jpg")}), a.key, 400)
	assert.Equal(t, fault.CodeQualityCheck, m["code"])
	assert.Contains(t, m["message"], biometric.CheckUpright)

	for _, tc := range []struct {
		name, image string
		rotation    float64
	}{{"upside down, rotation enabled", "obama2_exif3.jpg", 180}, {"upright after EXIF", "obama2_exif6_upright.jpg", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			f := a.object("POST", "/v2/bio-sessions/"+sid+"/faces", "application/json", jsonBody(t, map[string]any{
				"image": fixture(t, tc.image), "imageRotationEnabled": true}), a.key, 201)
			assert.Equal(t, tc.rotation, f["imageRotation"])
			res, out := a.call("GET", "/v2/bio-sessions/"+sid+"/faces/"+up["id"].(string)+"/matches?level=HIGH", "", nil, a.key)
			require.Equal(t, 200, res.StatusCode, "%s", out)
			var ms []map[string]any
			require.NoError(t, json.Unmarshal(out, &ms))
			for _, mt := range ms {
				if mt["candidate"].(map[string]any)["id"] == f["id"] {
					assert.Equal(t, true, mt["possibleMatch"], "%v", mt)
					return
				}
			}
			t.Fatal("no match for the new face")
		})
	}

	// Enrolment: the upside-down image is assessed and not enrolled; the
	// one upright after EXIF is.
	enrolBody := func(name string) []byte {
		return jsonBody(t, []map[string]string{{"image": base64.StdEncoding.EncodeToString(fixture(t, name))}})
	}
	r := a.object("POST", "/v2/enroll/7", "application/json", enrolBody("obama2_exif3.jpg"), a.key, 200)
	assert.Equal(t, enroll.ActionFailed, r["performedAction"])
	assert.EqualValues(t, 0, r["enrolledImages"])
	assert.Contains(t, string(jsonBody(t, r["errors"])), biometric.CheckUpright)
	checks := r["imageProperties"].([]any)[0].(map[string]any)["qualityAssessments"].([]any)
	require.Len(t, checks, 2)
	assert.Equal(t, biometric.CheckUpright, checks[1].(map[string]any)["check"])
	assert.EqualValues(t, 0, checks[1].(map[string]any)["score"])
	r = a.object("POST", "/v2/enroll/7", "application/json", enrolBody("obama2_exif6_upright.jpg"), a.key, 200)
	assert.Equal(t, enroll.ActionCreated, r["performedAction"])
	v := a.verifyClass(a.key, 7, "obama.jpg", 200)
	assert.Equal(t, true, v["verified"])
	m = a.object("POST", "/v2/verify/7", "application/json", jsonBody(t, map[string]any{"image": fixture(t, "obama2_exif3.jpg")}), a.key, 400)
	assert.Equal(t, fault.CodeQualityCheck, m["code"])
}
