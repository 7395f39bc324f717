package httpapi

import (
	"net/http"

	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/web"
)

// WebCSP is the Content-Security-Policy of the browser liveness client's
// files: scripts and styles from the page's own origin only (no inline
// script or style, no eval), no frames, objects, forms or embedding; the
// page may call its own origin and the capture bucket's presigned upload
// URLs (S3, *.amazonaws.com).
const WebCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"media-src 'self' blob: mediastream:; connect-src 'self' https://*.amazonaws.com; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// webFile serves the browser liveness client (package web): GET
// /web/{file}, with no authentication (the page authenticates its API
// calls with a client token from its URL fragment).
func webFile(w http.ResponseWriter, r *http.Request) {
	f, ok := web.Lookup(r.PathValue("file"))
	if !ok {
		WriteError(w, r, fault.Newf(fault.CodeNotFound, "no such file: /web/%s", clip(r.PathValue("file"))))
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", WebCSP)
	h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	// Not content-addressed: caches keep the files but ask again each time
	// (a 304 when the ETag still matches), so a deployment takes at once.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.ETag)
	if r.Header.Get("If-None-Match") == f.ETag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", f.ContentType)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(f.Data)
	}
}
