package gallery

import "math/bits"

// Dot-product kernels, pure Go. The Go compiler does not vectorise, so the
// kernels are written for instruction-level parallelism instead: several
// independent accumulators, loops unrolled by hand, bounds checks hoisted
// by re-slicing, and (Int7, Bits2) several products per instruction.

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

// dotF64 is the reference dot product: float32 inputs, float64 sums, in
// order. A product of two float32 is exact in float64 (with or without
// FMA), so the result depends only on the order of the sums, which
// dot4F64 keeps: the exact search and every re-scoring give identical
// scores for the same pair of vectors.
func dotF64(a, b []float32) float64 {
	b = b[:len(a)]
	var s float64
	for i, x := range a {
		s += float64(x) * float64(b[i])
	}
	return s
}

// dot4F64 is dotF64 for four rows at once: four independent chains of
// additions, and four rows' loads in flight (re-scored rows are scattered
// in memory; their cache misses overlap).
func dot4F64(a0, a1, a2, a3, b []float32) (s0, s1, s2, s3 float64) {
	n := len(b)
	a0, a1, a2, a3 = a0[:n], a1[:n], a2[:n], a3[:n]
	for i, y := range b {
		q := float64(y)
		s0 += float64(a0[i]) * q
		s1 += float64(a1[i]) * q
		s2 += float64(a2[i]) * q
		s3 += float64(a3[i]) * q
	}
	return
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
// for every dims up to MaxDims.
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

// Int7: SIMD within a register.
//
// A gallery vector is stored as bytes u = code + 64 in [1, 127] (0 in the
// padding up to a multiple of 8 dimensions), eight to a uint64 word. The
// probe is coded the same way into v, then packed per word into two
// "reversed" words of four 16-bit lanes, interleaved (eo[2w], eo[2w+1]):
//
//	even = v[8w+0]<<48 | v[8w+2]<<32 | v[8w+4]<<16 | v[8w+6]
//	odd  = v[8w+1]<<48 | v[8w+3]<<32 | v[8w+5]<<16 | v[8w+7]
//
// W & 0x00ff00ff00ff00ff spreads the even bytes of a gallery word into four
// 16-bit lanes; the 64-bit product of two four-lane words is the product of
// two polynomials in 2^16, whose coefficient of 2^48 (bits 48-63) is
// u0*v0 + u2*v2 + u4*v4 + u6*v6: a four-term dot product. Every
// coefficient is at most 4 * 127 * 127 = 64,516 < 2^16, so no lane carries
// into the next and the top lane is exact: one multiplication and one shift
// give four products, where Int8 needs four multiplications.
//
// The offsets come out afterwards: with g, h the signed codes,
// sum(u*v) = sum(g*h) + 64*sum(g) + 64*sum(h) + 4096*dims; the first
// offset term is stored per row, the others are per probe.
const lanes8 = 0x00ff00ff00ff00ff

// dotInt7 returns sum(u*v) of one row against the packed probe.
func dotInt7(row, eo []uint64) uint64 {
	eo = eo[:2*len(row)]
	m := uint64(lanes8)
	var s0, s1, s2, s3 uint64
	i := 0
	for ; i+2 <= len(row); i += 2 {
		w0, w1 := row[i], row[i+1]
		p := eo[2*i : 2*i+4 : 2*i+4]
		s0 += (w0 & m * p[0]) >> 48
		s1 += (w0 >> 8 & m * p[1]) >> 48
		s2 += (w1 & m * p[2]) >> 48
		s3 += (w1 >> 8 & m * p[3]) >> 48
	}
	if i < len(row) {
		s0 += (row[i] & m * eo[2*i]) >> 48
		s1 += (row[i] >> 8 & m * eo[2*i+1]) >> 48
	}
	return (s0 + s1) + (s2 + s3)
}

// dot2Int7 is dotInt7 for two consecutive rows (blk holds 2*words words),
// sharing the probe loads.
func dot2Int7(blk, eo []uint64) (uint64, uint64) {
	n := len(blk) / 2
	r0, r1 := blk[:n], blk[n:2*n]
	eo = eo[:2*n]
	m := uint64(lanes8)
	var a0, a1, b0, b1 uint64
	for i := range r0 {
		e, o := eo[2*i], eo[2*i+1]
		w, x := r0[i], r1[i]
		a0 += (w & m * e) >> 48
		a1 += (w >> 8 & m * o) >> 48
		b0 += (x & m * e) >> 48
		b1 += (x >> 8 & m * o) >> 48
	}
	return a0 + a1, b0 + b1
}

// Bits2: two bit-planes and popcounts.
//
// Each dimension is coded on 2 bits a in 0..3 standing for the levels
// (a - 1.5) * step, with step the vector's RMS (a uniform 4-level quantiser
// of a Gaussian-like coordinate). A row is 2 words per 64 dimensions,
// interleaved (low plane, high plane). With the probe coded the same way,
// sum(a*b) = popcount(a0&b0) + 2*(popcount(a0&b1) + popcount(a1&b0)) +
// 4*popcount(a1&b1): four AND and four POPCNT per 64 dimensions, and an
// eighth of the bytes of float32 to read. It is a coarse score, for
// choosing the rows to re-score exactly.

// dotBits2 returns sum(a*b) of one row against the probe (same layout).
func dotBits2(row, p []uint64) int {
	p = p[:len(row)]
	var c00, c01, c10, c11 int
	for i := 0; i+2 <= len(row); i += 2 {
		x := row[i : i+2 : i+2]
		y := p[i : i+2 : i+2]
		c00 += bits.OnesCount64(x[0] & y[0])
		c01 += bits.OnesCount64(x[0] & y[1])
		c10 += bits.OnesCount64(x[1] & y[0])
		c11 += bits.OnesCount64(x[1] & y[1])
	}
	return c00 + 2*(c01+c10) + 4*c11
}
