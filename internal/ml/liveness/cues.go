package liveness

import (
	"math"
	"slices"

	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/raster"
)

// Image cues of recaptured faces: cheap measurements of the face and its
// surroundings that screens and prints tend to change (recapture blur or
// moire, washed-out colour, glare, the straight edges of a bezel or a
// sheet). They are candidates for the fusion; which of them carry weight
// is decided by the leave-one-source-out evaluation (`facelambda eval
// passive-loso`), not here.

// Cue names, as they appear in feature caches and fusion specs.
const (
	CueDetail   = "cue_detail"   // log of mean |Laplacian| over mean |gradient| in the face
	CueSharp    = "cue_sharp"    // log of the face's mean |Laplacian| over its surroundings'
	CueSat      = "cue_sat"      // mean saturation in the face
	CueChroma   = "cue_chroma"   // spread (SD) of the chroma in the face
	CueGlare    = "cue_glare"    // fraction of near-white pixels around the face
	CueBorder   = "cue_border"   // strongest straight edge around the face, relative to the mean
	CueContrast = "cue_contrast" // log of the face's luma SD
)

// cueVersion changes whenever a cue's definition does, so that fusions
// (and their calibrations) made with the old cues are orphaned.
const cueVersion = "cues-v1"

// CueNames lists the cues Cues returns, in a fixed order.
var CueNames = []string{CueDetail, CueSharp, CueSat, CueChroma, CueGlare, CueBorder, CueContrast}

// Sides of the resampled face and context the cues are measured on: fixed,
// so the cues do not depend on the image's resolution more than the
// models' inputs do.
const (
	cueFace    = 96
	cueContext = 128
)

// Cues measures the image cues of face (a detector box in img's pixels).
// The face box is resampled to 96x96 and the 2.7x context (the crop rule
// fr_liveness sees) to 128x128, both bilinearly without averaging.
func Cues(img *raster.RGB, face geometry.Box) map[string]float64 {
	return CuesOf(img, face, CueNames...)
}

// CuesOf is Cues measuring only the cues named (the face's colour and
// contrast cues cost a fraction of the others, which also resample and
// filter the context). Unknown names are ignored.
func CuesOf(img *raster.RGB, face geometry.Box, names ...string) map[string]float64 {
	out := make(map[string]float64, len(names))
	want := func(n string) bool { return slices.Contains(names, n) }
	fr := Crop{Scale: 1, Mode: CropShift}.Region(img.W, img.H, face)
	cr := Crop{Scale: 2.7, Mode: CropShift}.Region(img.W, img.H, face)
	if fr.W < 2 || fr.H < 2 || cr.W < 2 || cr.H < 2 {
		for _, n := range names {
			if slices.Contains(CueNames, n) {
				out[n] = 0
			}
		}
		return out
	}
	f := cropResize(img, fr, cueFace, false)
	fg := f.Gray()
	faceStats(f, fg, out)
	for k := range out {
		if !want(k) {
			delete(out, k)
		}
	}
	if !want(CueDetail) && !want(CueSharp) && !want(CueGlare) && !want(CueBorder) {
		return out
	}
	c := cropResize(img, cr, cueContext, false)
	cg := c.Gray()
	lapF, gradF := laplaceGrad(fg, cueFace, cueFace)
	lapC, _ := laplaceGrad(cg, cueContext, cueContext)
	out[CueDetail] = math.Log((lapF + 1e-3) / (gradF + 1e-3))
	out[CueSharp] = math.Log((lapF + 1e-3) / (lapC + 1e-3))
	glare := 0
	for i := 0; i < cueContext*cueContext; i++ {
		if c.Pix[3*i] >= 245 && c.Pix[3*i+1] >= 245 && c.Pix[3*i+2] >= 245 {
			glare++
		}
	}
	out[CueGlare] = float64(glare) / float64(cueContext*cueContext)
	out[CueBorder] = straightEdge(cg, cueContext, face, cr)
	for k := range out {
		if !want(k) {
			delete(out, k)
		}
	}
	return out
}

// faceStats sets the colour and contrast cues of the resampled face f
// (gray fg).
func faceStats(f *raster.RGB, fg []float32, out map[string]float64) {

	var sat, cb, cr2, cbb, crr, lum, lum2 float64
	n := float64(cueFace * cueFace)
	for i := 0; i < cueFace*cueFace; i++ {
		r, g, b := float64(f.Pix[3*i]), float64(f.Pix[3*i+1]), float64(f.Pix[3*i+2])
		mx, mn := math.Max(r, math.Max(g, b)), math.Min(r, math.Min(g, b))
		if mx > 0 {
			sat += (mx - mn) / mx
		}
		u := -0.1687*r - 0.3313*g + 0.5*b
		v := 0.5*r - 0.4187*g - 0.0813*b
		cb += u
		cr2 += v
		cbb += u * u
		crr += v * v
		y := float64(fg[i])
		lum += y
		lum2 += y * y
	}
	out[CueSat] = sat / n
	varU := cbb/n - (cb/n)*(cb/n)
	varV := crr/n - (cr2/n)*(cr2/n)
	out[CueChroma] = math.Sqrt(math.Max(0, varU+varV))
	out[CueContrast] = math.Log(math.Sqrt(math.Max(0, lum2/n-(lum/n)*(lum/n))) + 1)
}

// laplaceGrad returns the mean absolute 4-neighbour Laplacian and the mean
// absolute gradient (|dx| + |dy|) of a gray image, over its interior.
func laplaceGrad(g []float32, w, h int) (lap, grad float64) {
	var n float64
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			i := y*w + x
			c := float64(g[i])
			l, r, u, d := float64(g[i-1]), float64(g[i+1]), float64(g[i-w]), float64(g[i+w])
			lap += math.Abs(l + r + u + d - 4*c)
			grad += (math.Abs(r-l) + math.Abs(d-u)) / 2
			n++
		}
	}
	return lap / n, grad / n
}

// straightEdge measures the strongest long vertical or horizontal edge in
// the context crop outside the face: for every column (row) of the crop
// not crossing the face box, the mean horizontal (vertical) gradient along
// it, and returns the largest such mean over the crop's mean gradient. A
// screen's bezel or a sheet's edge gives a line of strong gradient that
// runs the length of the crop.
func straightEdge(g []float32, s int, face, region geometry.Box) float64 {
	// The face box in crop coordinates.
	k := float64(s) / region.W
	fx0, fx1 := int((face.X-region.X)*k), int((face.X+face.W-region.X)*k)
	ky := float64(s) / region.H
	fy0, fy1 := int((face.Y-region.Y)*ky), int((face.Y+face.H-region.Y)*ky)
	var total, n float64
	colSum := make([]float64, s)
	rowSum := make([]float64, s)
	for y := 1; y < s-1; y++ {
		for x := 1; x < s-1; x++ {
			i := y*s + x
			dx := math.Abs(float64(g[i+1]) - float64(g[i-1]))
			dy := math.Abs(float64(g[i+s]) - float64(g[i-s]))
			colSum[x] += dx
			rowSum[y] += dy
			total += dx + dy
			n += 2
		}
	}
	mean := total/n + 1e-3
	best := 0.0
	for x := 2; x < s-2; x++ {
		if x >= fx0 && x <= fx1 {
			continue
		}
		best = math.Max(best, colSum[x]/float64(s-2)/mean)
	}
	for y := 2; y < s-2; y++ {
		if y >= fy0 && y <= fy1 {
			continue
		}
		best = math.Max(best, rowSum[y]/float64(s-2)/mean)
	}
	return best
}
