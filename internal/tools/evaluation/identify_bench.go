package evaluation

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/facelambda/facelambda/internal/core/gallery"
)

// IdentifyBench is the JSON report of `bench identify`.
type IdentifyBench struct {
	Machine string        `json:"machine"`
	CPUs    int           `json:"cpus"`
	Go      string        `json:"go"`
	Dims    int           `json:"dims"`
	Queries int           `json:"queries"`
	Seed    uint64        `json:"seed"`
	Sizes   []IdentifyGen `json:"sizes"`
	Runs    []IdentifyRun `json:"runs"`
}

// IdentifyGen describes one synthetic gallery.
type IdentifyGen struct {
	Size         int     `json:"size"`
	GenerateMS   float64 `json:"generate_ms"`
	ExactMS      float64 `json:"exact_search_ms_per_query_all_cores"`
	GenuineCos   float64 `json:"genuine_cosine_mean"`
	ImpostorTop1 float64 `json:"nonmated_top1_cosine_mean"`
}

// IdentifyRun is one encoding at one size.
type IdentifyRun struct {
	Size             int     `json:"size"`
	Encoding         string  `json:"encoding"`
	Rescore          int     `json:"rescore"`
	BuildMS          float64 `json:"build_ms"`
	ShardEncoding    string  `json:"shard_encoding"`
	ShardBytes       int64   `json:"shard_bytes"`
	ShardLoadMS      float64 `json:"shard_load_ms"`
	IndexBytes       int64   `json:"index_bytes"`
	BytesPerTemplate float64 `json:"bytes_per_template"`
	HeapInuse        uint64  `json:"heap_inuse_bytes"`
	Latency          Latency `json:"latency_one_core"`
	// Agreement with the exact search (float64 sums of float32 vectors).
	Top1Mated    float64 `json:"top1_agreement_mated"`
	Top1NonMated float64 `json:"top1_agreement_nonmated"`
	Top10Overlap float64 `json:"top10_overlap"`
	Top10Same    float64 `json:"top10_identical"`
	MateRank1    float64 `json:"mate_rank1"`
}

// IdentifyBenchConfig is what `bench identify` measures: synthetic
// galleries of each size, searched with each encoding.
type IdentifyBenchConfig struct {
	Sizes     []int
	Encodings []gallery.Encoding
	// Rescore lists the rows re-scored exactly; empty: each integer
	// encoding alone and with its default.
	Rescore []int
	Queries int // half planted mates, half non-mated; at least 2
	Dims    int
	Seed    uint64
}

// BenchIdentify measures 1:N search on synthetic galleries: latency on one
// core, memory, shard loading and agreement with the exact search. The
// report's Machine is left for the caller; progress goes to log.
func BenchIdentify(ctx context.Context, cfg IdentifyBenchConfig, log io.Writer) (*IdentifyBench, error) {
	if cfg.Queries < 2 {
		return nil, fmt.Errorf("bench identify: queries must be at least 2, not %d", cfg.Queries)
	}
	rep := &IdentifyBench{CPUs: runtime.NumCPU(), Go: runtime.Version(), Dims: cfg.Dims, Queries: cfg.Queries, Seed: cfg.Seed}
	for _, n := range cfg.Sizes {
		gen, runs, err := benchIdentifySize(ctx, n, cfg.Dims, cfg.Queries, cfg.Seed, cfg.Encodings, cfg.Rescore, log)
		if err != nil {
			return nil, err
		}
		rep.Sizes = append(rep.Sizes, gen)
		rep.Runs = append(rep.Runs, runs...)
	}
	return rep, nil
}

// synthetic fills n random unit vectors (rows) using every CPU, each chunk
// from its own seeded generator (the result depends only on seed).
func synthetic(n, dims int, seed uint64) []float32 {
	vecs := make([]float32, n*dims)
	const chunk = 8192
	var wg sync.WaitGroup
	next := make(chan int, (n+chunk-1)/chunk)
	for lo := 0; lo < n; lo += chunk {
		next <- lo
	}
	close(next)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := range next {
				r := rand.New(rand.NewPCG(seed, uint64(lo)))
				for i := lo; i < min(n, lo+chunk); i++ {
					randomUnit(r, vecs[i*dims:(i+1)*dims])
				}
			}
		}()
	}
	wg.Wait()
	return vecs
}

func randomUnit(r *rand.Rand, v []float32) {
	var s float64
	for i := range v {
		x := r.NormFloat64()
		v[i] = float32(x)
		s += x * x
	}
	inv := 1 / math.Sqrt(s)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
}

// mateOf returns a unit vector at cosine c from unit vector v.
func mateOf(r *rand.Rand, v []float32, c float64) []float32 {
	u := make([]float32, len(v))
	randomUnit(r, u)
	var dot float64
	for i := range u {
		dot += float64(u[i]) * float64(v[i])
	}
	var s float64
	for i := range u {
		x := float64(u[i]) - dot*float64(v[i])
		u[i] = float32(x)
		s += x * x
	}
	k := math.Sqrt(1-c*c) / math.Sqrt(s)
	for i := range u {
		u[i] = float32(c*float64(v[i]) + k*float64(u[i]))
	}
	return u
}

func benchIdentifySize(ctx context.Context, n, dims, queries int, seed uint64, encs []gallery.Encoding, rescore []int, log io.Writer) (IdentifyGen, []IdentifyRun, error) {
	gen := IdentifyGen{Size: n}
	start := time.Now()
	vecs := synthetic(n, dims, seed)
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = uint64(i + 1)
	}
	// Probes: planted mates (a gallery vector at cosine 0.6..0.7), then
	// non-mated random vectors.
	r := rand.New(rand.NewPCG(seed, math.MaxUint64))
	probes := make([][]float32, queries)
	mates := make([]uint64, queries)
	for q := range probes {
		if q < queries/2 {
			row := r.IntN(n)
			c := 0.6 + 0.1*r.Float64()
			probes[q] = mateOf(r, vecs[row*dims:(row+1)*dims], c)
			mates[q] = ids[row]
			gen.GenuineCos += c / float64(queries/2)
		} else {
			probes[q] = make([]float32, dims)
			randomUnit(r, probes[q])
		}
	}
	gen.GenerateMS = msOf(time.Since(start))
	fmt.Fprintf(log, "size %d: generated in %.1f s\n", n, time.Since(start).Seconds())

	// The reference: exact search, probes spread over every CPU.
	ref, err := gallery.FromVectors(dims, ids, vecs, gallery.Options{Encoding: gallery.Float32})
	if err != nil {
		return gen, nil, err
	}
	exact := make([][]gallery.Candidate, queries)
	start = time.Now()
	if err := parallel(ctx, queries, func(q int) error {
		c, err := ref.SearchExact(probes[q], 10, -1)
		exact[q] = c
		return err
	}); err != nil {
		return gen, nil, err
	}
	gen.ExactMS = msOf(time.Since(start)) / float64(queries)
	for q := queries / 2; q < queries; q++ {
		gen.ImpostorTop1 += float64(exact[q][0].Score) / float64(queries-queries/2)
	}
	fmt.Fprintf(log, "size %d: exact reference in %.1f s\n", n, time.Since(start).Seconds())
	ref = nil

	var runs []IdentifyRun
	type mode struct {
		enc     gallery.Encoding
		rescore int
	}
	var modes []mode
	for _, enc := range encs {
		switch {
		case len(rescore) > 0:
			for _, r := range rescore {
				modes = append(modes, mode{enc, r})
			}
		case enc == gallery.Float32 || enc == gallery.Float16:
			modes = append(modes, mode{enc, 0})
		default: // the integer encodings alone, then as the first stage
			modes = append(modes, mode{enc, -1}, mode{enc, 0})
		}
	}
	for _, md := range modes {
		if ctx.Err() != nil {
			return gen, runs, ctx.Err()
		}
		enc := md.enc
		run := IdentifyRun{Size: n, Encoding: enc.String()}
		runtime.GC()
		start := time.Now()
		x, err := gallery.FromVectors(dims, ids, vecs, gallery.Options{Encoding: enc, Rescore: md.rescore})
		if err != nil {
			return gen, runs, err
		}
		run.BuildMS = msOf(time.Since(start))
		run.Rescore = x.Rescore()
		run.IndexBytes = x.Bytes()
		run.BytesPerTemplate = float64(x.Bytes()) / float64(n)

		// Load from packed shards, as a cold container would (from memory
		// here: S3 transfer not included).
		shardEnc := gallery.Float32
		if x.Rescore() < 0 && enc != gallery.Float32 {
			shardEnc = map[gallery.Encoding]gallery.Encoding{gallery.Float16: gallery.Float16, gallery.Int8: gallery.Int8,
				gallery.Int7: gallery.Int7, gallery.Bits2: gallery.Float16}[enc]
		}
		run.ShardEncoding = shardEnc.String()
		shards, err := gallery.NewShards(x, shardEnc, 0)
		if err != nil {
			return gen, runs, err
		}
		blobs := make([][]byte, len(shards))
		for i, s := range shards {
			if blobs[i], err = gallery.MarshalShard(s); err != nil {
				return gen, runs, err
			}
			run.ShardBytes += int64(len(blobs[i]))
		}
		shards = nil
		runtime.GC()
		start = time.Now()
		parsed := make([]*gallery.Shard, len(blobs))
		for i, b := range blobs {
			if parsed[i], err = gallery.ParseShard(b); err != nil {
				return gen, runs, err
			}
		}
		loaded, err := gallery.FromShards(parsed, gallery.Options{Encoding: enc, Rescore: md.rescore})
		if err != nil {
			return gen, runs, err
		}
		run.ShardLoadMS = msOf(time.Since(start))
		if loaded.Len() != n {
			return gen, runs, fmt.Errorf("shards gave %d rows, want %d", loaded.Len(), n)
		}
		loaded, parsed, blobs = nil, nil, nil

		// Latency on one core.
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		run.HeapInuse = m.HeapInuse
		prev := runtime.GOMAXPROCS(1)
		for _, p := range probes[:min(3, len(probes))] {
			x.Search(p, 10, -1)
		}
		lat := make([]time.Duration, queries)
		got := make([][]gallery.Candidate, queries)
		for q, p := range probes {
			t := time.Now()
			got[q] = x.Search(p, 10, -1)
			lat[q] = time.Since(t)
		}
		runtime.GOMAXPROCS(prev)
		run.Latency = Summarise(lat)
		var top1m, top1nm, mate1, overlap, same int
		for q := range probes {
			if len(got[q]) > 0 && got[q][0].ClassID == exact[q][0].ClassID {
				if q < queries/2 {
					top1m++
				} else {
					top1nm++
				}
			}
			if q < queries/2 && len(got[q]) > 0 && got[q][0].ClassID == mates[q] {
				mate1++
			}
			o := sharedClasses(got[q], exact[q])
			overlap += o
			if o == len(exact[q]) && len(got[q]) == len(exact[q]) {
				same++
			}
		}
		run.Top1Mated = float64(top1m) / float64(queries/2)
		run.Top1NonMated = float64(top1nm) / float64(queries-queries/2)
		run.MateRank1 = float64(mate1) / float64(queries/2)
		run.Top10Overlap = float64(overlap) / float64(10*queries)
		run.Top10Same = float64(same) / float64(queries)
		runs = append(runs, run)
		fmt.Fprintf(log, "size %d %-8s rescore %5d: p50 %.2f ms, top-1 agreement %.3f/%.3f\n", n, enc, run.Rescore, run.Latency.P50, run.Top1Mated, run.Top1NonMated)
	}
	return gen, runs, nil
}

// parallel runs f(0..n-1) on every CPU and returns the first error.
func parallel(ctx context.Context, n int, f func(i int) error) error {
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if ctx.Err() != nil {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
