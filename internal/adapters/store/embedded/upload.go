package embedded

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/store/ident"
)

// UploadPath is the path under which UploadHandler takes uploads:
// UploadPath + key.
const UploadPath = "/v2/uploads/"

// PresignPut returns a URL on BaseURL that accepts PUTs of at most
// maxBytes (no limit when 0) with the given Content-Type, stored under
// key, until ttl has passed:
//
//	BaseURL/v2/uploads/<key>?expires=<unix>&contentType=<type>&maxBytes=<n>&signature=<hex>
//
// signature is the HMAC-SHA256, under the store's upload secret, of
// "PUT\n<key>\n<expires>\n<contentType>\n<maxBytes>". UploadHandler
// checks it.
func (s *Store) PresignPut(ctx context.Context, key, contentType string, maxBytes int64, ttl time.Duration) (string, error) {
	if err := ident.CheckKey(key); err != nil {
		return "", fmt.Errorf("presign put: %w", err)
	}
	switch {
	case s.BaseURL == "":
		return "", fmt.Errorf("presign put %s: the store has no BaseURL", key)
	case ttl <= 0:
		return "", fmt.Errorf("presign put %s: ttl %v is not positive", key, ttl)
	case maxBytes < 0:
		return "", fmt.Errorf("presign put %s: maxBytes %d is negative", key, maxBytes)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	expires := s.now().Add(ttl).Unix()
	sig := s.sign(key, expires, contentType, maxBytes)
	return strings.TrimRight(s.BaseURL, "/") + UploadPath + key +
		"?expires=" + strconv.FormatInt(expires, 10) +
		"&contentType=" + url.QueryEscape(contentType) +
		"&maxBytes=" + strconv.FormatInt(maxBytes, 10) +
		"&signature=" + hex.EncodeToString(sig), nil
}

// DownloadPath is the path under which DownloadHandler serves objects:
// DownloadPath + key.
const DownloadPath = "/v2/downloads/"

// PresignGet returns a URL on BaseURL that GETs the object at key until ttl
// has passed:
//
//	BaseURL/v2/downloads/<key>?expires=<unix>&signature=<hex>
//
// signature is the HMAC-SHA256, under the store's upload secret, of
// "GET\n<key>\n<expires>". DownloadHandler checks it.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := ident.CheckKey(key); err != nil {
		return "", fmt.Errorf("presign get: %w", err)
	}
	switch {
	case s.BaseURL == "":
		return "", fmt.Errorf("presign get %s: the store has no BaseURL", key)
	case ttl <= 0:
		return "", fmt.Errorf("presign get %s: ttl %v is not positive", key, ttl)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	expires := s.now().Add(ttl).Unix()
	return strings.TrimRight(s.BaseURL, "/") + DownloadPath + key +
		"?expires=" + strconv.FormatInt(expires, 10) +
		"&signature=" + hex.EncodeToString(s.signGet(key, expires)), nil
}

func (s *Store) signGet(key string, expires int64) []byte {
	m := hmac.New(sha256.New, s.secret)
	fmt.Fprintf(m, "GET\n%s\n%d", key, expires)
	return m.Sum(nil)
}

// DownloadHandler serves the URLs of PresignGet: 200 with the object, 403
// for a missing, wrong or expired signature, 404 when the object is gone.
// Mount it on the path DownloadPath of the server at BaseURL.
func (s *Store) DownloadHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.URL.Path, DownloadPath)
		if !ok || ident.CheckKey(key) != nil {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		expires, err1 := strconv.ParseInt(q.Get("expires"), 10, 64)
		sig, err2 := hex.DecodeString(q.Get("signature"))
		if errors.Join(err1, err2) != nil || !hmac.Equal(sig, s.signGet(key, expires)) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		if s.now().Unix() > expires {
			http.Error(w, "download URL expired", http.StatusForbidden)
			return
		}
		data, ct, err := s.Get(r.Context(), key)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		_, _ = w.Write(data)
	})
}

// sign returns the signature of an upload URL.
func (s *Store) sign(key string, expires int64, contentType string, maxBytes int64) []byte {
	m := hmac.New(sha256.New, s.secret)
	fmt.Fprintf(m, "PUT\n%s\n%d\n%s\n%d", key, expires, contentType, maxBytes)
	return m.Sum(nil)
}

// UploadHandler serves the URLs of PresignPut: a PUT to UploadPath + key
// with a valid, unexpired signature and the signed Content-Type stores the
// body under key. It answers 200 when stored, 403 for a missing, wrong or
// expired signature or another Content-Type, 413 for a body over maxBytes,
// 405 for other methods and 404 outside UploadPath. Mount it on the path
// UploadPath of the server at BaseURL, without stripping the prefix.
func (s *Store) UploadHandler() http.Handler {
	return http.HandlerFunc(s.serveUpload)
}

func (s *Store) serveUpload(w http.ResponseWriter, r *http.Request) {
	key, ok := strings.CutPrefix(r.URL.Path, UploadPath)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPut {
		w.Header().Set("Allow", http.MethodPut)
		http.Error(w, "uploads take PUT", http.StatusMethodNotAllowed)
		return
	}
	if ident.CheckKey(key) != nil { // never signed
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	q := r.URL.Query()
	expires, err1 := strconv.ParseInt(q.Get("expires"), 10, 64)
	maxBytes, err2 := strconv.ParseInt(q.Get("maxBytes"), 10, 64)
	sig, err3 := hex.DecodeString(q.Get("signature"))
	contentType := q.Get("contentType")
	if err := errors.Join(err1, err2, err3); err != nil || maxBytes < 0 {
		http.Error(w, "malformed upload URL", http.StatusForbidden)
		return
	}
	if !hmac.Equal(sig, s.sign(key, expires, contentType, maxBytes)) {
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	if s.now().Unix() > expires {
		http.Error(w, "upload URL expired", http.StatusForbidden)
		return
	}
	if contentType != "" && r.Header.Get("Content-Type") != contentType {
		http.Error(w, "Content-Type differs from the signed one", http.StatusForbidden)
		return
	}
	body := io.Reader(r.Body)
	if maxBytes > 0 {
		if r.ContentLength > maxBytes {
			http.Error(w, "body over maxBytes", http.StatusRequestEntityTooLarge)
			return
		}
		body = http.MaxBytesReader(w, r.Body, maxBytes)
	}
	if contentType == "" {
		contentType = r.Header.Get("Content-Type")
	}
	if err := s.putReader(r.Context(), key, body, contentType); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, "body over maxBytes", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "storing the upload failed", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
	if s.OnUpload != nil {
		s.OnUpload(key)
	}
}
