package decode

import (
	"image"
	"image/color"

	"github.com/facelambda/facelambda/internal/ml/raster"
)

// webpToRGB converts an image from golang.org/x/image/webp: lossy images
// hold limited-range YCbCr (see studioRow), lossless ones NRGBA.
func webpToRGB(m image.Image) *raster.RGB {
	b := m.Bounds()
	dst := raster.New(b.Dx(), b.Dy())
	switch m := m.(type) {
	case *image.YCbCr:
		if fromYCbCr(dst, m, nil, 0, studioRow) {
			return dst
		}
	case *image.NYCbCrA:
		if fromYCbCr(dst, &m.YCbCr, m.A, m.AStride, studioRow) {
			return dst
		}
	}
	return toRGB(m)
}

// toRGB converts a decoded image to packed RGB, compositing any alpha over
// white. The image types the standard and WebP decoders produce have fast
// paths that work a row at a time; anything else goes through At.
func toRGB(m image.Image) *raster.RGB {
	b := m.Bounds()
	dst := raster.New(b.Dx(), b.Dy())
	switch m := m.(type) {
	case *image.YCbCr:
		if fromYCbCr(dst, m, nil, 0, jfifRow) {
			return dst
		}
	case *image.NYCbCrA:
		if fromYCbCr(dst, &m.YCbCr, m.A, m.AStride, jfifRow) {
			return dst
		}
	case *image.Gray:
		fromGray(dst, m)
		return dst
	case *image.RGBA:
		fromRGBA(dst, m)
		return dst
	case *image.NRGBA:
		fromNRGBA(dst, m)
		return dst
	case *image.Paletted:
		fromPaletted(dst, m)
		return dst
	case *image.CMYK:
		fromCMYK(dst, m)
		return dst
	}
	fromAny(dst, m)
	return dst
}

// div255 returns x/255 rounded to nearest, for x <= 255*255.
func div255(x uint32) uint32 {
	x += 128
	return (x + x>>8) >> 8
}

// overWhite composites a colour channel c of non-premultiplied alpha a over white.
func overWhite(c, a uint8) uint8 {
	return uint8(div255(uint32(c)*uint32(a) + 255*uint32(255-a)))
}

// chromaShift returns the log2 horizontal and vertical chroma subsampling
// factors of r, and false for a ratio it does not know.
func chromaShift(r image.YCbCrSubsampleRatio) (sx, sy uint, ok bool) {
	switch r {
	case image.YCbCrSubsampleRatio444:
		return 0, 0, true
	case image.YCbCrSubsampleRatio422:
		return 1, 0, true
	case image.YCbCrSubsampleRatio420:
		return 1, 1, true
	case image.YCbCrSubsampleRatio440:
		return 0, 1, true
	case image.YCbCrSubsampleRatio411:
		return 2, 0, true
	case image.YCbCrSubsampleRatio410:
		return 2, 1, true
	}
	return 0, 0, false
}

// ycbcrRow converts one row of Y samples and their chroma samples to RGB;
// chroma sample c(x) = (x+minX)>>sx - cx0 serves pixel x.
type ycbcrRow func(out, ys, cbs, crs []uint8, sx uint, minX, cx0 int)

// fromYCbCr converts m a row at a time with conv. When alpha is not nil it
// holds non-premultiplied alpha (as in image.NYCbCrA) and pixels are
// composited over white. It returns false, converting nothing, for layouts
// it does not handle.
func fromYCbCr(dst *raster.RGB, m *image.YCbCr, alpha []uint8, aStride int, conv ycbcrRow) bool {
	sx, sy, ok := chromaShift(m.SubsampleRatio)
	r := m.Rect
	if !ok || r.Min.X < 0 || r.Min.Y < 0 {
		return false
	}
	w := r.Dx()
	cx0 := r.Min.X >> sx
	for y := r.Min.Y; y < r.Max.Y; y++ {
		yi := (y - r.Min.Y) * m.YStride
		ci := (y>>sy - r.Min.Y>>sy) * m.CStride
		out := dst.Pix[(y-r.Min.Y)*w*3 : (y-r.Min.Y+1)*w*3]
		conv(out, m.Y[yi:yi+w], m.Cb[ci:], m.Cr[ci:], sx, r.Min.X, cx0)
		if alpha == nil {
			continue
		}
		ai := (y - r.Min.Y) * aStride
		for x, a := range alpha[ai : ai+w] {
			if a != 0xFF {
				o := out[x*3 : x*3+3 : x*3+3]
				o[0], o[1], o[2] = overWhite(o[0], a), overWhite(o[1], a), overWhite(o[2], a)
			}
		}
	}
	return true
}

// jfifRow converts full-range (JFIF) YCbCr, as JPEG stores it, with the same
// fixed-point arithmetic as color.YCbCrToRGB. The chroma terms are computed
// once for the run of pixels that share a chroma sample.
func jfifRow(out, ys, cbs, crs []uint8, sx uint, minX, cx0 int) {
	out = out[:len(ys)*3]
	x := 0
	if sx == 1 && minX&1 == 0 {
		// 4:2:0 and 4:2:2, by far the most common: pixel pairs.
		n := len(ys) / 2
		ys, cbs, crs := ys[:2*n], cbs[:n], crs[:n]
		for c := range n {
			rc, gc, bc := jfifChroma(cbs[c], crs[c])
			y0, y1 := int32(ys[2*c])*0x10101, int32(ys[2*c+1])*0x10101
			o := out[c*6 : c*6+6 : c*6+6]
			o[0], o[1], o[2] = clip16(y0+rc), clip16(y0+gc), clip16(y0+bc)
			o[3], o[4], o[5] = clip16(y1+rc), clip16(y1+gc), clip16(y1+bc)
		}
		x = 2 * n
	}
	for x < len(ys) {
		c := (x+minX)>>sx - cx0
		rc, gc, bc := jfifChroma(cbs[c], crs[c])
		for end := min((c+cx0+1)<<sx-minX, len(ys)); x < end; x++ {
			y := int32(ys[x]) * 0x10101
			o := out[x*3 : x*3+3 : x*3+3]
			o[0], o[1], o[2] = clip16(y+rc), clip16(y+gc), clip16(y+bc)
		}
	}
}

// jfifChroma returns the red, green and blue chroma terms of full-range
// YCbCr, in 16.16 fixed point.
func jfifChroma(cb, cr uint8) (r, g, b int32) {
	cb1, cr1 := int32(cb)-128, int32(cr)-128
	return 91881 * cr1, -22554*cb1 - 46802*cr1, 116130 * cb1
}

// clip16 turns a value with 16 fractional bits into a clamped 8-bit sample.
func clip16(v int32) uint8 {
	if uint32(v)&0xff000000 == 0 {
		return uint8(v >> 16)
	}
	return uint8(^(v >> 31))
}

// studioRow converts limited-range ("studio swing", Y in 16..235) BT.601
// YCbCr, which is what VP8 (lossy WebP) stores, with libwebp's fixed-point
// arithmetic. golang.org/x/image/webp returns these samples in an
// image.YCbCr, whose own colour model would treat them as full range and
// wash the picture out.
func studioRow(out, ys, cbs, crs []uint8, sx uint, minX, cx0 int) {
	out = out[:len(ys)*3]
	x := 0
	if sx == 1 && minX&1 == 0 {
		n := len(ys) / 2
		ys, cbs, crs := ys[:2*n], cbs[:n], crs[:n]
		for c := range n {
			rc, gc, bc := studioChroma(cbs[c], crs[c])
			y0, y1 := int32(ys[2*c])*19077>>8, int32(ys[2*c+1])*19077>>8
			o := out[c*6 : c*6+6 : c*6+6]
			o[0], o[1], o[2] = clip14(y0+rc), clip14(y0+gc), clip14(y0+bc)
			o[3], o[4], o[5] = clip14(y1+rc), clip14(y1+gc), clip14(y1+bc)
		}
		x = 2 * n
	}
	for x < len(ys) {
		c := (x+minX)>>sx - cx0
		rc, gc, bc := studioChroma(cbs[c], crs[c])
		for end := min((c+cx0+1)<<sx-minX, len(ys)); x < end; x++ {
			y := int32(ys[x]) * 19077 >> 8
			o := out[x*3 : x*3+3 : x*3+3]
			o[0], o[1], o[2] = clip14(y+rc), clip14(y+gc), clip14(y+bc)
		}
	}
}

// studioChroma returns libwebp's red, green and blue chroma terms, with 6
// fractional bits.
func studioChroma(u8, v8 uint8) (r, g, b int32) {
	u, v := int32(u8), int32(v8)
	return v*26149>>8 - 14234, -(u * 6419 >> 8) - (v * 13320 >> 8) + 8708, u*33050>>8 - 17685
}

// clip14 turns a value with 6 fractional bits into a clamped 8-bit sample.
func clip14(v int32) uint8 {
	if v&^16383 == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}

func fromGray(dst *raster.RGB, m *image.Gray) {
	w := m.Rect.Dx()
	for y := range m.Rect.Dy() {
		src := m.Pix[y*m.Stride : y*m.Stride+w]
		out := dst.Pix[y*w*3 : (y+1)*w*3]
		for x, v := range src {
			o := out[x*3 : x*3+3 : x*3+3]
			o[0], o[1], o[2] = v, v, v
		}
	}
}

// fromRGBA composites premultiplied RGBA over white: c + (255 - a).
func fromRGBA(dst *raster.RGB, m *image.RGBA) {
	w := m.Rect.Dx()
	for y := range m.Rect.Dy() {
		src := m.Pix[y*m.Stride : y*m.Stride+w*4]
		out := dst.Pix[y*w*3 : (y+1)*w*3]
		for x := range w {
			s := src[x*4 : x*4+4 : x*4+4]
			o := out[x*3 : x*3+3 : x*3+3]
			if s[3] == 0xFF {
				o[0], o[1], o[2] = s[0], s[1], s[2]
				continue
			}
			t := 255 - uint32(s[3])
			o[0] = uint8(min(uint32(s[0])+t, 255))
			o[1] = uint8(min(uint32(s[1])+t, 255))
			o[2] = uint8(min(uint32(s[2])+t, 255))
		}
	}
}

func fromNRGBA(dst *raster.RGB, m *image.NRGBA) {
	w := m.Rect.Dx()
	for y := range m.Rect.Dy() {
		src := m.Pix[y*m.Stride : y*m.Stride+w*4]
		out := dst.Pix[y*w*3 : (y+1)*w*3]
		for x := range w {
			s := src[x*4 : x*4+4 : x*4+4]
			o := out[x*3 : x*3+3 : x*3+3]
			if a := s[3]; a != 0xFF {
				o[0], o[1], o[2] = overWhite(s[0], a), overWhite(s[1], a), overWhite(s[2], a)
				continue
			}
			o[0], o[1], o[2] = s[0], s[1], s[2]
		}
	}
}

func fromPaletted(dst *raster.RGB, m *image.Paletted) {
	// Indices past the palette's end come out black, as image/png pads
	// short palettes.
	var lut [256][3]uint8
	for i, c := range m.Palette {
		if i == len(lut) {
			break
		}
		lut[i] = rgbOverWhite(c)
	}
	w := m.Rect.Dx()
	for y := range m.Rect.Dy() {
		src := m.Pix[y*m.Stride : y*m.Stride+w]
		out := dst.Pix[y*w*3 : (y+1)*w*3]
		for x, i := range src {
			c := &lut[i]
			o := out[x*3 : x*3+3 : x*3+3]
			o[0], o[1], o[2] = c[0], c[1], c[2]
		}
	}
}

// fromCMYK converts as color.CMYKToRGB does, at 8-bit precision.
func fromCMYK(dst *raster.RGB, m *image.CMYK) {
	w := m.Rect.Dx()
	for y := range m.Rect.Dy() {
		src := m.Pix[y*m.Stride : y*m.Stride+w*4]
		out := dst.Pix[y*w*3 : (y+1)*w*3]
		for x := range w {
			s := src[x*4 : x*4+4 : x*4+4]
			k := 255 - uint32(s[3])
			o := out[x*3 : x*3+3 : x*3+3]
			o[0] = uint8(div255((255 - uint32(s[0])) * k))
			o[1] = uint8(div255((255 - uint32(s[1])) * k))
			o[2] = uint8(div255((255 - uint32(s[2])) * k))
		}
	}
}

// fromAny converts any image through its At method; it serves the rare
// types (16-bit PNG among them) that have no fast path.
func fromAny(dst *raster.RGB, m image.Image) {
	b := m.Bounds()
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := rgbOverWhite(m.At(x, y))
			dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2] = c[0], c[1], c[2]
			i += 3
		}
	}
}

// rgbOverWhite composites c over white and keeps the high bytes.
func rgbOverWhite(c color.Color) [3]uint8 {
	if c == nil {
		return [3]uint8{}
	}
	r, g, b, a := c.RGBA() // premultiplied, 16-bit
	t := 0xFFFF - a
	return [3]uint8{
		uint8(min(r+t, 0xFFFF) >> 8),
		uint8(min(g+t, 0xFFFF) >> 8),
		uint8(min(b+t, 0xFFFF) >> 8),
	}
}
