package gallery

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

func packInt7Probe(v []uint8) (even, odd []uint64) {
	words := (len(v) + 7) / 8
	even, odd = make([]uint64, words), make([]uint64, words)
	for w := 0; w < words; w++ {
		at := func(i int) uint64 {
			if 8*w+i < len(v) {
				return uint64(v[8*w+i])
			}
			return 0
		}
		even[w] = at(0)<<48 | at(2)<<32 | at(4)<<16 | at(6)
		odd[w] = at(1)<<48 | at(3)<<32 | at(5)<<16 | at(7)
	}
	return
}

func packInt7Row(u []uint8) []uint64 {
	words := (len(u) + 7) / 8
	out := make([]uint64, words)
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
				if trial == 0 {
					u[i], v[i] = 127, 127
				}
				want += uint64(u[i]) * uint64(v[i])
			}
			e, o := packInt7Probe(v)
			row := packInt7Row(u)
			if got := dotInt7(row, e, o); got != want {
				t.Fatalf("dims %d: dotInt7 %d, want %d", dims, got, want)
			}
			a, b := dot2Int7(row, row, e, o)
			if a != want || b != want {
				t.Fatalf("dims %d: dot2Int7 %d %d, want %d", dims, a, b, want)
			}
		}
	}
}

var benchRows, benchDims = envInt("ROWS", 20000), 512

func envInt(k string, d int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return d
}

func BenchmarkKernel(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	f32 := make([]float32, benchRows*benchDims)
	for i := range f32 {
		f32[i] = float32(r.NormFloat64() * 0.044)
	}
	probe := f32[:benchDims]
	b.Run("float32", func(b *testing.B) {
		var s float32
		for b.Loop() {
			for i := 0; i < benchRows; i++ {
				s += dotF32(f32[i*benchDims:(i+1)*benchDims], probe)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
		_ = s
	})
	f16 := make([]uint16, len(f32))
	for i, x := range f32 {
		f16[i] = toFloat16(x)
	}
	b.Run("float16", func(b *testing.B) {
		var s float32
		t := half()
		for b.Loop() {
			for i := 0; i < benchRows; i++ {
				s += dotF16(f16[i*benchDims:(i+1)*benchDims], probe, t)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
		_ = s
	})
	i8 := make([]int8, len(f32))
	for i := 0; i < benchRows; i++ {
		quantize(i8[i*benchDims:(i+1)*benchDims], f32[i*benchDims:(i+1)*benchDims], 127)
	}
	p32 := make([]int32, benchDims)
	for i := range p32 {
		p32[i] = int32(i8[i])
	}
	b.Run("int8", func(b *testing.B) {
		var s int32
		for b.Loop() {
			for i := 0; i < benchRows; i++ {
				s += dotInt8(i8[i*benchDims:(i+1)*benchDims], p32)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
		_ = s
	})
	words := benchDims / 8
	w7 := make([]uint64, benchRows*words)
	for i := range w7 {
		w7[i] = r.Uint64() & 0x7f7f7f7f7f7f7f7f
	}
	v := make([]uint8, benchDims)
	for i := range v {
		v[i] = uint8(r.IntN(128))
	}
	e, o := packInt7Probe(v)
	b.Run("int7", func(b *testing.B) {
		var s uint64
		for b.Loop() {
			for i := 0; i < benchRows; i++ {
				s += dotInt7(w7[i*words:(i+1)*words], e, o)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
		_ = s
	})
	b.Run("int7x2", func(b *testing.B) {
		var s uint64
		for b.Loop() {
			for i := 0; i+1 < benchRows; i += 2 {
				x, y := dot2Int7(w7[i*words:(i+1)*words], w7[(i+1)*words:(i+2)*words], e, o)
				s += x + y
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
		_ = s
	})
}

func BenchmarkInt7Variants(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	words := benchDims / 8
	w7 := make([]uint64, benchRows*words)
	for i := range w7 {
		w7[i] = r.Uint64() & 0x7f7f7f7f7f7f7f7f
	}
	v := make([]uint8, benchDims)
	for i := range v {
		v[i] = uint8(r.IntN(128))
	}
	e, o := packInt7Probe(v)
	eo := make([]uint64, 2*words)
	for i := range e {
		eo[2*i], eo[2*i+1] = e[i], o[i]
	}
	var want uint64
	for i := 0; i < benchRows; i++ {
		want += dotInt7(w7[i*words:(i+1)*words], e, o)
	}
	run := func(name string, f func() uint64) {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if f() != want {
					b.Fatal("wrong")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
		})
	}
	run("a", func() (s uint64) {
		for i := 0; i < benchRows; i++ {
			s += dotInt7(w7[i*words:(i+1)*words], e, o)
		}
		return
	})
	run("b", func() (s uint64) {
		for i := 0; i < benchRows; i++ {
			s += dotInt7b(w7[i*words:(i+1)*words], eo)
		}
		return
	})
	m := uint64(lanes8)
	run("c", func() (s uint64) {
		for i := 0; i < benchRows; i++ {
			s += dotInt7c(w7[i*words:(i+1)*words], eo, m)
		}
		return
	})
}

func BenchmarkInt7Pairs(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	words := benchDims / 8
	w7 := make([]uint64, benchRows*words)
	for i := range w7 {
		w7[i] = r.Uint64() & 0x7f7f7f7f7f7f7f7f
	}
	v := make([]uint8, benchDims)
	for i := range v {
		v[i] = uint8(r.IntN(128))
	}
	e, o := packInt7Probe(v)
	eo := make([]uint64, 2*words)
	for i := range e {
		eo[2*i], eo[2*i+1] = e[i], o[i]
	}
	run := func(name string, f func() uint64) {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				f()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
		})
	}
	run("x2", func() (s uint64) {
		for i := 0; i+1 < benchRows; i += 2 {
			x, y := dot2Int7(w7[i*words:(i+1)*words], w7[(i+1)*words:(i+2)*words], e, o)
			s += x + y
		}
		return
	})
	run("x2i", func() (s uint64) {
		for i := 0; i+1 < benchRows; i += 2 {
			x, y := dot2Int7i(w7[i*words:(i+2)*words], eo)
			s += x + y
		}
		return
	})
}

func BenchmarkBits2(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	words := 2 * benchDims / 64
	g := make([]uint64, benchRows*words)
	for i := range g {
		g[i] = r.Uint64()
	}
	p := make([]uint64, words)
	for i := range p {
		p[i] = r.Uint64()
	}
	b.Run("bits2", func(b *testing.B) {
		var s int
		for b.Loop() {
			for i := 0; i < benchRows; i++ {
				a, b, c, d := dotBits2(g[i*words:(i+1)*words], p)
				s += a + 2*(b+c) + 4*d
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
		_ = s
	})
}
