package gallery

import (
	"math/bits"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

func pop64(x uint64) int {
	x -= (x >> 1) & 0x5555555555555555
	x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333)
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f
	return int((x * 0x0101010101010101) >> 56)
}

func dotBits2SWAR(row, p []uint64) int {
	p = p[:len(row)]
	var c00, c01, c10, c11 int
	for i := 0; i+2 <= len(row); i += 2 {
		x := row[i : i+2 : i+2]
		y := p[i : i+2 : i+2]
		c00 += pop64(x[0] & y[0])
		c01 += pop64(x[0]&y[1]) + pop64(x[1]&y[0])
		c11 += pop64(x[1] & y[1])
	}
	return c00 + 2*(c01+c10) + 4*c11
}

func BenchmarkExpBits2(b *testing.B) {
	rows, _ := strconv.Atoi(os.Getenv("ROWS"))
	if rows == 0 {
		rows = 1000
	}
	r := rand.New(rand.NewPCG(1, 2))
	words := 16
	g := make([]uint64, rows*words)
	for i := range g {
		g[i] = r.Uint64()
	}
	p := make([]uint64, words)
	for i := range p {
		p[i] = r.Uint64()
	}
	for name, f := range map[string]func(a, b []uint64) int{"popcnt": dotBits2, "swar": dotBits2SWAR, "b": dotBits2b} {
		b.Run(name, func(b *testing.B) {
			s := 0
			for b.Loop() {
				for i := 0; i < rows; i++ {
					s += f(g[i*words:(i+1)*words], p)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
		})
	}
}

func dotBits2b(row, p []uint64) int {
	p = p[:len(row)]
	var a, b int
	for i := 0; i+2 <= len(row); i += 2 {
		x0, x1 := row[i], row[i+1]
		y0, y1 := p[i], p[i+1]
		a += bitsOnes(x0&y0) + 4*bitsOnes(x1&y1)
		b += bitsOnes(x0&y1) + bitsOnes(x1&y0)
	}
	return a + 2*b
}

func bitsOnes(x uint64) int { return bits.OnesCount64(x) }
