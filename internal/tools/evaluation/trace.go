package evaluation

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/liveness"
	"github.com/facelambda/facelambda/internal/ml/geometry"
)

// TraceRow is what the analysis measured on one analysed frame. Values
// not measured (no face, no pose, eyes unknown, frame not scored by the
// passive model) are NaN.
type TraceRow struct {
	// Frame is the clip's frame number (00001.jpg is 1); T its time in s.
	Frame int
	T     float64
	Faces int
	// Yaw, Pitch, Roll in degrees, in the challenge package's convention
	// (yaw > 0: the subject turned to their left; pitch > 0: looking up).
	Yaw, Pitch, Roll float64
	// EyeLeft, EyeRight are the eye model's open probabilities; EARLeft,
	// EARRight the landmarks' eye aspect ratios (image left and right eye).
	EyeLeft, EyeRight float64
	EARLeft, EARRight float64
	// GeomYaw and GeomPitch are the landmark pose cues (challenge.GeometryYaw,
	// and challenge.GeometryPitch less the default GeomPitchZero).
	GeomYaw, GeomPitch float64
	// Passive is the passive live log-odds where the API scored the frame.
	Passive float64
}

func traceRows(a *liveness.Analysis) []TraceRow {
	out := make([]TraceRow, len(a.Observations))
	nan := math.NaN()
	for i, o := range a.Observations {
		r := TraceRow{Frame: a.Frames[i] + 1, T: o.Time.Seconds(), Faces: o.Faces,
			Yaw: nan, Pitch: nan, Roll: nan, EyeLeft: nan, EyeRight: nan, EARLeft: nan, EARRight: nan, GeomYaw: nan, GeomPitch: nan, Passive: o.Live}
		if o.Faces > 0 {
			r.Roll = o.Roll
			if o.PoseAvailable {
				r.Yaw, r.Pitch = o.Yaw, o.Pitch
			}
			if o.LeftEyeOpen >= 0 && o.RightEyeOpen >= 0 {
				r.EyeLeft, r.EyeRight = o.LeftEyeOpen, o.RightEyeOpen
			}
			r.EARLeft, r.EARRight = EyeAspectRatios(o.Landmarks)
			if gy, ok := challenge.GeometryYaw(o.Landmarks); ok {
				r.GeomYaw = gy
			}
			if gp, ok := challenge.GeometryPitch(o.Landmarks); ok {
				r.GeomPitch = gp - challenge.DefaultConfig().GeomPitchZero
			}
		}
		out[i] = r
	}
	return out
}

// EyeAspectRatios are the eye aspect ratios (challenge.EyeAspectRatio) of
// the 68 iBUG landmarks' eyes (36-41 the image's left eye, 42-47 its
// right), about 0.3 open and under 0.15 closed; NaN when the landmarks are
// missing or degenerate.
func EyeAspectRatios(lm []geometry.Point) (left, right float64) {
	if len(lm) < challenge.NumLandmarks {
		return math.NaN(), math.NaN()
	}
	return ear(lm[36:42]), ear(lm[42:48])
}

func ear(p []geometry.Point) float64 {
	if r, ok := challenge.EyeAspectRatio(p); ok {
		return r
	}
	return math.NaN()
}

// traceHeader is the TSV header of WriteTraceTSV.
const traceHeader = "frame\tt\tfaces\tyaw\tpitch\troll\teye_open_left\teye_open_right\tear_left\tear_right\tgeom_yaw\tgeom_pitch\tpassive"

// WriteTraceTSV writes rows as TSV (NaN written as an empty field).
func WriteTraceTSV(w io.Writer, rows []TraceRow) error {
	var b strings.Builder
	b.WriteString(traceHeader + "\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%d\t%.1f\t%d", r.Frame, r.T, r.Faces)
		for _, v := range []float64{r.Yaw, r.Pitch, r.Roll, r.EyeLeft, r.EyeRight, r.EARLeft, r.EARRight, r.GeomYaw, r.GeomPitch, r.Passive} {
			b.WriteByte('\t')
			if !math.IsNaN(v) {
				fmt.Fprintf(&b, "%.3f", v)
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// TraceChart is the plot of a clip's trace: pose, eyes and passive score
// against time, with the annotated moves as bands and the moments the
// challenges were met as marks.
func TraceChart(r *ClipResult, an []Annotation, fps float64, passiveThreshold float64) Chart {
	col := func(f func(TraceRow) float64) (x, y []float64) {
		for _, t := range r.Trace {
			x, y = append(x, t.T), append(y, f(t))
		}
		return x, y
	}
	series := func(name string, f func(TraceRow) float64, dots bool) Series {
		x, y := col(f)
		return Series{Name: name, X: x, Y: y, Dots: dots}
	}
	ch := Chart{Title: fmt.Sprintf("%s (%s): asked %s, %s %s", r.Clip, r.Label, joinActions(r.Challenges), r.Status, r.Diagnostic),
		XLabel: "time (s)"}
	ch.Panels = []Panel{
		{YLabel: "pose (degrees)", Series: []Series{
			series("yaw (+ = subject's left)", func(t TraceRow) float64 { return t.Yaw }, false),
			series("pitch (+ = up)", func(t TraceRow) float64 { return t.Pitch }, false),
			series("roll", func(t TraceRow) float64 { return t.Roll }, false)},
			Rules: []Rule{{Y: 0}}},
		{YLabel: "eyes", YMin: 0, YMax: 1, Series: []Series{
			series("eye model, image-left eye", func(t TraceRow) float64 { return t.EyeLeft }, false),
			series("eye model, image-right eye", func(t TraceRow) float64 { return t.EyeRight }, false),
			series("EAR x2, image-left eye", func(t TraceRow) float64 { return 2 * t.EARLeft }, false),
			series("EAR x2, image-right eye", func(t TraceRow) float64 { return 2 * t.EARRight }, false)}},
		{YLabel: "passive log-odds", Series: []Series{
			series("passive (frames the API scored)", func(t TraceRow) float64 { return t.Passive }, true)},
			Rules: []Rule{{Y: passiveThreshold, Label: "threshold"}}},
	}
	for _, a := range an {
		if a.Move == MoveOther {
			continue
		}
		ch.Bands = append(ch.Bands, Band{From: float64(a.First-1) / fps, To: float64(a.Last) / fps, Label: shortMove(a.Move)})
	}
	for _, s := range r.Steps {
		if s.Met && s.AtMs != nil {
			ch.Marks = append(ch.Marks, Mark{X: float64(*s.AtMs) / 1000, Label: shortMove(Move(s.Action)) + " met"})
		}
	}
	return ch
}

func joinActions(as []challenge.Action) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = string(a)
	}
	return strings.Join(s, ",")
}

func shortMove(m Move) string {
	return map[Move]string{"TURN_LEFT": "left", "TURN_RIGHT": "right", "LOOK_UP": "up", "LOOK_DOWN": "down",
		"BLINK": "blink", MoveWink: "wink", MoveNeutral: "neutral"}[m]
}
