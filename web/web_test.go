package web_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/web"
)

// TestBuiltFileCurrent: dist/liveness.js is what the sources compile to
// (run `make web` after changing web/src).
func TestBuiltFileCurrent(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not on PATH")
	}
	out := t.TempDir()
	cmd := exec.Command("../scripts/web-build.sh", out)
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	fresh, err := os.ReadFile(filepath.Join(out, "liveness.js"))
	require.NoError(t, err)
	committed, err := os.ReadFile("dist/liveness.js")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(fresh, committed), "web/dist/liveness.js is stale: run make web")
}

func TestLookup(t *testing.T) {
	for _, name := range web.Names() {
		f, ok := web.Lookup(name)
		require.True(t, ok, name)
		assert.NotEmpty(t, f.Data, name)
		assert.NotEmpty(t, f.ContentType, name)
	}
	for _, name := range []string{"", "web.go", "dist/liveness.js", "src/liveness.ts", "../go.mod"} {
		_, ok := web.Lookup(name)
		assert.False(t, ok, name)
	}
}

// jpegFrame is a small JPEG of one colour.
func jpegFrame(t *testing.T, c uint8) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 12))
	for i := range img.Pix {
		img.Pix[i] = c
	}
	img.Set(0, 0, color.RGBA{R: 255, A: 255})
	var buf bytes.Buffer
	require.NoError(t, jpeg.Encode(&buf, img, nil))
	return buf.Bytes()
}

// nodeScript builds and seals a capture with the compiled module, as the
// page does, in Node (whose WebCrypto is the browsers' API).
const nodeScript = `
import { buildContainer, sealCapture } from %q;
import { readFileSync, writeFileSync } from "node:fs";
const inp = JSON.parse(readFileSync(process.argv[2], "utf8"));
const frames = inp.frames.map((f) => ({ data: new Uint8Array(Buffer.from(f.data, "base64")), t: f.t }));
const b64 = (u) => Buffer.from(u).toString("base64");
try {
  const zip = buildContainer(inp.sessionId, inp.serverRandom, frames, { osType: "browser" });
  const s = await sealCapture(inp.jwk, inp.sessionId, inp.serverRandom, zip);
  writeFileSync(process.argv[3], JSON.stringify({ zip: b64(zip), meta: b64(s.encryptedMetaData), secret: b64(s.encryptedMasterSecret) }));
} catch (e) {
  writeFileSync(process.argv[3], JSON.stringify({ error: String(e.message || e) }));
}
`

type jsFrame struct {
	Data []byte `json:"data"`
	T    int64  `json:"t"`
}

type jsOut struct {
	Zip, Meta, Secret []byte
	Error             string
}

// runModule runs the compiled module's buildContainer and sealCapture in
// Node on the frames, for the session key's public half.
func runModule(t *testing.T, key *rsa.PrivateKey, sid, sr string, frames []jsFrame) jsOut {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not on PATH: the JavaScript container and sealing are not checked against the Go parser and opener here (the browser test does)")
	}
	abs, err := filepath.Abs("dist/liveness.js")
	require.NoError(t, err)
	dir := t.TempDir()
	script := filepath.Join(dir, "run.mjs")
	require.NoError(t, os.WriteFile(script, fmt.Appendf(nil, nodeScript, "file://"+abs), 0o600))
	in, err := json.Marshal(map[string]any{"sessionId": sid, "serverRandom": sr, "jwk": capture.PublicJWK(&key.PublicKey), "frames": frames})
	require.NoError(t, err)
	inPath, outPath := filepath.Join(dir, "in.json"), filepath.Join(dir, "out.json")
	require.NoError(t, os.WriteFile(inPath, in, 0o600))
	msg, err := exec.Command(node, script, inPath, outPath).CombinedOutput()
	require.NoError(t, err, "%s", msg)
	raw, err := os.ReadFile(outPath)
	require.NoError(t, err)
	var out jsOut
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

// TestModuleInteroperates: a capture built and sealed by the JavaScript
// client opens with capture.Open and parses with capture.Parse, frames and
// manifest intact; sealed for another attempt, it does not open.
func TestModuleInteroperates(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, capture.SessionKeyBits)
	require.NoError(t, err)
	const sid, sr = "7d0c8d4e-5b7a-4a53-9a3e-0d6c2f3b9a10", "01JEXAMPLESERVERRANDOM0001"
	for _, n := range []int{1, 3, 40} {
		frames := make([]jsFrame, n)
		for i := range frames {
			frames[i] = jsFrame{Data: jpegFrame(t, uint8(10+i)), T: int64(i * 100)}
		}
		out := runModule(t, key, sid, sr, frames)
		require.Empty(t, out.Error)
		assert.Len(t, out.Meta, len(out.Zip)+32, "FLC1 + nonce + ciphertext + tag")

		opened, err := capture.Open(key, sid, sr, out.Meta, out.Secret)
		require.NoError(t, err, "%d frames", n)
		assert.Equal(t, out.Zip, opened)
		c, err := capture.Parse(opened, capture.DefaultLimits())
		require.NoError(t, err)
		assert.Equal(t, sid, c.Manifest.SessionID)
		assert.Equal(t, sr, c.Manifest.ServerRandom)
		require.NotNil(t, c.Manifest.DeviceInfo)
		assert.Equal(t, "browser", c.Manifest.DeviceInfo.OSType)
		require.Len(t, c.Frames, n)
		for i, f := range c.Frames {
			assert.Equal(t, frames[i].Data, f.Data)
			assert.Equal(t, time.Duration(frames[i].T)*time.Millisecond, f.Time)
		}

		_, err = capture.Open(key, sid, "another-attempt", out.Meta, out.Secret)
		assert.ErrorIs(t, err, capture.ErrDecrypt)
	}
}

// TestModuleRefusesBadCaptures: the module refuses what the server would.
func TestModuleRefusesBadCaptures(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, capture.SessionKeyBits)
	require.NoError(t, err)
	jpg := jpegFrame(t, 1)
	for name, tc := range map[string]struct {
		sid    string
		frames []jsFrame
		want   string
	}{
		"no frames":          {"s", []jsFrame{}, "no frames"},
		"times not after":    {"s", []jsFrame{{jpg, 100}, {jpg, 100}}, "not after"},
		"not a JPEG":         {"s", []jsFrame{{[]byte("PNG"), 0}}, "not a JPEG"},
		"empty session":      {"", []jsFrame{{jpg, 0}}, "sessionId"},
		"control characters": {"a\nb", []jsFrame{{jpg, 0}}, "control character"},
	} {
		t.Run(name, func(t *testing.T) {
			out := runModule(t, key, tc.sid, "sr", tc.frames)
			assert.Contains(t, out.Error, tc.want)
		})
	}
}

// TestEveryCodeInWords: every error code the page's routes may answer,
// and each of the page's own, has a sentence in src/messages.ts.
func TestEveryCodeInWords(t *testing.T) {
	src, err := os.ReadFile("src/messages.ts")
	require.NoError(t, err)
	codes := []string{
		fault.CodeTokenInvalid, fault.CodeTokenExpired, fault.CodeTokenScope, fault.CodeTokenReplayed,
		fault.CodeNotFound, fault.CodeLivenessExpired, fault.CodeTooManyAttempts, fault.CodeLivenessInProgress,
		fault.CodeReplayed, fault.CodeWrongServerRandom, fault.CodeWrongSession, fault.CodeDecryptionFailed,
		fault.CodeRequestTooLarge, fault.CodeInvalidImage, fault.CodeInvalidRequest, fault.CodeBusy,
		fault.CodeGPUUnavailable, fault.CodeNotConfigured, fault.CodeInternal,
		"CAMERA_DENIED", "NO_CAMERA", "CAMERA_BUSY", "UNSUPPORTED_BROWSER", "MISSING_PARAMETERS",
		"UPLOAD_FAILED", "NETWORK_ERROR", "CAPTURE_FAILED", "PAGE_HIDDEN", "RESULT_TIMEOUT",
	}
	for _, c := range codes {
		assert.Regexp(t, `(?m)^\s+`+c+`: "[^"]+",$`, string(src), "no sentence for %s", c)
	}
}
