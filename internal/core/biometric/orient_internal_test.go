package biometric

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/ml/face"
	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/raster"
)

// turnEngine finds one face in each orientation listed in upright, measuring
// the value given there. It tells the orientation from a marker pixel
// that starts in the top left corner of a 4x2 image.
type turnEngine struct {
	upright map[int]float64 // quarter turns clockwise -> Upright measure
	detects int
}

func (e *turnEngine) quarters(img *raster.RGB) int {
	// Where Rotate90 takes the top left pixel of a 4x2 image.
	for q, p := range [4][2]int{{0, 0}, {1, 0}, {3, 1}, {0, 3}} {
		if p[0] < img.W && p[1] < img.H && img.Pix[(p[1]*img.W+p[0])*3] == 255 {
			return q
		}
	}
	panic("marker lost")
}

func (e *turnEngine) Detect(img *raster.RGB) ([]face.Detection, error) {
	e.detects++
	if _, ok := e.upright[e.quarters(img)]; !ok {
		return nil, nil
	}
	return []face.Detection{{Box: geometry.Box{W: float64(img.W), H: float64(img.H)}, Score: 0.9}}, nil
}

func (e *turnEngine) Subject([]face.Detection) int { return 0 }

func (e *turnEngine) Analyze(img *raster.RGB, d face.Detection) (*face.Face, error) {
	return &face.Face{Detection: d, Quality: face.Quality{Upright: e.upright[e.quarters(img)]}}, nil
}

// TestFindFaceDecision covers the orientation decision on measures chosen
// around the thresholds.
func TestFindFaceDecision(t *testing.T) {
	tests := []struct {
		name    string
		upright map[int]float64
		rotate  bool
		want    int // quarters used; -1 no face; -2 refused
		detects int
	}{
		{"sure upright: one detector run", map[int]float64{0: 3.0, 2: 3.9}, false, 0, 1},
		{"upside down, refused", map[int]float64{0: 0.4, 2: 3.6}, false, -2, 4},
		{"upside down, turned", map[int]float64{0: 0.4, 2: 3.6}, true, 2, 4},
		{"sideways, turned", map[int]float64{0: 1.0, 1: 0.2, 3: 3.1}, true, 3, 4},
		{"unsure but no better turn", map[int]float64{0: 2.0, 2: 2.2}, false, 0, 4},
		{"posed face, turn below the floor", map[int]float64{0: 0.03, 2: 0.9}, false, 0, 4},
		{"no face, no rotation", map[int]float64{1: 3.0}, false, -1, 1},
		{"no face upright, best turn wins", map[int]float64{1: 0.5, 3: 3.0}, true, 3, 4},
		{"no face anywhere", map[int]float64{}, true, -1, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := &turnEngine{upright: tt.upright}
			s, err := New(eng, Config{Encoder: "x", Dimensions: 512})
			require.NoError(t, err)
			img := raster.New(4, 2)
			img.Pix[0] = 255
			f, err := s.findFace(img, tt.rotate, "image")
			assert.Equal(t, tt.detects, eng.detects)
			switch tt.want {
			case -2:
				var be *fault.Error
				require.ErrorAs(t, err, &be)
				assert.Equal(t, fault.CodeQualityCheck, be.Code)
				assert.Equal(t, CheckUpright, be.Check)
			case -1:
				require.NoError(t, err)
				assert.Nil(t, f)
			default:
				require.NoError(t, err)
				require.NotNil(t, f)
				assert.Equal(t, tt.want, f.quarters)
			}
		})
	}
}

// TestTurnBox: a box follows raster.RGB.Rotate90.
func TestTurnBox(t *testing.T) {
	img := raster.New(6, 4) // a 2x1 block at (3, 1)
	b := geometry.Box{X: 3, Y: 1, W: 2, H: 1}
	for y := 1; y < 2; y++ {
		for x := 3; x < 5; x++ {
			img.Pix[(y*img.W+x)*3] = 255
		}
	}
	for q := 0; q < 4; q++ {
		r := img.Rotate90(q)
		tb := turnBox(b, q, img.W, img.H)
		n := 0
		for y := 0; y < r.H; y++ {
			for x := 0; x < r.W; x++ {
				in := float64(x) >= tb.X && float64(x) < tb.X+tb.W && float64(y) >= tb.Y && float64(y) < tb.Y+tb.H
				assert.Equal(t, in, r.Pix[(y*r.W+x)*3] == 255, "q=%d (%d,%d)", q, x, y)
				if in {
					n++
				}
			}
		}
		assert.Equal(t, 2, n, "q=%d", q)
	}
}
