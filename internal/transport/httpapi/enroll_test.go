package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/enroll"
	"github.com/facelambda/facelambda/internal/core/store"
)

func (a *api) images(names ...string) []byte {
	var items []map[string]string
	for _, n := range names {
		items = append(items, map[string]string{"image": base64.StdEncoding.EncodeToString(a.image(a.t, n))})
	}
	if items == nil {
		return []byte(`[]`)
	}
	return jsonBody(a.t, items)
}

func (a *api) enrol(key string, class uint64, names ...string) map[string]any {
	return a.object("POST", fmt.Sprintf("/v2/enroll/%d", class), "application/json", a.images(names...), key, 200)
}

func (a *api) verifyClass(key string, class uint64, name string, status int) map[string]any {
	body := jsonBody(a.t, map[string]string{"image": base64.StdEncoding.EncodeToString(a.image(a.t, name))})
	return a.object("POST", fmt.Sprintf("/v2/verify/%d", class), "application/json", body, key, status)
}

func TestEnrolVerifyErase(t *testing.T) {
	a := newFakeAPI(t)
	r := a.enrol(a.key, 42, "obama.jpg", "two_people.jpg", "coffee.png")
	assert.Equal(t, enroll.ActionCreated, r["performedAction"])
	assert.EqualValues(t, 1, r["enrolledImages"], "the image with two faces and the one with none are skipped")
	props := r["imageProperties"].([]any)
	require.Len(t, props, 3)
	checks := func(i int) map[string]float64 {
		out := map[string]float64{}
		for _, c := range props[i].(map[string]any)["qualityAssessments"].([]any) {
			m := c.(map[string]any)
			out[m["check"].(string)] = m["score"].(float64)
		}
		return out
	}
	assert.Equal(t, 1.0, checks(0)["FaceFeaturesAvailable"])
	assert.Equal(t, 0.0, checks(1)["SingleFaceOnImage"])
	assert.Equal(t, 0.0, checks(2)["FaceFound"])
	st := r["templateStatus"].(map[string]any)
	assert.EqualValues(t, 42, st["classId"])
	assert.EqualValues(t, 1, st["featureVectors"])
	assert.EqualValues(t, 1, st["thumbnailsStored"])
	assert.EqualValues(t, 1, st["encoderVersion"])

	r = a.enrol(a.key, 42, "obama-240p.jpg")
	assert.Equal(t, enroll.ActionUpdated, r["performedAction"])
	assert.EqualValues(t, 2, r["templateStatus"].(map[string]any)["featureVectors"])
	r = a.enrol(a.key, 42)
	assert.Equal(t, enroll.ActionNone, r["performedAction"], "an empty enrolment only reports")

	v := a.verifyClass(a.key, 42, "obama2.jpg", 200)
	assert.Equal(t, true, v["verified"])
	assert.Greater(t, v["score"], 0.8)
	assert.Less(t, v["falseAcceptanceRate"], 1e-4)
	assert.EqualValues(t, 2, v["comparedFeatureVectors"])
	v = a.verifyClass(a.key, 42, "biden.jpg", 200)
	assert.Equal(t, false, v["verified"])
	v = a.verifyClass(a.key, 42, "coffee.png", 200)
	assert.Equal(t, false, v["verified"])
	assert.Equal(t, "FaceNotFound", v["errors"].([]any)[0].(map[string]any)["errorCode"])

	// Another tenant: the class does not exist for it.
	other := a.keyFor("globex")
	a.verifyClass(other, 42, "obama2.jpg", 404)
	a.object("GET", "/v2/templates/42", "", nil, other, 404)

	tpl := a.object("GET", "/v2/templates/42?thumbnails=true", "", nil, a.key, 200)
	assert.Len(t, tpl["thumbnails"], 2)

	res, _ := a.call("DELETE", "/v2/templates/42", "", nil, a.key)
	assert.Equal(t, 204, res.StatusCode)
	a.verifyClass(a.key, 42, "obama2.jpg", 404)
	a.object("GET", "/v2/templates/42", "", nil, a.key, 404)
	thumbs := 0
	// Nothing of the class is left in the blob store.
	for _, k := range tpl["thumbnails"].([]any) {
		_ = k
		thumbs++
	}
	assert.Equal(t, 2, thumbs)
	_, _, err := a.st.Get(context.Background(), enroll.ThumbnailPrefix("acme", 42))
	assert.Error(t, err)

	r = a.enrol(a.key, 43, "coffee.png")
	assert.Equal(t, enroll.ActionFailed, r["performedAction"])
	assert.Equal(t, "NoSuitableFaceImage", r["errors"].([]any)[0].(map[string]any)["errorCode"])
	a.object("POST", "/v2/enroll/0", "application/json", []byte(`[]`), a.key, 400)
	a.object("POST", "/v2/enroll/abc", "application/json", []byte(`[]`), a.key, 400)
	a.object("POST", "/v2/enroll/44", "application/json", []byte(`[{"image":"%%%"}]`), a.key, 400)
	a.object("POST", "/v2/enroll/44", "text/plain", []byte(`[]`), a.key, 415)
}

// TestTemplatesSealedAtRest tampers with stored template bytes and moves a
// sealed template to another class: both reads are refused.
func TestTemplatesSealedAtRest(t *testing.T) {
	a := newFakeAPI(t)
	a.enrol(a.key, 7, "obama.jpg")
	a.enrol(a.key, 8, "biden.jpg")
	ctx := context.Background()
	c7, err := a.st.GetClass(ctx, "acme", 7)
	require.NoError(t, err)
	assert.NotContains(t, string(c7.Sealed), "FLTP", "no template in clear")

	tampered := c7
	tampered.Sealed = append([]byte(nil), c7.Sealed...)
	tampered.Sealed[len(tampered.Sealed)-5] ^= 1
	_, err = a.st.PutClass(ctx, tampered)
	require.NoError(t, err)
	a.verifyClass(a.key, 7, "obama2.jpg", 500)

	c8, err := a.st.GetClass(ctx, "acme", 8)
	require.NoError(t, err)
	moved := c8
	moved.Sealed = c7.Sealed // class 7's template stored under class 8
	_, err = a.st.PutClass(ctx, moved)
	require.NoError(t, err)
	a.verifyClass(a.key, 8, "obama2.jpg", 500)

	// Another tenant's copy of the same class id does not open either.
	_, err = a.st.PutClass(ctx, store.Class{Tenant: "globex", ClassID: 7, Encoder: c7.Encoder, Vectors: 1, Sealed: c7.Sealed})
	require.NoError(t, err)
	a.verifyClass(a.keyFor("globex"), 7, "obama2.jpg", 500)
}

func TestConcurrentEnrolmentsLoseNothing(t *testing.T) {
	a := newFakeAPI(t)
	a.d.Enroll.MaxVectors = 32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, body := a.call("POST", "/v2/enroll/99", "application/json", a.images("obama-240p.jpg"), a.key)
			assert.Equal(t, 200, res.StatusCode, "%s", body)
		}()
	}
	wg.Wait()
	st := a.object("GET", "/v2/templates/99", "", nil, a.key, 200)
	assert.EqualValues(t, 20, st["featureVectors"])
	assert.EqualValues(t, 20, st["enrolledImages"])
}

func TestGalleriesIdentify(t *testing.T) {
	a := newFakeAPI(t)
	a.enrol(a.key, 1, "obama.jpg")
	a.enrol(a.key, 2, "biden.jpg")
	g := a.object("POST", "/v2/galleries", "application/json", []byte(`{"name":"staff"}`), a.key, 201)
	assert.EqualValues(t, 1, g["version"])
	a.object("POST", "/v2/galleries", "application/json", []byte(`{"name":"staff"}`), a.key, 409)
	a.object("POST", "/v2/galleries", "application/json", []byte(`{"name":"bad name!"}`), a.key, 400)
	g = a.object("POST", "/v2/galleries/staff/members", "application/json", []byte(`{"classIds":[1,2,3]}`), a.key, 200)
	assert.EqualValues(t, 3, g["members"])

	identify := func(key, name string) map[string]any {
		body := jsonBody(t, map[string]any{"image": base64.StdEncoding.EncodeToString(a.image(t, name)), "candidateListSize": 5})
		return a.object("POST", "/v2/galleries/staff/identify", "application/json", body, key, 200)
	}
	res := identify(a.key, "obama2.jpg")
	cands := res["candidates"].([]any)
	require.NotEmpty(t, cands)
	assert.EqualValues(t, 1, cands[0].(map[string]any)["classId"])
	assert.Len(t, cands, 1, "biden is below the HIGH cut-off")
	res = identify(a.key, "biden2.jpg")
	assert.EqualValues(t, 2, res["candidates"].([]any)[0].(map[string]any)["classId"])

	// Erasure removes the class from the gallery, and identification sees it.
	r, _ := a.call("DELETE", "/v2/templates/1", "", nil, a.key)
	require.Equal(t, 204, r.StatusCode)
	assert.Empty(t, identify(a.key, "obama2.jpg")["candidates"])
	page := a.object("GET", "/v2/galleries/staff/members?limit=1", "", nil, a.key, 200)
	assert.Equal(t, []any{2.0}, page["classIds"])
	assert.Equal(t, "2", page["next"], "the cursor for ?after=")

	// Another tenant sees no gallery.
	other := a.keyFor("globex")
	body := jsonBody(t, map[string]any{"image": base64.StdEncoding.EncodeToString(a.image(t, "obama2.jpg"))})
	a.object("POST", "/v2/galleries/staff/identify", "application/json", body, other, 404)
	res2, out := a.call("GET", "/v2/galleries", "", nil, other)
	require.Equal(t, 200, res2.StatusCode)
	var list []any
	require.NoError(t, json.Unmarshal(out, &list))
	assert.Empty(t, list)

	r, _ = a.call("DELETE", "/v2/galleries/staff", "", nil, a.key)
	assert.Equal(t, 204, r.StatusCode)
	a.object("POST", "/v2/galleries/staff/identify", "application/json", body, a.key, 404)
}
