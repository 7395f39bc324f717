package httpapi

import (
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/liveness"
)

// Bounds of the replay form's small parts.
const (
	maxMasterSecret = 1024
	maxDeviceInfo   = 4 << 10
)

// replayLivenessMetadata takes an encrypted capture (seed 000's
// replayLivenessMetadata) and has it decrypted and analysed.
func (d *Deps) replayLivenessMetadata(w http.ResponseWriter, r *http.Request) {
	svc := d.LivenessService()
	if !d.activeReady(w, r, svc) {
		return
	}
	parts, err := readReplayForm(w, r, svc.MaxCaptureBytes())
	if err != nil {
		WriteError(w, r, err)
		return
	}
	sid := r.PathValue("id")
	res, err := svc.SubmitReplay(r.Context(), liveness.Replay{Tenant: tenant(r), Session: sid, Metadata: parts["encryptedMetaData"],
		MasterSecret: parts["encryptedMasterSecret"], RefID: w.Header().Get("X-Request-Id")})
	if err != nil {
		WriteError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v2/bio-sessions/"+sid+"/replay-liveness-metadata")
	out := liveness.ReplayStatus{Status: res.LivenessStatus, Diagnostic: res.Diagnostic, BestImageID: res.BestImageID}
	d.writeDecision(w, r, http.StatusCreated, &signedReplayStatus{ReplayStatus: &out}, res.Subjects()...)
}

// readReplayForm reads the parts of a replay: encryptedMetaData (at most
// limit bytes), encryptedMasterSecret and livenessDeviceInfo (a JSON
// object, optional).
func readReplayForm(w http.ResponseWriter, r *http.Request, limit int64) (map[string][]byte, error) {
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(ct, "multipart/") || params["boundary"] == "" {
		return nil, fault.New(fault.CodeUnsupportedMedia, "Content-Type must be multipart/form-data or multipart/mixed")
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit+64<<10)
	parts := map[string][]byte{}
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, captureError(err)
		}
		name := p.FormName()
		var max int64
		switch name {
		case "encryptedMetaData":
			max = limit
		case "encryptedMasterSecret":
			max = maxMasterSecret
		case "livenessDeviceInfo":
			max = maxDeviceInfo
		default:
			return nil, fault.Invalid("unexpected part %q: expected encryptedMetaData, encryptedMasterSecret and livenessDeviceInfo", name)
		}
		if _, dup := parts[name]; dup {
			return nil, fault.Invalid("part %q appears twice", name)
		}
		b, err := io.ReadAll(io.LimitReader(p, max+1))
		if err != nil {
			return nil, captureError(err)
		}
		if int64(len(b)) > max {
			return nil, fault.Newf(fault.CodeRequestTooLarge, "part %s is larger than %d bytes", name, max)
		}
		parts[name] = b
	}
	if len(parts["encryptedMetaData"]) == 0 || len(parts["encryptedMasterSecret"]) == 0 {
		return nil, fault.Invalid("encryptedMetaData and encryptedMasterSecret are required")
	}
	if di, ok := parts["livenessDeviceInfo"]; ok && len(di) > 0 {
		var v map[string]any
		if json.Unmarshal(di, &v) != nil {
			return nil, fault.Invalid("livenessDeviceInfo is not a JSON object")
		}
	}
	return parts, nil
}

// getReplayStatus returns the status of the session's attempt and its best
// image.
func (d *Deps) getReplayStatus(w http.ResponseWriter, r *http.Request) {
	out, res, err := d.LivenessService().ReplayResult(r.Context(), tenant(r), r.PathValue("id"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	d.writeDecision(w, r, http.StatusOK, &signedReplayStatus{ReplayStatus: out}, res.Subjects()...)
}

// getRecording returns a presigned URL of the session's recording.
func (d *Deps) getRecording(w http.ResponseWriter, r *http.Request) {
	rec, err := d.LivenessService().Recording(r.Context(), tenant(r), r.PathValue("id"), d.Config.UploadTTL)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}
