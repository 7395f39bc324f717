package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/webhook"
)

// receiver is a real HTTP endpoint that checks every delivery's signature.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	got    []map[string]any
	bad    int
}

func newReceiver(t testing.TB) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err := webhook.Verify(rc.secret, r.Header, body); err != nil {
			rc.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var ev map[string]any
		_ = json.Unmarshal(body, &ev)
		rc.got = append(rc.got, ev)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) waitFor(t *testing.T, typ string) map[string]any {
	t.Helper()
	for i := 0; i < 100; i++ {
		rc.mu.Lock()
		for _, ev := range rc.got {
			if ev["type"] == typ {
				rc.mu.Unlock()
				return ev
			}
		}
		rc.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %s event delivered", typ)
	return nil
}

func TestWebhooksAndUsage(t *testing.T) {
	a := newFakeAPI(t)
	rc := newReceiver(t)
	wh := a.object("POST", "/v2/webhooks", "application/json", jsonBody(t, map[string]any{
		"url": rc.srv.URL + "/hook", "events": []string{"session.created", "face.created"}, "encryptMessageBody": false,
	}), a.key, 201)
	secret, _ := wh["secret"].(string)
	require.NotEmpty(t, secret, "the secret is shown once, at creation")
	rc.mu.Lock()
	rc.secret = secret
	rc.mu.Unlock()
	id := wh["webhookId"].(string)

	got := a.object("GET", "/v2/webhooks/"+id, "", nil, a.key, 200)
	assert.NotContains(t, got, "secret")
	a.object("GET", "/v2/webhooks/"+id, "", nil, a.keyFor("globex"), 404)

	// Domain events reach the receiver, signed.
	sid := a.session(a.key, `{}`)["id"].(string)
	ev := rc.waitFor(t, "session.created")
	assert.Equal(t, sid, ev["data"].(map[string]any)["sessionId"])
	assert.Equal(t, "acme", ev["tenant"])
	a.addFace(a.key, sid, "obama-240p.jpg")
	ev = rc.waitFor(t, "face.created")
	assert.NotContains(t, fmt.Sprint(ev["data"]), "template", "events carry no templates")

	del := a.object("POST", "/v2/webhooks/"+id+"/test", "", nil, a.key, 200)
	assert.EqualValues(t, 204, del["statusCode"])
	res, out := a.call("GET", "/v2/webhooks/"+id+"/deliveries", "", nil, a.key)
	require.Equal(t, 200, res.StatusCode)
	var deliveries []map[string]any
	require.NoError(t, json.Unmarshal(out, &deliveries))
	assert.GreaterOrEqual(t, len(deliveries), 3)
	rc.mu.Lock()
	assert.Zero(t, rc.bad, "every delivery verifies")
	rc.mu.Unlock()

	rot := a.object("PUT", "/v2/webhooks/"+id, "application/json", []byte(`{"generateNewSecret":true}`), a.key, 200)
	assert.NotEmpty(t, rot["secret"])
	assert.NotEqual(t, secret, rot["secret"])

	a.object("POST", "/v2/webhooks", "application/json", []byte(`{"url":"ftp://example.com/x","events":["*"]}`), a.key, 400)
	res, _ = a.call("DELETE", "/v2/webhooks/"+id, "", nil, a.key)
	assert.Equal(t, 204, res.StatusCode)
	a.object("GET", "/v2/webhooks/"+id, "", nil, a.key, 404)

	// Billable calls carry a transaction id and are counted per tenant.
	ct, body := multipartBody(t, "form-data", part{"image", "image/jpeg", a.image(t, "obama-240p.jpg")})
	res, _ = a.call("POST", "/v2/faces", ct, body, a.key)
	require.Equal(t, 200, res.StatusCode)
	assert.Regexp(t, `^W-face-create-face-[0-9a-f-]{36}-[0-9]{13}$`, res.Header.Get("X-Request-Id"))
	u := a.object("GET", "/v2/usage", "", nil, a.key, 200)
	acts := u["actions"].(map[string]any)
	assert.EqualValues(t, 2, acts["create-face"].(map[string]any)["success"])
	assert.EqualValues(t, 0, a.object("GET", "/v2/usage", "", nil, a.keyFor("globex"), 200)["total"])
}
