package challenge_test

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/ml/geometry"
)

// fuzzFrame is the number of fuzz bytes one observation takes.
const fuzzFrame = 10

// fuzzCapture builds a challenge, a configuration and observations from
// fuzz bytes: timestamps that may go backwards, any face count, poses,
// eyes, landmarks real, flat, perturbed, short or NaN, embeddings of the
// subject, of someone else, short or NaN, and any passive score.
func fuzzCapture(data []byte) ([]challenge.Action, []challenge.Observation, challenge.Config) {
	cfg := challenge.DefaultConfig()
	if len(data) < 4 {
		return nil, nil, cfg
	}
	head := binary.LittleEndian.Uint32(data)
	data = data[4:]
	n := 1 + int(head%challenge.MaxChallenges)
	actions, _ := challenge.Draw(uint64(head), n)
	if head&(1<<8) != 0 {
		actions = append(actions, challenge.Action("NOPE"))
	}
	if head&(1<<9) != 0 {
		cfg.LiveThreshold = 0
	}
	if head&(1<<10) != 0 {
		cfg.Timeout = 3 * time.Second
	}
	cfg.StrictOrder = head&(1<<11) == 0

	r := rand.New(rand.NewPCG(uint64(head), 7))
	real, flat := headModel(false), headModel(true)
	person := unitVector(r, embedDim)
	other := unitVector(r, embedDim)
	var obs []challenge.Observation
	var t time.Duration
	for len(data) >= fuzzFrame {
		b := data[:fuzzFrame]
		data = data[fuzzFrame:]
		t += time.Duration(int(b[0])-16) * 10 * time.Millisecond
		o := challenge.Observation{
			Time:          t,
			Faces:         int(b[1]%4) - 1 + int(b[1]>>7), // -1..3
			Yaw:           float64(int(b[2])-128) / 2,
			Pitch:         float64(int(b[3])-128) / 3,
			PoseAvailable: b[1]&0x10 == 0,
			LeftEyeOpen:   float64(b[4]) / 254,
			RightEyeOpen:  float64(b[5]) / 254,
			Quality:       int(b[9]) - 20,
		}
		if b[4] == 255 {
			o.LeftEyeOpen = -1
		}
		if b[5] == 255 {
			o.RightEyeOpen = math.NaN()
		}
		switch b[6] % 6 {
		case 1:
			o.Landmarks = project(real, o.Yaw, o.Pitch)
		case 2:
			o.Landmarks = project(flat, o.Yaw, o.Pitch)
		case 3:
			o.Landmarks = project(real, o.Yaw, o.Pitch)
			for i := range o.Landmarks {
				o.Landmarks[i].X += float64(int(b[6])-128) * r.NormFloat64()
			}
		case 4:
			o.Landmarks = project(real, 0, 0)[:int(b[6])%challenge.NumLandmarks]
		case 5:
			o.Landmarks = project(real, 0, 0)
			o.Landmarks[int(b[6])%challenge.NumLandmarks] = geometry.Point{X: math.NaN(), Y: math.Inf(1)}
		}
		switch b[7] % 5 {
		case 1:
			o.Embedding = noisy(r, person, 0.02)
		case 2:
			o.Embedding = other
		case 3:
			o.Embedding = person[:int(b[7])%embedDim]
		case 4:
			o.Embedding = append([]float32(nil), person...)
			o.Embedding[0] = float32(math.NaN())
		}
		switch b[8] {
		case 255:
			o.Live = math.NaN()
		case 254:
			o.Live = math.Inf(1)
		case 253:
			o.Live = math.Inf(-1)
		default:
			o.Live = float64(int(b[8])-128) / 16
		}
		obs = append(obs, o)
	}
	return actions, obs, cfg
}

func FuzzAnalyze(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 0, 0, 0})
	f.Add([]byte{1, 2, 0, 0, 26, 1, 128, 128, 250, 250, 1, 1, 255, 90, 26, 1, 188, 128, 250, 250, 1, 1, 255, 90})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 2, 0, 0, 255, 255, 4, 3, 253, 0, 0, 130, 255, 255, 0, 0, 5, 4, 254, 255})
	// A real capture's worth of frames, from a fixed generator.
	r := rand.New(rand.NewPCG(5, 5))
	long := make([]byte, 4+40*fuzzFrame)
	for i := range long {
		long[i] = byte(r.IntN(256))
	}
	f.Add(long)
	f.Fuzz(func(t *testing.T, data []byte) {
		actions, obs, cfg := fuzzCapture(data)
		res := challenge.Analyze(actions, obs, cfg)
		if !res.Status.Valid() {
			t.Fatalf("invalid status %q", res.Status)
		}
		if (res.Status == challenge.StatusSuccess) != (res.Diagnostic == "") {
			t.Fatalf("status %s with diagnostic %q", res.Status, res.Diagnostic)
		}
		if len(res.Steps) != len(actions) {
			t.Fatalf("%d steps for %d actions", len(res.Steps), len(actions))
		}
		for i, s := range res.Steps {
			if s.Action != actions[i] || s.Met != (s.Frame >= 0) || s.Frame >= len(obs) || s.Peak >= len(obs) {
				t.Fatalf("step %d: %+v (%d frames)", i, s, len(obs))
			}
			if res.Status == challenge.StatusSuccess && !s.Met {
				t.Fatalf("success with step %d not met", i)
			}
		}
		if res.BestFrame < -1 || res.BestFrame >= len(obs) || (res.BestFrame >= 0 && obs[res.BestFrame].Faces != 1) {
			t.Fatalf("best frame %d", res.BestFrame)
		}
		if math.IsNaN(res.MinCosine) || res.MinCosine > 1+1e-6 {
			t.Fatalf("min cosine %v", res.MinCosine)
		}
		if res.Planarity.Pairs != len(res.Planarity.Frames) || (res.Planarity.Planar && res.Planarity.Pairs == 0) {
			t.Fatalf("planarity %+v", res.Planarity)
		}
		if (res.LiveFrames == 0) != math.IsNaN(res.LiveMedian) {
			t.Fatalf("live median %v over %d frames", res.LiveMedian, res.LiveFrames)
		}
	})
}
