package gallery

import "math/bits"

// Dot-product kernels, pure Go. The Go compiler does not vectorise, so the
// kernels are written for instruction-level parallelism instead: several
// independent accumulators, loops unrolled by hand, bounds checks hoisted
// by re-slicing, and (Int7) several products per 64-bit multiplication.

// dotF32 is the float32 dot product with 8 accumulators.
func dotF32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		x := a[i : i+8 : i+8]
		y := b[i : i+8 : i+8]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
		s4 += x[4] * y[4]
		s5 += x[5] * y[5]
		s6 += x[6] * y[6]
		s7 += x[7] * y[7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// dotF16 is the dot product of a float16 vector with a float32 probe,
// widening through a 64K-entry table.
func dotF16(a []uint16, b []float32, t *[1 << 16]float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		x := a[i : i+8 : i+8]
		y := b[i : i+8 : i+8]
		s0 += t[x[0]] * y[0]
		s1 += t[x[1]] * y[1]
		s2 += t[x[2]] * y[2]
		s3 += t[x[3]] * y[3]
		s4 += t[x[4]] * y[4]
		s5 += t[x[5]] * y[5]
		s6 += t[x[6]] * y[6]
		s7 += t[x[7]] * y[7]
	}
	for ; i < len(a); i++ {
		s0 += t[a[i]] * b[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// dotInt8 is the int8 dot product with int32 accumulators (the probe is
// pre-widened to int32 so each step is one sign-extending load, one
// multiplication and one addition). |sum| <= dims * 127 * 127 fits int32
// for dims up to 133,000.
func dotInt8(a []int8, b []int32) int32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 int32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		x := a[i : i+8 : i+8]
		y := b[i : i+8 : i+8]
		s0 += int32(x[0]) * y[0]
		s1 += int32(x[1]) * y[1]
		s2 += int32(x[2]) * y[2]
		s3 += int32(x[3]) * y[3]
		s4 += int32(x[4]) * y[4]
		s5 += int32(x[5]) * y[5]
		s6 += int32(x[6]) * y[6]
		s7 += int32(x[7]) * y[7]
	}
	for ; i < len(a); i++ {
		s0 += int32(a[i]) * b[i]
	}
	return (s0 + s1) + (s2 + s3) + (s4 + s5) + (s6 + s7)
}

// Int7 SIMD-within-a-register kernel.
//
// A gallery vector is stored as bytes u = code + 64 in [1, 127] (0 in the
// padding up to a multiple of 8 dimensions), eight to a uint64 word. The
// probe is coded the same way into v, then packed per word into two
// "reversed" words of four 16-bit lanes:
//
//	even[w] = v[8w+0]<<48 | v[8w+2]<<32 | v[8w+4]<<16 | v[8w+6]
//	odd[w]  = v[8w+1]<<48 | v[8w+3]<<32 | v[8w+5]<<16 | v[8w+7]
//
// W & 0x00ff00ff00ff00ff spreads the even bytes of a gallery word into four
// 16-bit lanes; the 64-bit product of two four-lane words is the product
// of two polynomials in 2^16, whose coefficient of 2^48 (bits 48-63) is
// u0*v0 + u2*v2 + u4*v4 + u6*v6: a four-term dot product. Every
// coefficient is at most 4 * 127 * 127 = 64,516 < 2^16, so no lane carries
// into the next and the top lane is exact. One multiplication and one shift
// give four products.
//
// The offsets come out afterwards: with g, h the signed codes,
// sum(u*v) = sum(g*h) + 64*sum(g) + 64*sum(h) + 4096*dims, where the first
// offset term is stored per row and the others are per probe.
const lanes8 = 0x00ff00ff00ff00ff

// dotInt7 returns sum(u*v) of one row (words) against the packed probe.
func dotInt7(row, even, odd []uint64) uint64 {
	even = even[:len(row)]
	odd = odd[:len(row)]
	var s0, s1, s2, s3 uint64
	i := 0
	for ; i+2 <= len(row); i += 2 {
		w := row[i : i+2 : i+2]
		e := even[i : i+2 : i+2]
		o := odd[i : i+2 : i+2]
		s0 += (w[0] & lanes8 * e[0]) >> 48
		s1 += (w[0] >> 8 & lanes8 * o[0]) >> 48
		s2 += (w[1] & lanes8 * e[1]) >> 48
		s3 += (w[1] >> 8 & lanes8 * o[1]) >> 48
	}
	if i < len(row) {
		s0 += (row[i] & lanes8 * even[i]) >> 48
		s1 += (row[i] >> 8 & lanes8 * odd[i]) >> 48
	}
	return (s0 + s1) + (s2 + s3)
}

// dot2Int7 is dotInt7 for two rows at once, sharing the probe loads.
func dot2Int7(r0, r1, even, odd []uint64) (uint64, uint64) {
	r1 = r1[:len(r0)]
	even = even[:len(r0)]
	odd = odd[:len(r0)]
	var a0, a1, b0, b1 uint64
	for i := range r0 {
		e, o := even[i], odd[i]
		w, x := r0[i], r1[i]
		a0 += (w & lanes8 * e) >> 48
		a1 += (w >> 8 & lanes8 * o) >> 48
		b0 += (x & lanes8 * e) >> 48
		b1 += (x >> 8 & lanes8 * o) >> 48
	}
	return a0 + a1, b0 + b1
}

// dotInt7b: interleaved probe (even, odd per word), plain range loop.
func dotInt7b(row, eo []uint64) uint64 {
	eo = eo[:2*len(row)]
	var s0, s1 uint64
	for i, w := range row {
		s0 += (w & lanes8 * eo[2*i]) >> 48
		s1 += (w >> 8 & lanes8 * eo[2*i+1]) >> 48
	}
	return s0 + s1
}

// dotInt7c: mask held in a variable.
func dotInt7c(row, eo []uint64, m uint64) uint64 {
	eo = eo[:2*len(row)]
	var s0, s1, s2, s3 uint64
	i := 0
	for ; i+1 < len(row); i += 2 {
		w0, w1 := row[i], row[i+1]
		p := eo[2*i : 2*i+4 : 2*i+4]
		s0 += (w0 & m * p[0]) >> 48
		s1 += (w0 >> 8 & m * p[1]) >> 48
		s2 += (w1 & m * p[2]) >> 48
		s3 += (w1 >> 8 & m * p[3]) >> 48
	}
	return s0 + s1 + s2 + s3
}

// dot2Int7i: two rows interleaved word by word (blk[2i] row 0, blk[2i+1] row 1).
func dot2Int7i(blk, eo []uint64) (uint64, uint64) {
	eo = eo[:len(blk)]
	m := uint64(lanes8)
	var a0, a1, b0, b1 uint64
	for i := 0; i+1 < len(blk); i += 2 {
		p := eo[i : i+2 : i+2]
		g := blk[i : i+2 : i+2]
		e, o := p[0], p[1]
		w, x := g[0], g[1]
		a0 += (w & m * e) >> 48
		a1 += (w >> 8 & m * o) >> 48
		b0 += (x & m * e) >> 48
		b1 += (x >> 8 & m * o) >> 48
	}
	return a0 + a1, b0 + b1
}

// dotBits2: rows of 2 bit-planes (lo plane words then hi plane words), probe likewise.
func dotBits2(row, probe []uint64) (c00, c01, c10, c11 int) {
	n := len(row) / 2
	a0, a1 := row[:n], row[n:2*n]
	b0, b1 := probe[:n], probe[n:2*n]
	for i := range a0 {
		x0, x1 := a0[i], a1[i]
		y0, y1 := b0[i], b1[i]
		c00 += bits.OnesCount64(x0 & y0)
		c01 += bits.OnesCount64(x0 & y1)
		c10 += bits.OnesCount64(x1 & y0)
		c11 += bits.OnesCount64(x1 & y1)
	}
	return
}
