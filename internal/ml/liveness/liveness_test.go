package liveness

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/raster"
)

func TestCropShiftScalesAboutTheCentre(t *testing.T) {
	// A 100x120 box centred at (500, 400) in a 1000x800 image, scale 2:
	// 200x240 about the same centre, well inside.
	c := Crop{Scale: 2, Mode: CropShift}
	r := c.Region(1000, 800, geometry.Box{X: 450, Y: 340, W: 100, H: 120})
	assert.Equal(t, geometry.Box{X: 400, Y: 280, W: 201, H: 241}, r) // corner pixels inclusive, as Silent-Face crops
	assert.InDelta(t, 500.5, r.X+r.W/2, 0.5)
	assert.InDelta(t, 400.5, r.Y+r.H/2, 0.5)
}

func TestCropShiftMovesInsideTheImage(t *testing.T) {
	c := Crop{Scale: 2, Mode: CropShift}
	// Near the top-left corner: the 200x200 box would start at (-80, -60);
	// it is moved right and down to start at 0 and keeps its size.
	r := c.Region(640, 480, geometry.Box{X: -30, Y: -10, W: 100, H: 100})
	assert.Equal(t, geometry.Box{X: 0, Y: 0, W: 201, H: 201}, r)
	// Near the bottom-right corner: moved left and up to end on the last
	// pixel (639, 479).
	r = c.Region(640, 480, geometry.Box{X: 580, Y: 430, W: 100, H: 100})
	assert.Equal(t, 639.0, r.X+r.W-1)
	assert.Equal(t, 479.0, r.Y+r.H-1)
	assert.Equal(t, 201.0, r.W)
	assert.Equal(t, 201.0, r.H)
}

func TestCropShiftCapsTheScale(t *testing.T) {
	// A 200x300 box in a 640x480 image at scale 4: the scale is capped at
	// (480-1)/300 = 1.5967 so the box fits, then moved inside.
	c := Crop{Scale: 4, Mode: CropShift}
	r := c.Region(640, 480, geometry.Box{X: 220, Y: 90, W: 200, H: 300})
	s := 479.0 / 300
	assert.InDelta(t, 200*s, r.W, 1.01)
	assert.InDelta(t, 479, r.H, 1.01)
	assert.GreaterOrEqual(t, r.X, 0.0)
	assert.GreaterOrEqual(t, r.Y, 0.0)
	assert.LessOrEqual(t, r.X+r.W, 640.0)
	assert.LessOrEqual(t, r.Y+r.H, 480.0)
}

func TestCropSquareClampAndPad(t *testing.T) {
	face := geometry.Box{X: 40, Y: 20, W: 60, H: 100} // centre (70, 70)
	// Square of side 100 about (70, 70), times 2 = 200: [-30, 170] on both axes.
	pad := Crop{Scale: 2, Square: true, Mode: CropPad}.Region(150, 120, face)
	assert.Equal(t, geometry.Box{X: -30, Y: -30, W: 200, H: 200}, pad)
	clamp := Crop{Scale: 2, Square: true, Mode: CropClamp}.Region(150, 120, face)
	assert.Equal(t, geometry.Box{X: 0, Y: 0, W: 150, H: 120}, clamp)
	// Square with shift: side 200 does not fit in 150x120, so the scale is
	// capped at min(119/100, 149/100).
	sh := Crop{Scale: 2, Square: true, Mode: CropShift}.Region(150, 120, face)
	assert.InDelta(t, 119, sh.W, 1.01)
	assert.InDelta(t, 119, sh.H, 1.01)
	assert.GreaterOrEqual(t, sh.X, 0.0)
	assert.LessOrEqual(t, sh.X+sh.W, 150.0)
}

func TestCropResizeIdentityAndFlip(t *testing.T) {
	img := raster.New(4, 4)
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	same := cropResize(img, geometry.Box{X: 0, Y: 0, W: 4, H: 4}, 4, false)
	assert.Equal(t, img.Pix, same.Pix)
	flipped := cropResize(img, geometry.Box{X: 0, Y: 0, W: 4, H: 4}, 4, true)
	assert.Equal(t, mirror(img).Pix, flipped.Pix)
	// A region partly outside the image is black there.
	out := cropResize(img, geometry.Box{X: -4, Y: 0, W: 8, H: 4}, 8, false)
	r, g, b := out.At(0, 0)
	assert.Equal(t, [3]uint8{0, 0, 0}, [3]uint8{r, g, b})
	r, g, b = out.At(4, 0)
	assert.Equal(t, [3]uint8{0, 1, 2}, [3]uint8{r, g, b})
}

func TestTensorChannelOrder(t *testing.T) {
	img := raster.New(1, 1)
	copy(img.Pix, []uint8{10, 20, 30})
	assert.Equal(t, []float32{30, 20, 10}, tensor(img, true))
	assert.Equal(t, []float32{10, 20, 30}, tensor(img, false))
}

func TestLiveLogit(t *testing.T) {
	// softmax([2, 0, 0])[0] = e^2/(e^2+2): log-odds = 2 - log 2.
	assert.InDelta(t, 2-math.Log(2), LiveLogit([]float32{2, 0, 0}, 0), 1e-9)
	// softmax([0, 0, 0])[1] = 1/3: log-odds = log((1/3)/(2/3)) = -log 2.
	assert.InDelta(t, -math.Log(2), LiveLogit([]float32{0, 0, 0}, 1), 1e-9)
	assert.InDelta(t, 0, LiveLogit([]float32{1, 1}, 1), 1e-12)
	assert.Equal(t, MaxLogit, LiveLogit([]float32{100, -100, -100}, 0))
	assert.Equal(t, -MaxLogit, LiveLogit([]float32{-100, 100, 0}, 0))
	assert.InDelta(t, 0.5, Sigmoid(0), 1e-12)
}

// fakeModel answers with logits that depend on the mean input value, and
// records its inputs.
type fakeModel struct {
	size  int
	calls int
	live  int
	fail  bool
}

func (f *fakeModel) Run(in []float32) ([][]float32, error) {
	f.calls++
	if f.fail {
		return nil, errors.New("boom")
	}
	if len(in) != 3*f.size*f.size {
		return nil, errors.New("wrong input size")
	}
	var s float64
	for _, v := range in {
		s += float64(v)
	}
	m := s / float64(len(in)) / 255 // 0..1
	out := []float32{0, 0, 0}
	out[f.live] = float32(4*m - 2) // bright = live
	return [][]float32{out}, nil
}

func grey(w, h int, v uint8) *raster.RGB {
	img := raster.New(w, h)
	for i := range img.Pix {
		img.Pix[i] = v
	}
	return img
}

func TestDetectorFusesWeightedLogOdds(t *testing.T) {
	a := &fakeModel{size: 16, live: 0}
	b := &fakeModel{size: 8, live: 1}
	c := &fakeModel{size: 8, live: 1}
	sa, err := NewScorer(Spec{Name: "a", Size: 16, Crops: []Crop{{Scale: 2.7}, {Scale: 2.7, Square: true}}, Channels: "BGR", Live: 0, Weight: 1, Flip: true}, a)
	require.NoError(t, err)
	sb, err := NewScorer(Spec{Name: "b", Size: 8, Crops: []Crop{{Scale: 4}}, Channels: "BGR", Live: 1, Weight: 3}, b)
	require.NoError(t, err)
	sc, err := NewScorer(Spec{Name: "c", Size: 8, Crops: []Crop{{Scale: 4}}, Channels: "RGB", Live: 1, Weight: 0}, c)
	require.NoError(t, err)
	d, err := New(sa, sb, sc)
	require.NoError(t, err)
	res, err := d.Score(grey(200, 150, 255), geometry.Box{X: 80, Y: 50, W: 40, H: 50})
	require.NoError(t, err)
	assert.Equal(t, 4, a.calls, "two crops and their mirrors")
	assert.Equal(t, 1, b.calls)
	assert.Equal(t, 1, c.calls, "weight 0 models run and are reported")
	want := LiveLogit([]float32{2, 0, 0}, 0) // all-white input: logit 2 vs 0, 0
	for _, m := range []string{"a", "b", "c"} {
		assert.InDelta(t, want, res.Models[m], 1e-6, m)
	}
	assert.InDelta(t, want, res.Score, 1e-6)
	assert.Equal(t, d.Fuse(res.Models, res.Cues), res.Score)
	assert.Contains(t, d.Fusion(), "a*1+b*3@")
	assert.NotContains(t, d.Fusion(), "c*")
	// The fallback without b fuses a alone, under another name.
	fb, err := d.Without("b")
	require.NoError(t, err)
	assert.Contains(t, fb.Fusion(), "a*1@")
	assert.NotEqual(t, d.Fusion(), fb.Fusion())
	// A change to a spec changes the fusion's name.
	sa2, _ := NewScorer(Spec{Name: "a", Size: 16, Crops: []Crop{{Scale: 2.7}}, Channels: "BGR", Live: 0, Weight: 1, Flip: true}, a)
	d2, _ := New(sa2, sb)
	assert.NotEqual(t, d.Fusion(), d2.Fusion())

	// Weighted drops the reported-only model, keeping fusion and calibration.
	w := d.Weighted()
	assert.Equal(t, d.Fusion(), w.Fusion())
	assert.Equal(t, []string{"a", "b"}, w.Models())
	assert.Equal(t, []string{"a", "b", "c"}, d.Models())
	cal := &Calibration{Fusion: d.Fusion()}
	dc, err := d.WithCalibration(cal)
	require.NoError(t, err)
	got, err := dc.Weighted().Calibration()
	require.NoError(t, err)
	assert.Same(t, cal, got)
	_, err = d.Calibration()
	assert.ErrorIs(t, err, ErrUncalibrated, "the original is unchanged")
	_, err = d.WithCalibration(&Calibration{Fusion: "other"})
	assert.Error(t, err)
	_, err = d.WithCalibration(nil)
	assert.ErrorIs(t, err, ErrUncalibrated)

	_, err = New(sc)
	assert.Error(t, err, "no weighted model")
	_, err = d.Score(grey(10, 10, 0), geometry.Box{})
	assert.Error(t, err)
	a.fail = true
	_, err = d.Score(grey(200, 150, 255), geometry.Box{X: 80, Y: 50, W: 40, H: 50})
	assert.Error(t, err)
}

func TestLargeFacesAreReduced(t *testing.T) {
	a := &fakeModel{size: 16, live: 0}
	sa, err := NewScorer(Spec{Name: "a", Size: 16, Crops: []Crop{{Scale: 2.7}}, Channels: "BGR", Weight: 1}, a)
	require.NoError(t, err)
	d, err := New(sa)
	require.NoError(t, err)
	small, err := d.Score(grey(400, 300, 200), geometry.Box{X: 150, Y: 100, W: 80, H: 100})
	require.NoError(t, err)
	big, err := d.Score(grey(4000, 3000, 200), geometry.Box{X: 1500, Y: 1000, W: 800, H: 1000})
	require.NoError(t, err)
	assert.InDelta(t, small.Score, big.Score, 1e-6)
}

func TestSpecValidation(t *testing.T) {
	ok := Spec{Name: "m", Size: 80, Crops: []Crop{{Scale: 2.7}}, Channels: "BGR", Live: 1, Weight: 1}
	require.NoError(t, ok.validate())
	for _, bad := range []func(s *Spec){
		func(s *Spec) { s.Size = 0 },
		func(s *Spec) { s.Crops = nil },
		func(s *Spec) { s.Crops = []Crop{{Scale: 0}} },
		func(s *Spec) { s.Crops = []Crop{{Scale: 2, Mode: "zoom"}} },
		func(s *Spec) { s.Channels = "YUV" },
		func(s *Spec) { s.Weight = -1 },
	} {
		s := ok
		bad(&s)
		assert.Error(t, s.validate())
	}
	_, err := NewScorer(ok, nil)
	assert.Error(t, err)
}

func TestManifestModels(t *testing.T) {
	man := []byte(`{"manifest_version":1,"files":[
		{"name":"detector","kind":"model","file":"d.onnx","sha256":"x"},
		{"name":"live","kind":"model","file":"l.onnx","sha256":"ab","liveness":{"input_size":128,"crops":[{"scale":2.7,"mode":"shift"}],"channels":"BGR","live_index":0,"weight":1,"flip":true}},
		{"name":"extra","kind":"model","file":"e.onnx","sha256":"cd","optional":true,"liveness":{"input_size":80,"crops":[{"scale":4}],"channels":"BGR","live_index":1,"weight":0}}]}`)
	ms, err := ManifestModels(man)
	require.NoError(t, err)
	require.Len(t, ms, 2)
	assert.Equal(t, "live", ms[0].Spec.Name)
	assert.Equal(t, "ab", ms[0].Spec.SHA256)
	assert.True(t, ms[0].Spec.Flip)
	assert.False(t, ms[0].Optional)
	assert.True(t, ms[1].Optional)
	_, err = ManifestModels([]byte(`{"files":[{"name":"detector"}]}`))
	assert.Error(t, err)
	_, err = ManifestModels([]byte(`{"files":[{"name":"x","liveness":{"input_size":80}}]}`))
	assert.Error(t, err)
}

func TestParseLevel(t *testing.T) {
	for s, want := range map[string]Level{
		"LOW": Low, "medium": Medium, "Moderate": Moderate, "BALANCED_HIGH": BalancedHigh, "high": High,
		"balanced-very-high": BalancedVeryHigh, " VERY_HIGH ": VeryHigh, "HIGHEST": Highest, "": DefaultLevel,
	} {
		got, err := ParseLevel(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{"LOWEST", "HIGHER", "1", "BALANCED"} {
		_, err := ParseLevel(s)
		assert.ErrorIs(t, err, ErrUnknownLevel, s)
	}
	assert.Equal(t, BalancedVeryHigh, DefaultLevel)
	for _, l := range Levels {
		back, err := ParseLevel(l.String())
		require.NoError(t, err)
		assert.Equal(t, l, back)
	}
	b, err := json.Marshal(struct{ L Level }{High})
	require.NoError(t, err)
	assert.JSONEq(t, `{"L":"HIGH"}`, string(b))
	var v struct{ L Level }
	require.NoError(t, json.Unmarshal([]byte(`{"L":"very_high"}`), &v))
	assert.Equal(t, VeryHigh, v.L)
	assert.Error(t, json.Unmarshal([]byte(`{"L":"nope"}`), &v))
	assert.False(t, Level(0).Valid())
}
