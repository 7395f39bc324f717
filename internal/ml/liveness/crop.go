package liveness

import (
	"math"

	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/raster"
)

// CropMode says how an enlarged face box that leaves the image is brought
// back inside it.
type CropMode string

const (
	// CropShift is the Silent-Face-Anti-Spoofing rule (MiniFASNet's training
	// crops, and the faceplugin JavaScript): the scale is capped so that the
	// enlarged box fits the image, then the box is shifted inside it. The
	// crop keeps its aspect ratio and its size.
	CropShift CropMode = "shift"
	// CropClamp intersects the enlarged box with the image; the crop then
	// loses its aspect ratio and is stretched to the model's input.
	CropClamp CropMode = "clamp"
	// CropPad keeps the enlarged box as it is and fills what lies outside
	// the image with black.
	CropPad CropMode = "pad"
)

// Crop is the context a liveness model sees around a face.
type Crop struct {
	// Scale enlarges the box about its centre (2.7 sees the head and some
	// background; the models were trained on such context).
	Scale float64 `json:"scale"`
	// Square replaces the box by a square of side the box's height, on the
	// same centre, before scaling (fr_liveness).
	Square bool `json:"square,omitempty"`
	// Mode brings the enlarged box inside the image; CropShift when empty.
	Mode CropMode `json:"mode,omitempty"`
}

// Region returns the part of a w x h image that the crop of face covers, in
// pixel-edge coordinates (pixel x covers [x, x+1)), with integer corners.
//
// In CropShift mode it follows Silent-Face-Anti-Spoofing's _get_new_box
// exactly: scale = min(Scale, (h-1)/boxH, (w-1)/boxW), the scaled box is
// centred on the face, moved right or down when it starts before 0 and left
// or up when it ends after the last pixel (w-1, h-1), and its corners are
// truncated to integers; the crop spans both corner pixels.
func (c Crop) Region(w, h int, face geometry.Box) geometry.Box {
	b := face
	if c.Square {
		ctr := b.Center()
		b = geometry.Box{X: ctr.X - b.H/2, Y: b.Y, W: b.H, H: b.H}
	}
	scale := c.Scale
	if scale <= 0 {
		scale = 1
	}
	if b.W <= 0 || b.H <= 0 || w < 1 || h < 1 {
		return geometry.Box{}
	}
	ctr := b.Center()
	switch c.Mode {
	case CropClamp, CropPad:
		nw, nh := b.W*scale, b.H*scale
		x0, y0 := math.Floor(ctr.X-nw/2), math.Floor(ctr.Y-nh/2)
		x1, y1 := math.Ceil(ctr.X+nw/2), math.Ceil(ctr.Y+nh/2)
		if c.Mode == CropClamp {
			x0, y0 = math.Max(x0, 0), math.Max(y0, 0)
			x1, y1 = math.Min(x1, float64(w)), math.Min(y1, float64(h))
			if x1 <= x0 || y1 <= y0 {
				return geometry.Box{}
			}
		}
		return geometry.Box{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}
	}
	W, H := float64(w-1), float64(h-1)
	if W < 1 || H < 1 {
		return geometry.Box{X: 0, Y: 0, W: float64(w), H: float64(h)}
	}
	scale = math.Min(scale, math.Min(H/b.H, W/b.W))
	nw, nh := b.W*scale, b.H*scale
	x0, y0 := ctr.X-nw/2, ctr.Y-nh/2
	x1, y1 := ctr.X+nw/2, ctr.Y+nh/2
	if x0 < 0 {
		x1 -= x0
		x0 = 0
	}
	if y0 < 0 {
		y1 -= y0
		y0 = 0
	}
	if x1 > W {
		x0 -= x1 - W
		x1 = W
	}
	if y1 > H {
		y0 -= y1 - H
		y1 = H
	}
	ix0, iy0 := math.Max(math.Trunc(x0), 0), math.Max(math.Trunc(y0), 0)
	ix1, iy1 := math.Trunc(x1), math.Trunc(y1)
	return geometry.Box{X: ix0, Y: iy0, W: ix1 - ix0 + 1, H: iy1 - iy0 + 1}
}

// cropResize renders region of img at size x size, bilinearly, the way
// OpenCV's INTER_LINEAR resize does (source coordinate = (x+0.5)*scale-0.5,
// border pixels replicated, no averaging when shrinking), which is how the
// models' training crops were made. Parts of region outside img are black.
func cropResize(img *raster.RGB, region geometry.Box, size int, flip bool) *raster.RGB {
	out := raster.New(size, size)
	sx, sy := region.W/float64(size), region.H/float64(size)
	x0, y0 := int(region.X), int(region.Y)
	rw, rh := int(region.W), int(region.H)
	// Sample within the region (its own borders replicated, as OpenCV does
	// for an ROI), then map to the image.
	for y := 0; y < size; y++ {
		fy := (float64(y)+0.5)*sy - 0.5
		ya := int(math.Floor(fy))
		wy := fy - float64(ya)
		ya, yb := clampInt(ya, rh), clampInt(ya+1, rh)
		for x := 0; x < size; x++ {
			fx := (float64(x)+0.5)*sx - 0.5
			xa := int(math.Floor(fx))
			wx := fx - float64(xa)
			xa, xb := clampInt(xa, rw), clampInt(xa+1, rw)
			var acc [3]float64
			for _, s := range [4]struct {
				x, y int
				w    float64
			}{{xa, ya, (1 - wx) * (1 - wy)}, {xb, ya, wx * (1 - wy)}, {xa, yb, (1 - wx) * wy}, {xb, yb, wx * wy}} {
				px, py := x0+s.x, y0+s.y
				if s.w == 0 || px < 0 || py < 0 || px >= img.W || py >= img.H {
					continue
				}
				i := (py*img.W + px) * 3
				acc[0] += s.w * float64(img.Pix[i])
				acc[1] += s.w * float64(img.Pix[i+1])
				acc[2] += s.w * float64(img.Pix[i+2])
			}
			ox := x
			if flip {
				ox = size - 1 - x
			}
			o := (y*size + ox) * 3
			for c := 0; c < 3; c++ {
				out.Pix[o+c] = uint8(math.Min(255, math.Max(0, math.Round(acc[c]))))
			}
		}
	}
	return out
}

func clampInt(i, n int) int {
	if i < 0 {
		return 0
	}
	if i >= n {
		return n - 1
	}
	return i
}

// tensor lays m out as a planar [1,3,H,W] float32 tensor of raw 0-255
// values, in BGR channel order when bgr is set.
func tensor(m *raster.RGB, bgr bool) []float32 {
	n := m.W * m.H
	out := make([]float32, 3*n)
	src := [3]int{0, 1, 2}
	if bgr {
		src = [3]int{2, 1, 0}
	}
	for c := 0; c < 3; c++ {
		plane := out[c*n : (c+1)*n]
		s := src[c]
		for i := range plane {
			plane[i] = float32(m.Pix[i*3+s])
		}
	}
	return out
}

// mirror returns m flipped horizontally.
func mirror(m *raster.RGB) *raster.RGB {
	out := raster.New(m.W, m.H)
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			copy(out.Pix[(y*m.W+m.W-1-x)*3:][:3], m.Pix[(y*m.W+x)*3:][:3])
		}
	}
	return out
}
