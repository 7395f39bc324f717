package gallery

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The full measurement is `facelambda bench identify` (docs/benchmarks.md);
// these benchmarks are for working on the kernels:
//
//	go test -run '^$' -bench . -benchtime 20x ./internal/core/gallery/

func benchGallery(b *testing.B, n, d int) ([]uint64, []float32) {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]uint64, n)
	vecs := make([]float32, n*d)
	for i := range ids {
		ids[i] = uint64(i + 1)
		for j := 0; j < d; j++ {
			vecs[i*d+j] = float32(r.NormFloat64())
		}
	}
	return ids, vecs
}

func BenchmarkSearch100k(b *testing.B) {
	const n, d = 100000, 512
	ids, vecs := benchGallery(b, n, d)
	r := rand.New(rand.NewPCG(3, 4))
	probes := make([][]float32, 16)
	for i := range probes {
		probes[i] = randomUnit(r, d)
	}
	for _, o := range modes {
		x, err := FromVectors(d, ids, vecs, o)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(modeName(o), func(b *testing.B) {
			i := 0
			for b.Loop() {
				x.Search(probes[i%len(probes)], 10, -1)
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
		})
	}
}

func BenchmarkLoad100k(b *testing.B) {
	const n, d = 100000, 512
	ids, vecs := benchGallery(b, n, d)
	x, _ := FromVectors(d, ids, vecs, Options{Encoding: Float32})
	for _, enc := range []Encoding{Float32, Float16, Int7} {
		shards, _ := NewShards(x, enc, 0)
		var blobs [][]byte
		for _, s := range shards {
			bb, _ := MarshalShard(s)
			blobs = append(blobs, bb)
		}
		opts := Options{}
		if enc != Float32 {
			opts = Options{Encoding: enc, Rescore: -1}
		}
		b.Run(fmt.Sprintf("%v-shards", enc), func(b *testing.B) {
			for b.Loop() {
				parsed := make([]*Shard, len(blobs))
				for i, bb := range blobs {
					parsed[i], _ = ParseShard(bb)
				}
				if _, err := FromShards(parsed, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
