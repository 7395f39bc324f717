package httpapi

import (
	"net/http"
	"net/url"
	"time"

	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/web"
)

// WebCSP is the Content-Security-Policy of the browser liveness client's
// files for a service whose presigned uploads go to uploadOrigin ("" or
// the page's own origin: none elsewhere): scripts and styles from the
// page's own origin only (no inline script or style, no eval), no frames,
// objects, forms or embedding; the page may connect to its own origin and
// the capture bucket only, so a link whose fragment names another API
// cannot make the page send a capture there.
func WebCSP(uploadOrigin string) string {
	connect := "'self'"
	if uploadOrigin != "" {
		connect += " " + uploadOrigin
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
		"media-src 'self' blob: mediastream:; connect-src " + connect + "; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// uploadOrigin is the origin (scheme://host) of the presigned upload URLs
// of d's blob store, "" when it has none or it is r's own host. Presigning
// is local (no request is made).
func (d *Deps) uploadOrigin(r *http.Request) string {
	if d.Blobs == nil {
		return ""
	}
	raw, err := d.Blobs.PresignPut(r.Context(), "web/csp-probe", "application/zip", 1, time.Minute)
	if err != nil {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Host == r.Host || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// webFile serves the browser liveness client (package web): GET
// /web/{file}, with no authentication (the page authenticates its API
// calls with a client token from its URL fragment).
func (d *Deps) webFile(w http.ResponseWriter, r *http.Request) {
	f, ok := web.Lookup(r.PathValue("file"))
	if !ok {
		WriteError(w, r, fault.Newf(fault.CodeNotFound, "no such file: /web/%s", clip(r.PathValue("file"))))
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", WebCSP(d.uploadOrigin(r)))
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
