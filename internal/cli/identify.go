package cli

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/facelambda/facelambda/internal/biometric"
	"github.com/facelambda/facelambda/internal/calibration"
	"github.com/facelambda/facelambda/internal/dataset"
	"github.com/facelambda/facelambda/internal/engine"
	"github.com/facelambda/facelambda/internal/gallery"
	"github.com/facelambda/facelambda/internal/server"
)

func init() {
	register("bench identify", "bench identify [--size N] [--encoding E|all] [--queries Q] [--json]   1:N search: latency on one core, memory, agreement with exact search (synthetic)", benchIdentify)
	register("eval identify", "eval identify --root DIR [--json]                 1:N identification on LFW: rank-1/5, FPIR and FNIR at the HIGH cut-off", evalIdentify)
}

// ---------------------------------------------------------------------------
// bench identify

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

func benchIdentify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench identify", stderr)
	sizeFlag := fs.String("size", "", "gallery sizes, comma-separated (default 10000,100000,1000000)")
	encFlag := fs.String("encoding", "all", "encodings to measure, comma-separated (float32, float16, int8, int7, bits2) or all")
	rescoreFlag := fs.String("rescore", "", "rows re-scored exactly, comma-separated (-1: none; default: each integer encoding alone and with its default)")
	queries := fs.Int("queries", 200, "probes per size: half planted mates, half non-mated")
	dims := fs.Int("dims", 512, "vector dimensions")
	seed := fs.Uint64("seed", 1, "random seed")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sizes := []int{10000, 100000, 1000000}
	if *sizeFlag != "" {
		sizes = nil
		for _, s := range strings.Split(*sizeFlag, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(strings.ReplaceAll(s, "_", "")))
			if err != nil || n < 1 {
				return fmt.Errorf("bench identify: bad --size %q", s)
			}
			sizes = append(sizes, n)
		}
	}
	encs := gallery.Encodings()
	if *encFlag != "all" {
		encs = nil
		for _, s := range strings.Split(*encFlag, ",") {
			e, err := gallery.ParseEncoding(s)
			if err != nil {
				return err
			}
			encs = append(encs, e)
		}
	}
	var rescore []int
	if *rescoreFlag != "" {
		for _, s := range strings.Split(*rescoreFlag, ",") {
			r, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("bench identify: bad --rescore %q", s)
			}
			rescore = append(rescore, r)
		}
	}
	if *queries < 2 {
		return errors.New("bench identify: --queries must be at least 2")
	}
	rep := IdentifyBench{Machine: cpuModel(), CPUs: runtime.NumCPU(), Go: runtime.Version(), Dims: *dims, Queries: *queries, Seed: *seed}
	for _, n := range sizes {
		gen, runs, err := benchIdentifySize(ctx, n, *dims, *queries, *seed, encs, rescore, stderr)
		if err != nil {
			return err
		}
		rep.Sizes = append(rep.Sizes, gen)
		rep.Runs = append(rep.Runs, runs...)
	}
	if *asJSON {
		return printJSON(stdout, rep)
	}
	fmt.Fprintf(stdout, "%s, %d CPUs, %s; %d dims, %d queries per size (half planted mates), one core\n", rep.Machine, rep.CPUs, rep.Go, rep.Dims, rep.Queries)
	for _, g := range rep.Sizes {
		fmt.Fprintf(stdout, "size %d: generated in %.0f ms; exact search %.1f ms/query (all cores); genuine cosine %.3f, best non-mated %.3f\n",
			g.Size, g.GenerateMS, g.ExactMS, g.GenuineCos, g.ImpostorTop1)
	}
	fmt.Fprintf(stdout, "%-8s %-8s %7s %9s %9s %9s %10s %8s %8s %8s %8s %8s\n", "size", "encoding", "rescore", "p50 ms", "p99 ms", "build ms", "shard ms", "B/tpl", "top1 m", "top1 nm", "top10", "mate@1")
	for _, r := range rep.Runs {
		fmt.Fprintf(stdout, "%-8d %-8s %7d %9.2f %9.2f %9.0f %10.0f %8.0f %8.3f %8.3f %8.3f %8.3f\n", r.Size, r.Encoding, r.Rescore,
			r.Latency.P50, r.Latency.P99, r.BuildMS, r.ShardLoadMS, r.BytesPerTemplate, r.Top1Mated, r.Top1NonMated, r.Top10Overlap, r.MateRank1)
	}
	return nil
}

// synthetic fills n random unit vectors (rows) using every CPU, each chunk
// from its own seeded generator (the result depends only on seed).
func identSynthetic(n, dims int, seed uint64) []float32 {
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
					identRandomUnit(r, vecs[i*dims:(i+1)*dims])
				}
			}
		}()
	}
	wg.Wait()
	return vecs
}

func identRandomUnit(r *rand.Rand, v []float32) {
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
func identMateOf(r *rand.Rand, v []float32, c float64) []float32 {
	u := make([]float32, len(v))
	identRandomUnit(r, u)
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

func benchIdentifySize(ctx context.Context, n, dims, queries int, seed uint64, encs []gallery.Encoding, rescore []int, stderr io.Writer) (IdentifyGen, []IdentifyRun, error) {
	gen := IdentifyGen{Size: n}
	start := time.Now()
	vecs := identSynthetic(n, dims, seed)
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
			probes[q] = identMateOf(r, vecs[row*dims:(row+1)*dims], c)
			mates[q] = ids[row]
			gen.GenuineCos += c / float64(queries/2)
		} else {
			probes[q] = make([]float32, dims)
			identRandomUnit(r, probes[q])
		}
	}
	gen.GenerateMS = identMS(time.Since(start))
	fmt.Fprintf(stderr, "size %d: generated in %.1f s\n", n, time.Since(start).Seconds())

	// The reference: exact search, probes spread over every CPU.
	ref, err := gallery.FromVectors(dims, ids, vecs, gallery.Options{Encoding: gallery.Float32})
	if err != nil {
		return gen, nil, err
	}
	exact := make([][]gallery.Candidate, queries)
	start = time.Now()
	if err := identParallel(ctx, queries, func(q int) error {
		c, err := ref.SearchExact(probes[q], 10, -1)
		exact[q] = c
		return err
	}); err != nil {
		return gen, nil, err
	}
	gen.ExactMS = identMS(time.Since(start)) / float64(queries)
	for q := queries / 2; q < queries; q++ {
		gen.ImpostorTop1 += float64(exact[q][0].Score) / float64(queries-queries/2)
	}
	fmt.Fprintf(stderr, "size %d: exact reference in %.1f s\n", n, time.Since(start).Seconds())
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
		run.BuildMS = identMS(time.Since(start))
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
		run.ShardLoadMS = identMS(time.Since(start))
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
		run.Latency = summarise(lat)
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
			o := identOverlap(got[q], exact[q])
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
		fmt.Fprintf(stderr, "size %d %-8s rescore %5d: p50 %.2f ms, top-1 agreement %.3f/%.3f\n", n, enc, run.Rescore, run.Latency.P50, run.Top1Mated, run.Top1NonMated)
	}
	return gen, runs, nil
}

func identOverlap(a, b []gallery.Candidate) int {
	in := map[uint64]bool{}
	for _, c := range b {
		in[c.ClassID] = true
	}
	n := 0
	for _, c := range a {
		if in[c.ClassID] {
			n++
		}
	}
	return n
}

// parallel runs f(0..n-1) on every CPU and returns the first error.
func identParallel(ctx context.Context, n int, f func(i int) error) error {
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

func identMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ---------------------------------------------------------------------------
// eval identify

// IdentifyResult is the JSON report of `eval identify`.
type IdentifyResult struct {
	Encoder    string `json:"encoder"`
	Images     int    `json:"images"`
	Failures   int    `json:"failures_to_embed"`
	Identities int    `json:"identities_enrolled"`
	Distractor int    `json:"distractor_images"`
	Mated      int    `json:"mated_searches"`
	NonMated   int    `json:"nonmated_searches"`
	// Closed set, gallery = one image of each identity with 2+ images.
	Rank1 float64 `json:"rank1"`
	Rank5 float64 `json:"rank5"`
	// The same with every distractor enrolled too (a larger gallery).
	Rank1WithDistractors float64 `json:"rank1_with_distractors_enrolled"`
	Rank5WithDistractors float64 `json:"rank5_with_distractors_enrolled"`
	GalleryWithDistract  int     `json:"gallery_with_distractors"`
	// Open set at each level's cut-off (HIGH is the headline).
	Levels []IdentifyLevel `json:"levels"`
	// Agreement of each encoding with the exact search on these embeddings
	// (gallery with distractors, every mated and distractor probe).
	Encodings []IdentifyAgreement `json:"encodings"`
	Failed    []string            `json:"failed_images,omitempty"`
}

// IdentifyLevel is the open-set result at one cut-off.
type IdentifyLevel struct {
	Level  string  `json:"level"`
	FAR    float64 `json:"far"`
	Cosine float64 `json:"cosine"`
	// FPIR: fraction of non-mated searches returning any candidate at or
	// above the cut-off; split by kind.
	FPIR            float64 `json:"fpir"`
	FPIRDistractors float64 `json:"fpir_distractor_probes"`
	FPIRMateRemoved float64 `json:"fpir_mate_removed"`
	// FNIR: fraction of mated searches whose mate is not returned at or
	// above the cut-off (candidate list of 10); FNIRRank1 asks for the
	// mate as the top candidate.
	FNIR      float64 `json:"fnir"`
	FNIRRank1 float64 `json:"fnir_rank1"`
}

// IdentifyAgreement compares one encoding with the exact search.
type IdentifyAgreement struct {
	Encoding     string  `json:"encoding"`
	Rescore      int     `json:"rescore"`
	Top1         float64 `json:"top1_agreement"`
	Top10Overlap float64 `json:"top10_overlap"`
	Rank1        float64 `json:"rank1_with_distractors_enrolled"`
}

func evalIdentify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval identify", stderr)
	root := fs.String("root", "", "LFW folder (one sub-folder per identity, at any depth), e.g. ../shared/data/lfw")
	workers := fs.Int("workers", 0, "parallel embedding workers (default: one per CPU)")
	useCache := fs.Bool("cache", true, "reuse embeddings cached under .tools/cache (keyed by encoder, decoder and image path, size and time)")
	asJSON := fs.Bool("json", false, "print JSON")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "root"); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	svc, err := server.Service()
	if err != nil {
		return err
	}
	paths, err := dataset.Images(*root)
	if err != nil {
		return err
	}
	cachePath := ""
	if *useCache {
		cachePath = embeddingCachePath(svc.Encoder())
	}
	embs := embedCached(ctx, svc, *root, paths, *workers, cachePath, stderr)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	res, err := Identify(svc.Encoder(), paths, embs)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "images %d (failures to embed %d): %d identities enrolled, %d mated searches, %d distractor images\n",
		res.Images, res.Failures, res.Identities, res.Mated, res.Distractor)
	fmt.Fprintf(stdout, "rank-1 %.4f, rank-5 %.4f (gallery %d); with the distractors enrolled (gallery %d): rank-1 %.4f, rank-5 %.4f\n",
		res.Rank1, res.Rank5, res.Identities, res.GalleryWithDistract, res.Rank1WithDistractors, res.Rank5WithDistractors)
	fmt.Fprintf(stdout, "non-mated searches %d (%d distractor probes + %d mated probes with their mate removed)\n",
		res.NonMated, res.Distractor, res.Mated)
	for _, l := range res.Levels {
		fmt.Fprintf(stdout, "  %-9s FAR %-6g cosine %.3f: FPIR %.4f (distractors %.4f, mate removed %.4f), FNIR %.4f (rank 1: %.4f)\n",
			l.Level, l.FAR, l.Cosine, l.FPIR, l.FPIRDistractors, l.FPIRMateRemoved, l.FNIR, l.FNIRRank1)
	}
	for _, a := range res.Encodings {
		fmt.Fprintf(stdout, "  %-8s rescore %5d: top-1 agreement %.4f, top-10 overlap %.4f, rank-1 %.4f\n", a.Encoding, a.Rescore, a.Top1, a.Top10Overlap, a.Rank1)
	}
	return nil
}

// Identify runs the LFW 1:N protocol on embeddings (paths relative to the
// root, identity = the image's folder; an embedding error is a failure):
//
//   - gallery: the first image (in path order) that embeds of every
//     identity with two or more images; mated searches: its other images;
//     distractors: the images of identities with exactly one image.
//   - rank-1/rank-5: mated searches whose mate is the top candidate / among
//     the top five, against the gallery, then against the gallery with
//     every distractor enrolled too. A probe that failed to embed is a miss.
//   - open set (ISO/IEC 19795-1 style) at the cut-off of each level, the
//     cosine where the calibration table's FAR is the level's selfie
//     bound (HIGH: 1e-4): FPIR = fraction of non-mated searches returning
//     any candidate at or above the cut-off, the non-mated searches being
//     every distractor image searched against the gallery, and every mated
//     probe searched against the gallery without its mate; FNIR = fraction
//     of mated searches whose mate is not among the candidates at or above
//     the cut-off (and, rank 1, not the top candidate at or above it). A
//     probe that failed to embed returns nothing: a miss when mated, a
//     true negative when not.
//
// Searches use the default index (encoding and re-scoring of
// [gallery.DefaultEncoding]); the agreement of every encoding with the
// exact search is reported too.
func Identify(encoder string, paths []string, embs map[string]dataset.Result[[]float32]) (*IdentifyResult, error) {
	table, err := calibration.Default(encoder)
	if err != nil {
		return nil, err
	}
	sorted := slices.Clone(paths)
	sort.Strings(sorted)
	byID := map[string][]string{}
	var idents []string
	res := &IdentifyResult{Encoder: encoder}
	for _, p := range sorted {
		id := filepath.Dir(p)
		if _, ok := byID[id]; !ok {
			idents = append(idents, id)
		}
		byID[id] = append(byID[id], p)
		res.Images++
		if r, ok := embs[p]; !ok || r.Err != nil {
			res.Failures++
			res.Failed = append(res.Failed, p)
		}
	}
	vec := func(p string) []float32 {
		if r, ok := embs[p]; ok && r.Err == nil {
			return r.Value
		}
		return nil
	}
	type probe struct {
		vec  []float32
		mate uint64 // 0: non-mated (distractor)
	}
	var dims int
	var galleryIDs []uint64
	var galleryVecs []float32
	var distractors []probe
	var mated []probe
	classOf := map[string]uint64{}
	for _, id := range idents {
		imgs := byID[id]
		if len(imgs) == 1 {
			distractors = append(distractors, probe{vec: vec(imgs[0])})
			continue
		}
		enrolled := -1
		for i, p := range imgs {
			if v := vec(p); v != nil {
				enrolled = i
				if dims == 0 {
					dims = len(v)
				}
				classOf[id] = uint64(len(galleryIDs) + 1)
				galleryIDs = append(galleryIDs, classOf[id])
				galleryVecs = append(galleryVecs, v...)
				break
			}
		}
		for i, p := range imgs {
			if i != enrolled {
				mated = append(mated, probe{vec: vec(p), mate: classOf[id]}) // mate 0 if none enrolled
			}
		}
	}
	if len(galleryIDs) == 0 {
		return nil, errors.New("eval identify: no identity with two or more embedded images")
	}
	res.Identities, res.Mated, res.Distractor = len(galleryIDs), len(mated), len(distractors)
	res.NonMated = len(mated) + len(distractors)

	g, err := gallery.FromVectors(dims, galleryIDs, slices.Clone(galleryVecs), gallery.Options{})
	if err != nil {
		return nil, err
	}
	// The larger gallery: distractors enrolled as classes of their own.
	bigIDs := slices.Clone(galleryIDs)
	bigVecs := slices.Clone(galleryVecs)
	for i, d := range distractors {
		if d.vec != nil {
			bigIDs = append(bigIDs, uint64(1_000_000+i))
			bigVecs = append(bigVecs, d.vec...)
		}
	}
	res.GalleryWithDistract = len(bigIDs)
	big, err := gallery.FromVectors(dims, bigIDs, slices.Clone(bigVecs), gallery.Options{})
	if err != nil {
		return nil, err
	}

	rankOf := func(c []gallery.Candidate, mate uint64) int {
		for i, x := range c {
			if x.ClassID == mate {
				return i + 1
			}
		}
		return 0
	}
	type matedOut struct {
		rank      int     // in the gallery, 0: not in the top 10
		mateScore float64 // -2 if not returned
		top       float64 // best candidate's score
		nonMate   float64 // best non-mate score (the search without the mate)
	}
	mo := make([]matedOut, len(mated))
	var r1, r5, r1b, r5b int
	for i, p := range mated {
		o := matedOut{mateScore: -2, top: -2, nonMate: -2}
		if p.vec != nil {
			c := g.Search(p.vec, 10, -1)
			o.rank = rankOf(c, p.mate)
			if len(c) > 0 {
				o.top = float64(c[0].Score)
			}
			for _, x := range c {
				if x.ClassID == p.mate {
					o.mateScore = float64(x.Score)
				} else if o.nonMate == -2 {
					o.nonMate = float64(x.Score)
				}
			}
			if rb := rankOf(big.Search(p.vec, 5, -1), p.mate); rb > 0 {
				r5b++
				if rb == 1 {
					r1b++
				}
			}
		}
		if o.rank == 1 {
			r1++
		}
		if o.rank >= 1 && o.rank <= 5 {
			r5++
		}
		mo[i] = o
	}
	res.Rank1 = float64(r1) / float64(len(mated))
	res.Rank5 = float64(r5) / float64(len(mated))
	res.Rank1WithDistractors = float64(r1b) / float64(len(mated))
	res.Rank5WithDistractors = float64(r5b) / float64(len(mated))
	distTop := make([]float64, len(distractors))
	for i, d := range distractors {
		distTop[i] = -2
		if d.vec != nil {
			if c := g.Search(d.vec, 1, -1); len(c) > 0 {
				distTop[i] = float64(c[0].Score)
			}
		}
	}
	for _, lv := range calibration.Levels() {
		far := calibration.Selfie.FARAt(lv)
		cut := table.CosineAt(far)
		// Candidates come back as float32: compare as the service would.
		at := func(s float64) bool { return s > -2 && float32(s) >= float32(cut) }
		var fpD, fpM, fn, fn1 int
		for _, s := range distTop {
			if at(s) {
				fpD++
			}
		}
		for _, o := range mo {
			if at(o.nonMate) {
				fpM++
			}
			if !at(o.mateScore) {
				fn++
			}
			if !(o.rank == 1 && at(o.mateScore)) {
				fn1++
			}
		}
		res.Levels = append(res.Levels, IdentifyLevel{Level: string(lv), FAR: far, Cosine: round3(cut),
			FPIR:            float64(fpD+fpM) / float64(res.NonMated),
			FPIRDistractors: identRatio(fpD, len(distractors)), FPIRMateRemoved: identRatio(fpM, len(mated)),
			FNIR: identRatio(fn, len(mated)), FNIRRank1: identRatio(fn1, len(mated))})
	}

	// Agreement of each encoding with the exact search, on the big gallery.
	var probes []probe
	for _, p := range append(slices.Clone(mated), distractors...) {
		if p.vec != nil {
			probes = append(probes, p)
		}
	}
	exact := make([][]gallery.Candidate, len(probes))
	for i, p := range probes {
		if exact[i], err = big.SearchExact(p.vec, 10, -1); err != nil {
			return nil, err
		}
	}
	// Each encoding alone (-1), re-scoring its default number of rows (0),
	// and the integer ones re-scoring 0.4% of the gallery (RescoreDivisor),
	// the share the default re-scores in a large gallery.
	share := max(10, len(bigIDs)/gallery.RescoreDivisor)
	for _, enc := range gallery.Encodings() {
		for _, rescore := range []int{-1, 0, share} {
			switch {
			case enc == gallery.Float32 && rescore != 0, enc == gallery.Float16 && rescore >= 0:
				continue // Float32 is exact; Float16 keeps no float32 by default
			}
			x, err := gallery.FromVectors(dims, bigIDs, slices.Clone(bigVecs), gallery.Options{Encoding: enc, Rescore: rescore})
			if err != nil {
				return nil, err
			}
			a := IdentifyAgreement{Encoding: enc.String(), Rescore: x.Rescore()}
			var top1, overlap, rank1, matedN int
			for i, p := range probes {
				c := x.Search(p.vec, 10, -1)
				if len(c) > 0 && c[0].ClassID == exact[i][0].ClassID {
					top1++
				}
				overlap += identOverlap(c, exact[i])
				if p.mate != 0 {
					matedN++
					if len(c) > 0 && c[0].ClassID == p.mate {
						rank1++
					}
				}
			}
			a.Top1 = identRatio(top1, len(probes))
			a.Top10Overlap = float64(overlap) / float64(10*len(probes))
			a.Rank1 = identRatio(rank1, len(mated))
			res.Encodings = append(res.Encodings, a)
		}
	}
	return res, nil
}

func identRatio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// ---------------------------------------------------------------------------
// embedding cache

// embeddingCachePath is the cache file of an encoder and decoder under the
// repository's .tools/cache, or "" when the repository is not found.
func embeddingCachePath(encoder string) string {
	root, err := engine.RepoRoot()
	if err != nil {
		return ""
	}
	dec := "turbo"
	if os.Getenv("FACELAMBDA_PURE_GO_DECODE") == "1" {
		dec = "purego"
	}
	return filepath.Join(root, ".tools", "cache", "embeddings-"+encoder+"-"+dec+".gob")
}

// cachedEmbedding is one image's embedding (or the error embedding it).
type cachedEmbedding struct {
	Size    int64
	ModTime int64
	Vector  []float32
	Err     string
}

// embedCached is embedAll with a cache of results keyed by the image's
// absolute path, size and modification time (cachePath "" disables it). A
// missing or unreadable cache is rebuilt; it is an optimisation only.
func embedCached(ctx context.Context, svc *biometric.Service, root string, paths []string, workers int, cachePath string, stderr io.Writer) map[string]dataset.Result[[]float32] {
	if cachePath == "" {
		return embedAll(ctx, svc, root, paths, workers, stderr)
	}
	cache := map[string]cachedEmbedding{}
	if f, err := os.Open(cachePath); err == nil {
		if err := gob.NewDecoder(f).Decode(&cache); err != nil {
			fmt.Fprintf(stderr, "embedding cache %s unreadable (%v): rebuilding\n", cachePath, err)
			cache = map[string]cachedEmbedding{}
		}
		f.Close()
	}
	out := make(map[string]dataset.Result[[]float32], len(paths))
	keys := map[string]string{}
	stats := map[string]os.FileInfo{}
	var missing []string
	for _, p := range paths {
		abs, err := filepath.Abs(filepath.Join(root, p))
		if err != nil {
			missing = append(missing, p)
			continue
		}
		keys[p] = abs
		st, err := os.Stat(abs)
		if err != nil {
			missing = append(missing, p)
			continue
		}
		stats[p] = st
		c, ok := cache[abs]
		if !ok || c.Size != st.Size() || c.ModTime != st.ModTime().UnixNano() {
			missing = append(missing, p)
			continue
		}
		if c.Err != "" {
			out[p] = dataset.Result[[]float32]{Err: errors.New(c.Err)}
		} else {
			out[p] = dataset.Result[[]float32]{Value: c.Vector}
		}
	}
	if len(missing) == 0 {
		fmt.Fprintf(stderr, "embeddings: %d from %s\n", len(out), cachePath)
		return out
	}
	fmt.Fprintf(stderr, "embeddings: %d cached, %d to compute\n", len(out), len(missing))
	fresh := embedAll(ctx, svc, root, missing, workers, stderr)
	for p, r := range fresh {
		out[p] = r
		st, ok := stats[p]
		if !ok || ctx.Err() != nil {
			continue
		}
		c := cachedEmbedding{Size: st.Size(), ModTime: st.ModTime().UnixNano(), Vector: r.Value}
		if r.Err != nil {
			c.Err = r.Err.Error()
		}
		cache[keys[p]] = c
	}
	if ctx.Err() == nil {
		if err := identWriteGob(cachePath, cache); err != nil {
			fmt.Fprintf(stderr, "embedding cache not written: %v\n", err)
		}
	}
	return out
}

func identWriteGob(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".embeddings-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := gob.NewEncoder(tmp).Encode(v); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
