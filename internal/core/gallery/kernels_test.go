package gallery

import (
	"math/bits"
	"math/rand/v2"
	"testing"
)

// packInt7Probe packs offset codes v (0..127) as prepare does.
func packInt7Probe(v []uint8) []uint64 {
	words := (len(v) + 7) / 8
	eo := make([]uint64, 2*words)
	for j, x := range v {
		w, b := j/8, j%8
		eo[2*w+b%2] |= uint64(x) << (16 * (3 - b/2))
	}
	return eo
}

func packInt7Row(u []uint8) []uint64 {
	out := make([]uint64, (len(u)+7)/8)
	for i, b := range u {
		out[i/8] |= uint64(b) << (8 * (i % 8))
	}
	return out
}

func TestDotInt7Exact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, dims := range []int{1, 7, 8, 9, 16, 24, 511, 512, 513} {
		for trial := 0; trial < 50; trial++ {
			u, v := make([]uint8, dims), make([]uint8, dims)
			var want uint64
			for i := range u {
				u[i], v[i] = uint8(r.IntN(128)), uint8(r.IntN(128))
				if trial == 0 { // the largest lanes
					u[i], v[i] = 127, 127
				}
				want += uint64(u[i]) * uint64(v[i])
			}
			eo := packInt7Probe(v)
			row := packInt7Row(u)
			if got := dotInt7(row, eo); got != want {
				t.Fatalf("dims %d: dotInt7 %d, want %d", dims, got, want)
			}
			a, b := dot2Int7(append(append([]uint64{}, row...), row...), eo)
			if a != want || b != want {
				t.Fatalf("dims %d: dot2Int7 %d %d, want %d", dims, a, b, want)
			}
		}
	}
}

func TestDotBits2Exact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 3))
	for _, dims := range []int{1, 63, 64, 65, 512} {
		words := 2 * ((dims + 63) / 64)
		a, b := make([]uint64, words), make([]uint64, words)
		var want int
		for j := 0; j < dims; j++ {
			x, y := r.IntN(4), r.IntN(4)
			want += x * y
			w, s := j/64, uint(j%64)
			a[2*w] |= uint64(x&1) << s
			a[2*w+1] |= uint64(x>>1) << s
			b[2*w] |= uint64(y&1) << s
			b[2*w+1] |= uint64(y>>1) << s
		}
		if got := dotBits2(a, b); got != want {
			t.Fatalf("dims %d: %d, want %d", dims, got, want)
		}
	}
	_ = bits.OnesCount64
}
