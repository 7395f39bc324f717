package handoff_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/stretchr/testify/require"
)

// echo is what echoHandler saw of a request.
type echo struct {
	Side       string            `json:"side"`
	Method     string            `json:"method"`
	Path       string            `json:"path"`
	Query      string            `json:"query"`
	Headers    map[string]string `json:"headers"`
	Cookies    []string          `json:"cookies"`
	BodyLen    int               `json:"body_len"`
	BodySHA    string            `json:"body_sha"`
	Fields     map[string]string `json:"fields,omitempty"`
	Files      map[string]string `json:"files,omitempty"` // part name -> sha256
	GatewayReq string            `json:"gateway_request_id,omitempty"`
}

// echoHandler is a real handler for both ends of a hand-off: it reports
// what it received as JSON (parsing multipart forms), answers /image with
// the request body as image/jpeg, takes its status from ?status=, and sets
// a cookie and a header.
func echoHandler(side string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Side", side)
		http.SetCookie(w, &http.Cookie{Name: "seen", Value: side})
		status := http.StatusOK
		if s := r.URL.Query().Get("status"); s != "" {
			status, _ = strconv.Atoi(s)
		}
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
			if err := r.ParseMultipartForm(1 << 20); err != nil {
				http.Error(w, "multipart: "+err.Error(), http.StatusBadRequest)
				return
			}
			defer r.MultipartForm.RemoveAll()
		}
		var body []byte
		if r.MultipartForm == nil {
			var err error
			if body, err = io.ReadAll(r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		if r.URL.Path == "/image" {
			w.Header().Set("Content-Type", "image/jpeg")
			w.WriteHeader(status)
			_, _ = w.Write(body)
			return
		}
		e := echo{Side: side, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Headers: map[string]string{},
			BodyLen: len(body), BodySHA: sum(body)}
		for _, k := range []string{"Apikey", "Content-Type", "X-Custom", "X-Forwarded-For"} {
			if vs := r.Header.Values(k); len(vs) > 0 {
				e.Headers[k] = strings.Join(vs, ", ")
			}
		}
		for _, c := range r.Cookies() {
			e.Cookies = append(e.Cookies, c.Name+"="+c.Value)
		}
		if f := r.MultipartForm; f != nil {
			e.Fields, e.Files = map[string]string{}, map[string]string{}
			for k, v := range f.Value {
				e.Fields[k] = strings.Join(v, ",")
			}
			for k, fhs := range f.File {
				p, err := fhs[0].Open()
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				b, _ := io.ReadAll(p)
				p.Close()
				e.Files[k] = sum(b)
			}
		}
		if rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok {
			e.GatewayReq = rc.RequestID
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(e)
	})
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// jpegLike is n bytes that start like a JPEG and are not UTF-8.
func jpegLike(n int) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	copy(b, []byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00})
	b[n-2], b[n-1] = 0xff, 0xd9
	return b
}

// multipartBody is a liveness-style form: a binary image part and the
// threshold field.
func multipartBody(t *testing.T, img []byte, threshold string) (body []byte, contentType string) {
	t.Helper()
	var sb strings.Builder
	mw := multipart.NewWriter(&sb)
	p, err := mw.CreateFormFile("image", "face.jpg")
	require.NoError(t, err)
	_, err = p.Write(img)
	require.NoError(t, err)
	require.NoError(t, mw.WriteField("threshold", threshold))
	require.NoError(t, mw.Close())
	return []byte(sb.String()), mw.FormDataContentType()
}

func decodeEcho(t *testing.T, b []byte) echo {
	t.Helper()
	var e echo
	require.NoError(t, json.Unmarshal(b, &e), string(b))
	return e
}

// errorObject is the service's error object.
type errorObject struct {
	ID      string `json:"id"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func decodeError(t *testing.T, b []byte) errorObject {
	t.Helper()
	var e errorObject
	require.NoError(t, json.Unmarshal(b, &e), string(b))
	return e
}
