// Package raster holds the packed 8-bit RGB image that flows through the face
// pipeline, and the few pixel operations the models' preprocessing needs.
package raster

import "fmt"

// RGB is a packed, row-major 8-bit RGB image: pixel (x, y) starts at
// Pix[(y*W+x)*3] and is followed by its green and blue bytes.
type RGB struct {
	W, H int
	Pix  []uint8
}

// New allocates a black image of the given size.
func New(w, h int) *RGB {
	if w < 0 || h < 0 {
		panic(fmt.Sprintf("raster: negative size %dx%d", w, h))
	}
	return &RGB{W: w, H: h, Pix: make([]uint8, w*h*3)}
}

// At returns the channels of pixel (x, y); coordinates are not checked.
func (m *RGB) At(x, y int) (r, g, b uint8) {
	i := (y*m.W + x) * 3
	return m.Pix[i], m.Pix[i+1], m.Pix[i+2]
}
