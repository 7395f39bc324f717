package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// HeavyCaptureBytes is the capture size from which the liveness function
// hands an active liveness capture to the GPU service (about 30 frames of
// 640x480 JPEG). A Lambda function takes at most 6 MB of request (about
// 4.4 MiB of binary once base64-encoded by API Gateway): captures between
// this and that go to the GPU service; larger ones must be uploaded.
const HeavyCaptureBytes = 2 << 20

// SpendsCapture reports whether a request submits an active liveness
// capture: it spends a one-time serverRandom, so it must not be served a
// second time after the GPU service failed with it.
func SpendsCapture(r *http.Request) bool {
	p := r.URL.Path
	return r.Method == http.MethodPost && strings.HasPrefix(p, "/v2/bio-sessions/") &&
		(strings.HasSuffix(p, "/liveness-capture") || strings.HasSuffix(p, "/replay-liveness-metadata"))
}

// HeavyLiveness reports whether a liveness request is heavy work for the
// GPU service (docs/liveness-gpu.md): passive liveness at the HIGHEST
// level, and active liveness captures of HeavyCaptureBytes or more (sent
// as a body, or as an encrypted replay). body is the request's body.
func HeavyLiveness(r *http.Request, body []byte) bool {
	if r.Method != http.MethodPost {
		return false
	}
	p := r.URL.Path
	switch {
	case p == "/v2/liveness":
		return strings.EqualFold(strings.TrimSpace(thresholdOf(r, body)), "HIGHEST")
	case SpendsCapture(r):
		return len(body) >= HeavyCaptureBytes
	}
	return false
}

// thresholdOf reads the threshold field of a passive liveness request
// ("" when absent or unreadable: the local function answers those).
func thresholdOf(r *http.Request, body []byte) string {
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	switch {
	case ct == "application/json":
		var v struct {
			Threshold string `json:"threshold"`
		}
		if json.Unmarshal(body, &v) != nil {
			var arr []struct {
				Threshold string `json:"threshold"`
			}
			if json.Unmarshal(body, &arr) == nil && len(arr) == 1 {
				return arr[0].Threshold
			}
		}
		return v.Threshold
	case strings.HasPrefix(ct, "multipart/") && params["boundary"] != "":
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			part, err := mr.NextPart()
			if err != nil {
				return ""
			}
			if part.FormName() == "threshold" {
				b, _ := io.ReadAll(io.LimitReader(part, 64))
				return string(b)
			}
		}
	}
	return ""
}
