package evaluation

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/liveness"
	"github.com/facelambda/facelambda/internal/tools/dataset"
)

// Origins of a clip's challenges.
const (
	// OriginLabels: the challenges listed in labels.tsv.
	OriginLabels = "labels"
	// OriginAnnotations: the moves annotated by eye (annotations.tsv).
	OriginAnnotations = "annotations"
	// OriginProbe: the clip performs no challenge move; it is asked a
	// single TURN_LEFT it does not do, so anything but SUCCESS is right.
	OriginProbe = "probe"
)

// ClipLabel is one row of the clips' labels.tsv.
type ClipLabel struct {
	Clip, Label string
	FPS         float64
	Challenges  []challenge.Action
}

// Attack reports whether the clip is a presentation attack.
func (l ClipLabel) Attack() bool { return l.Label == "attack" }

// ReadClipLabels reads labels.tsv of the active clips (clip, label
// bonafide/attack, fps, challenges comma-separated or empty, ...).
func ReadClipLabels(path string) ([]ClipLabel, error) {
	rows, err := dataset.ReadTSV(path)
	if err != nil {
		return nil, fmt.Errorf("clip labels: %w", err)
	}
	var out []ClipLabel
	for i, r := range rows {
		l := ClipLabel{Clip: r["clip"], Label: r["label"], FPS: 10}
		if l.Clip == "" || (l.Label != "bonafide" && l.Label != "attack") {
			return nil, fmt.Errorf("clip labels: row %d: need a clip and a label bonafide or attack", i+2)
		}
		if f := strings.TrimSpace(r["fps"]); f != "" {
			if l.FPS, err = strconv.ParseFloat(f, 64); err != nil || !(l.FPS > 0 && l.FPS <= 120) {
				return nil, fmt.Errorf("clip labels: %s: fps %q must be in (0, 120]", l.Clip, f)
			}
		}
		for _, s := range strings.FieldsFunc(r["challenges"], func(r rune) bool { return r == ',' || r == ' ' }) {
			a, err := challenge.ParseAction(s)
			if err != nil {
				return nil, fmt.Errorf("clip labels: %s: %w", l.Clip, err)
			}
			l.Challenges = append(l.Challenges, a)
		}
		out = append(out, l)
	}
	return out, nil
}

// ClipCapture builds the capture of a clip's JPEG frames as `facelambda
// capture` does (frame i at i*1000/fps ms) within lim: a clip longer than
// lim.MaxFrames keeps its first MaxFrames frames (a client stops recording
// there). The container is built and parsed back with lim, the way the API
// receives it.
func ClipCapture(frames [][]byte, fps float64, lim capture.Limits, session, serverRandom string) (*capture.Capture, error) {
	if len(frames) == 0 {
		return nil, errors.New("clip capture: no frames")
	}
	if !(fps > 0) {
		return nil, fmt.Errorf("clip capture: fps %v must be positive", fps)
	}
	if lim.MaxFrames <= 0 {
		lim.MaxFrames = capture.DefaultLimits().MaxFrames
	}
	frames = frames[:min(len(frames), lim.MaxFrames)]
	m := capture.Manifest{Version: capture.Version, SessionID: session, ServerRandom: serverRandom}
	for i := range frames {
		m.Frames = append(m.Frames, capture.FrameRef{File: fmt.Sprintf("%03d.jpg", i), T: int64(float64(i) * 1000 / fps)})
	}
	zip, err := capture.Build(m, frames)
	if err != nil {
		return nil, fmt.Errorf("clip capture: %w", err)
	}
	c, err := capture.Parse(zip, lim)
	if err != nil {
		return nil, fmt.Errorf("clip capture: %w", err)
	}
	return c, nil
}

// AskedSequence makes the annotated moves of a clip a sequence the API can
// ask: no action twice in a row (challenge.Draw's rule) and at most
// challenge.MaxChallenges actions.
func AskedSequence(moves []challenge.Action) []challenge.Action {
	out := slices.Compact(slices.Clone(moves))
	return out[:min(len(out), challenge.MaxChallenges)]
}

// Within returns the annotations of clip cut to frames 1..last.
func (an Annotations) Within(clip string, last int) Annotations {
	out := Annotations{}
	for _, a := range an[clip] {
		if a.First <= last {
			a.Last = min(a.Last, last)
			out[clip] = append(out[clip], a)
		}
	}
	return out
}

// ClipResult is the verdict on one clip.
type ClipResult struct {
	Clip   string `json:"clip"`
	Label  string `json:"label"`
	Origin string `json:"origin"`
	// Annotated are the challenge moves annotated in the frames sent,
	// Challenges what was asked (see AskedSequence).
	Annotated  []challenge.Action `json:"annotated,omitempty"`
	Challenges []challenge.Action `json:"challenges"`
	// Frames is the clip's length, Sent the capture's (the frame limit).
	Frames int `json:"frames"`
	Sent   int `json:"sent"`
	// Status, Diagnostic, Steps and Checks are the API's result.
	Status     string                    `json:"status"`
	Diagnostic string                    `json:"diagnostic,omitempty"`
	Steps      []liveness.StepResult     `json:"steps"`
	Checks     *liveness.ChallengeChecks `json:"checks"`
	// Trace is what was measured on each analysed frame.
	Trace []TraceRow `json:"-"`
}

// ClipsResult is the JSON report of `eval active --clips`.
type ClipsResult struct {
	Clips []ClipResult `json:"clips"`
	// BPCER is the share of bona fide clips performing their challenges
	// (labels or annotations) not judged SUCCESS; APCER the share of
	// attack clips judged SUCCESS. Probes of bona fide clips doing nothing
	// count in neither: ProbeSuccess counts those judged SUCCESS (a move
	// accepted that was not made).
	BonaFide     int     `json:"bona_fide"`
	BonaFideFail int     `json:"bona_fide_not_success"`
	BPCER        float64 `json:"bpcer"`
	Attacks      int     `json:"attacks"`
	AttackPass   int     `json:"attacks_success"`
	APCER        float64 `json:"apcer"`
	Probes       int     `json:"bona_fide_probes"`
	ProbeSuccess int     `json:"bona_fide_probes_success"`
}

// Count fills the figures from r.Clips.
func (r *ClipsResult) Count() {
	r.BonaFide, r.BonaFideFail, r.Attacks, r.AttackPass, r.Probes, r.ProbeSuccess = 0, 0, 0, 0, 0, 0
	for _, c := range r.Clips {
		ok := c.Status == string(challenge.StatusSuccess)
		switch {
		case c.Label == "attack":
			r.Attacks++
			if ok {
				r.AttackPass++
			}
		case c.Origin == OriginProbe:
			r.Probes++
			if ok {
				r.ProbeSuccess++
			}
		default:
			r.BonaFide++
			if !ok {
				r.BonaFideFail++
			}
		}
	}
	r.BPCER, r.APCER = ratio(r.BonaFideFail, r.BonaFide), ratio(r.AttackPass, r.Attacks)
}

// ClipsConfig says what ActiveClips runs.
type ClipsConfig struct {
	// Dir holds one folder of JPEG frames per clip.
	Dir    string
	Labels []ClipLabel
	// Annotations give the challenges of clips listed without any.
	Annotations Annotations
	// Only, when not empty, restricts the run to these clips.
	Only []string
}

// ActiveClips runs every labelled clip through svc's active liveness
// analysis (liveness.Service.Analyse: the API's) with its challenges.
func ActiveClips(ctx context.Context, svc *liveness.Service, cfg ClipsConfig) (*ClipsResult, error) {
	res := &ClipsResult{}
	for _, l := range cfg.Labels {
		if len(cfg.Only) > 0 && !slices.Contains(cfg.Only, l.Clip) {
			continue
		}
		r, err := runClip(ctx, svc, cfg, l)
		if err != nil {
			return nil, fmt.Errorf("clip %s: %w", l.Clip, err)
		}
		res.Clips = append(res.Clips, *r)
	}
	res.Count()
	return res, nil
}

func runClip(ctx context.Context, svc *liveness.Service, cfg ClipsConfig, l ClipLabel) (*ClipResult, error) {
	frames, err := readFrames(filepath.Join(cfg.Dir, l.Clip))
	if err != nil {
		return nil, err
	}
	c, err := ClipCapture(frames, l.FPS, svc.Limits(), "eval-"+l.Clip, "eval")
	if err != nil {
		return nil, err
	}
	r := &ClipResult{Clip: l.Clip, Label: l.Label, Frames: len(frames), Sent: len(c.Frames), Challenges: l.Challenges, Origin: OriginLabels}
	if len(r.Challenges) == 0 {
		r.Annotated = cfg.Annotations.Within(l.Clip, r.Sent).ChallengeSequence(l.Clip)
		r.Challenges, r.Origin = AskedSequence(r.Annotated), OriginAnnotations
	}
	if len(r.Challenges) == 0 {
		r.Challenges, r.Origin = []challenge.Action{challenge.TurnLeft}, OriginProbe
	}
	p := liveness.Parameters{Type: "HIGH", Timeout: (60 * time.Second).Milliseconds(), Challenges: r.Challenges}
	level, err := liveness.ParseSecurityLevel("")
	if err != nil {
		return nil, err
	}
	p.PassiveLevel = level.String()
	a, err := svc.Analyse(ctx, c, p)
	if err != nil {
		return nil, err
	}
	r.Status, r.Steps, r.Checks = a.Result.LivenessStatus, a.Result.Challenges, a.Result.Checks
	if a.Result.Diagnostic != nil {
		r.Diagnostic = *a.Result.Diagnostic
	}
	r.Trace = traceRows(a)
	return r, nil
}

// readFrames reads the .jpg files of dir in name order.
func readFrames(dir string) ([][]byte, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out [][]byte
	for _, n := range names {
		if ext := strings.ToLower(filepath.Ext(n)); ext != ".jpg" && ext != ".jpeg" {
			continue
		}
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no .jpg frames in %s", dir)
	}
	return out, nil
}
