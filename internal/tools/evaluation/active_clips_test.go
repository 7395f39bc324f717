package evaluation_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/core/biometric/biometrictest"
	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/liveness"
	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/testkit"
	"github.com/facelambda/facelambda/internal/tools/evaluation"
)

// jpegs returns n tiny byte strings that start like a JPEG (the container
// checks only the SOI marker).
func jpegs(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte{0xFF, 0xD8, byte(i), 0xFF, 0xD9}
	}
	return out
}

func TestClipCapture(t *testing.T) {
	tests := []struct {
		name     string
		frames   [][]byte
		fps      float64
		lim      capture.Limits
		wantSent int
		wantLast time.Duration
		wantErr  bool
	}{
		{"10 fps", jpegs(31), 10, capture.Limits{}, 31, 3 * time.Second, false},
		{"5 fps", jpegs(4), 5, capture.Limits{}, 4, 600 * time.Millisecond, false},
		{"longer than the limit keeps the first frames", jpegs(336), 10, capture.Limits{MaxFrames: 150}, 150, 14900 * time.Millisecond, false},
		{"default limit", jpegs(200), 10, capture.Limits{}, capture.DefaultLimits().MaxFrames, 14900 * time.Millisecond, false},
		{"no frames", nil, 10, capture.Limits{}, 0, 0, true},
		{"no fps", jpegs(3), 0, capture.Limits{}, 0, 0, true},
		{"not a JPEG", [][]byte{[]byte("png")}, 10, capture.Limits{}, 0, 0, true},
		{"frame too large", [][]byte{append([]byte{0xFF, 0xD8}, make([]byte, 100)...)}, 10, capture.Limits{MaxFrameBytes: 10}, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := evaluation.ClipCapture(tt.frames, tt.fps, tt.lim, "s1", "r1")
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Len(t, c.Frames, tt.wantSent)
			assert.Equal(t, "s1", c.Manifest.SessionID)
			assert.Equal(t, "r1", c.Manifest.ServerRandom)
			assert.Zero(t, c.Frames[0].Time)
			assert.Equal(t, tt.wantLast, c.Frames[tt.wantSent-1].Time)
			assert.Equal(t, tt.frames[tt.wantSent-1], c.Frames[tt.wantSent-1].Data, "frames in order")
		})
	}
}

func TestAskedSequence(t *testing.T) {
	L, R, U, D, B := challenge.TurnLeft, challenge.TurnRight, challenge.LookUp, challenge.LookDown, challenge.Blink
	tests := []struct {
		name string
		in   []challenge.Action
		want []challenge.Action
	}{
		{"empty", nil, nil},
		{"repeated blinks are one", []challenge.Action{B, B, B}, []challenge.Action{B}},
		{"alternating kept", []challenge.Action{D, L, D, L}, []challenge.Action{D, L, D, L}},
		{"capped", []challenge.Action{L, R, L, R, L, R, L, R, U, D}, []challenge.Action{L, R, L, R, L, R, L, R}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, evaluation.AskedSequence(tt.in))
		})
	}
}

func TestClipsCount(t *testing.T) {
	clip := func(label, origin, status string) evaluation.ClipResult {
		return evaluation.ClipResult{Label: label, Origin: origin, Status: status}
	}
	tests := []struct {
		name                       string
		clips                      []evaluation.ClipResult
		bona, bonaFail, att, attOK int
		probes, probeOK            int
		bpcer, apcer               float64
	}{
		{"none", nil, 0, 0, 0, 0, 0, 0, 0, 0},
		{"mixed", []evaluation.ClipResult{
			clip("bonafide", evaluation.OriginAnnotations, "SUCCESS"),
			clip("bonafide", evaluation.OriginLabels, "FAILED"),
			clip("bonafide", evaluation.OriginAnnotations, "SPOOF"),
			clip("bonafide", evaluation.OriginAnnotations, "SUCCESS"),
			clip("bonafide", evaluation.OriginProbe, "SUCCESS"),
			clip("bonafide", evaluation.OriginProbe, "FAILED"),
			clip("attack", evaluation.OriginProbe, "SPOOF"),
			clip("attack", evaluation.OriginProbe, "SUCCESS"),
			clip("attack", evaluation.OriginLabels, "FAILED"),
			clip("attack", evaluation.OriginAnnotations, "FAILED"),
		}, 4, 2, 4, 1, 2, 1, 0.5, 0.25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := evaluation.ClipsResult{Clips: tt.clips}
			r.Count()
			assert.Equal(t, []int{tt.bona, tt.bonaFail, tt.att, tt.attOK, tt.probes, tt.probeOK},
				[]int{r.BonaFide, r.BonaFideFail, r.Attacks, r.AttackPass, r.Probes, r.ProbeSuccess})
			assert.InDelta(t, tt.bpcer, r.BPCER, 1e-9)
			assert.InDelta(t, tt.apcer, r.APCER, 1e-9)
		})
	}
}

func TestReadClipLabels(t *testing.T) {
	tests := []struct {
		name    string
		tsv     string
		want    []evaluation.ClipLabel
		wantErr bool
	}{
		{"challenges and defaults", "clip\tlabel\tfps\tchallenges\tsource\tnote\na\tbonafide\t5\tTURN_LEFT,blink\tx\ty\nb\tattack\t\t\tx\ty\n",
			[]evaluation.ClipLabel{{Clip: "a", Label: "bonafide", FPS: 5, Challenges: []challenge.Action{challenge.TurnLeft, challenge.Blink}},
				{Clip: "b", Label: "attack", FPS: 10}}, false},
		{"bad label", "clip\tlabel\tfps\tchallenges\na\tmaybe\t10\t\n", nil, true},
		{"bad challenge", "clip\tlabel\tfps\tchallenges\na\tbonafide\t10\tSMILE\n", nil, true},
		{"bad fps", "clip\tlabel\tfps\tchallenges\na\tbonafide\t-1\t\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "labels.tsv")
			require.NoError(t, os.WriteFile(p, []byte(tt.tsv), 0o600))
			got, err := evaluation.ReadClipLabels(p)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.True(t, got[1].Attack())
		})
	}
}

// wellFormed decodes doc to its end and counts its elements by name.
func wellFormed(t *testing.T, doc []byte) map[string]int {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	n := map[string]int{}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return n
		}
		require.NoError(t, err, "SVG is not well-formed XML")
		if se, ok := tok.(xml.StartElement); ok {
			n[se.Name.Local]++
		}
	}
}

func TestWriteSVG(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name      string
		chart     evaluation.Chart
		polylines int
		circles   int
		texts     []string
	}{
		{"lines broken at NaN, dots, bands, marks, escaped names", evaluation.Chart{Title: "a <b> & c", XLabel: "time (s)",
			Panels: []evaluation.Panel{
				{YLabel: "pose", Series: []evaluation.Series{
					{Name: "yaw", X: []float64{0, 1, 2, 3, 4}, Y: []float64{1, 2, nan, 4, 5}},
					{Name: "pitch", X: []float64{0, 1, 2}, Y: []float64{0, 0, 0}}},
					Rules: []evaluation.Rule{{Y: 0}}},
				{YLabel: "passive", YMin: -1, YMax: 1, Series: []evaluation.Series{
					{Name: "passive", X: []float64{0, 2, 4}, Y: []float64{nan, 0.5, 9}, Dots: true}},
					Rules: []evaluation.Rule{{Y: 0.2, Label: "threshold"}}}},
			Bands: []evaluation.Band{{From: 1, To: 2, Label: "left"}},
			Marks: []evaluation.Mark{{X: 1.5, Label: "left met"}}},
			3, 2, []string{"a &lt;b&gt; &amp; c", ">yaw<", ">pitch<", ">passive<", ">left met<", ">threshold<", ">time (s)<"}},
		{"empty series", evaluation.Chart{Panels: []evaluation.Panel{{Series: []evaluation.Series{{Name: "none"}}}}}, 0, 0, []string{">none<"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, evaluation.WriteSVG(&b, tt.chart))
			n := wellFormed(t, b.Bytes())
			assert.Equal(t, 1, n["svg"])
			assert.Equal(t, tt.polylines, n["polyline"])
			assert.Equal(t, tt.circles, n["circle"])
			for _, s := range tt.texts {
				assert.Contains(t, b.String(), s)
			}
			assert.NotContains(t, b.String(), "NaN")
		})
	}
}

func TestEyeAspectRatios(t *testing.T) {
	eye := func(x0, open float64) []geometry.Point {
		return []geometry.Point{{X: x0, Y: 0}, {X: x0 + 1, Y: -open}, {X: x0 + 2, Y: -open}, {X: x0 + 3, Y: 0}, {X: x0 + 2, Y: open}, {X: x0 + 1, Y: open}}
	}
	lm := make([]geometry.Point, 68)
	copy(lm[36:], eye(0, 0.45))
	copy(lm[42:], eye(10, 0.15))
	l, r := evaluation.EyeAspectRatios(lm)
	assert.InDelta(t, 0.3, l, 1e-9)
	assert.InDelta(t, 0.1, r, 1e-9)
	l, r = evaluation.EyeAspectRatios(nil)
	assert.True(t, math.IsNaN(l) && math.IsNaN(r))
}

func TestWriteTraceTSV(t *testing.T) {
	nan := math.NaN()
	var b strings.Builder
	require.NoError(t, evaluation.WriteTraceTSV(&b, []evaluation.TraceRow{
		{Frame: 1, T: 0, Faces: 1, Yaw: 1.5, Pitch: -2, Roll: 0, EyeLeft: 0.9, EyeRight: 0.8, EARLeft: 0.3, EARRight: 0.31, GeomYaw: 0.25, GeomPitch: -0.1, Passive: nan},
		{Frame: 3, T: 0.2, Faces: 0, Yaw: nan, Pitch: nan, Roll: nan, EyeLeft: nan, EyeRight: nan, EARLeft: nan, EARRight: nan, GeomYaw: nan, GeomPitch: nan, Passive: 2.5}}))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 3)
	assert.Equal(t, "1\t0.0\t1\t1.500\t-2.000\t0.000\t0.900\t0.800\t0.300\t0.310\t0.250\t-0.100\t", lines[1])
	assert.Equal(t, "3\t0.2\t0\t\t\t\t\t\t\t\t\t\t2.500", lines[2])
}

// TestActiveClipsEndToEnd runs one short real clip (lp_d0: a blink) through
// the API's analysis with the challenges of its annotations.
func TestActiveClipsEndToEnd(t *testing.T) {
	root := testkit.Shared(t, "data", "active")
	bio := biometrictest.Real(t)
	cfg, err := config.Load()
	require.NoError(t, err)
	pas, err := app.OpenLiveness(cfg.Models)
	if err != nil {
		t.Skip("liveness models not available (layers/):", err)
	}
	labels, err := evaluation.ReadClipLabels(filepath.Join(root, "labels.tsv"))
	require.NoError(t, err)
	f, err := os.Open(filepath.Join("testdata", "active", "annotations.tsv"))
	require.NoError(t, err)
	defer f.Close()
	an, err := evaluation.ParseAnnotations(f)
	require.NoError(t, err)
	svc := liveness.New(liveness.Deps{Bio: bio, Passive: pas,
		Active: &liveness.Active{Challenge: challenge.DefaultConfig(), ExposeChecks: true}})
	res, err := evaluation.ActiveClips(context.Background(), svc, evaluation.ClipsConfig{Dir: root, Labels: labels, Annotations: an, Only: []string{"lp_d0"}})
	require.NoError(t, err)
	require.Len(t, res.Clips, 1)
	c := res.Clips[0]
	assert.Equal(t, evaluation.OriginAnnotations, c.Origin)
	assert.Equal(t, []challenge.Action{challenge.Blink}, c.Challenges)
	assert.Equal(t, 31, c.Sent)
	require.Len(t, c.Trace, 31)
	assert.Equal(t, 31, c.Trace[30].Frame)
	assert.InDelta(t, 3.0, c.Trace[30].T, 1e-9)
	require.NotNil(t, c.Checks)
	require.NotNil(t, c.Checks.Measures)
	assert.Equal(t, string(challenge.StatusSuccess), c.Status, "diagnostic %q", c.Diagnostic)
	assert.Equal(t, 1, res.BonaFide)
	assert.Zero(t, res.BPCER)
}
