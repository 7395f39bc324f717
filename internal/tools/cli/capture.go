package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/facelambda/facelambda/internal/core/capture"
)

// buildCapture is a reference client of active liveness: it makes the
// capture container of a folder of JPEG frames (in name order, at --fps)
// for the liveness parameters in --params (the answer of
// init-liveness-parameters), and with --seal encrypts it for the session:
// --out gets encryptedMetaData and --out.secret encryptedMasterSecret,
// ready for `curl -F encryptedMetaData=@out -F encryptedMasterSecret=@out.secret`.
func buildCapture(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("capture", stdout, stderr)
	paramsPath := fs.String("params", "", "the JSON answer of init-liveness-parameters")
	session := fs.String("session", "", "the bio-session id (default: from the parameters' certificate)")
	frames := fs.String("frames", "", "folder of JPEG frames, taken in name order")
	fps := fs.Float64("fps", 10, "frames per second (timestamps)")
	out := fs.String("out", "", "where to write the container (or, with --seal, encryptedMetaData)")
	seal := fs.Bool("seal", false, "encrypt for the session (replay-liveness-metadata)")
	if err := fs.ParseRequired(args, "params", "frames", "out"); err != nil {
		return err
	}
	if !(*fps > 0 && *fps <= 120) {
		return fmt.Errorf("capture: --fps %v must be in (0, 120]", *fps)
	}
	raw, err := os.ReadFile(*paramsPath)
	if err != nil {
		return err
	}
	var p struct {
		ServerRandom string         `json:"serverRandom"`
		PublicKey    map[string]any `json:"publicKey"`
		Certificate  []string       `json:"certificate"`
	}
	if err := json.Unmarshal(raw, &p); err != nil || p.ServerRandom == "" {
		return fmt.Errorf("capture: %s is not an init-liveness-parameters answer", *paramsPath)
	}
	if *session == "" {
		if *session, err = certificateSession(p.Certificate); err != nil {
			return err
		}
	}
	names, err := filepath.Glob(filepath.Join(*frames, "*"))
	if err != nil {
		return err
	}
	sort.Strings(names)
	m := capture.Manifest{Version: capture.Version, SessionID: *session, ServerRandom: p.ServerRandom}
	var data [][]byte
	for _, n := range names {
		ext := strings.ToLower(filepath.Ext(n))
		if ext != ".jpg" && ext != ".jpeg" {
			continue
		}
		b, err := os.ReadFile(n)
		if err != nil {
			return err
		}
		i := len(data)
		m.Frames = append(m.Frames, capture.FrameRef{File: fmt.Sprintf("%03d.jpg", i), T: int64(float64(i) * 1000 / *fps)})
		data = append(data, b)
	}
	if len(data) == 0 {
		return fmt.Errorf("capture: no .jpg frames in %s", *frames)
	}
	zip, err := capture.Build(m, data)
	if err != nil {
		return err
	}
	if !*seal {
		if err := os.WriteFile(*out, zip, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %d frames, %d bytes (application/zip)\n", *out, len(data), len(zip))
		return nil
	}
	pub, err := capture.ParseJWK(p.PublicKey)
	if err != nil {
		return err
	}
	meta, secret, err := capture.Seal(pub, *session, p.ServerRandom, zip)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, meta, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(*out+".secret", secret, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s (encryptedMetaData, %d bytes) and %s.secret (encryptedMasterSecret): %d frames\n", *out, len(meta), *out, len(data))
	return nil
}

// certificateSession reads the session id from the parameters'
// certificate (the JWS payload; its signature is for the client to check
// against the JWKS, which this tool does not do).
func certificateSession(cert []string) (string, error) {
	if len(cert) == 0 {
		return "", fmt.Errorf("capture: the parameters have no certificate: give --session")
	}
	parts := strings.Split(cert[0], ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("capture: the certificate is not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("capture: certificate payload: %w", err)
	}
	var c struct {
		SessionID string `json:"sessionId"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.SessionID == "" {
		return "", fmt.Errorf("capture: the certificate names no session: give --session")
	}
	return c.SessionID, nil
}
