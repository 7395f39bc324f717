package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/core/gallery"
	"github.com/facelambda/facelambda/internal/tools/dataset"
	"github.com/facelambda/facelambda/internal/tools/evaluation"
)

func benchIdentify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench identify", stdout, stderr)
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
	rep, err := evaluation.BenchIdentify(ctx, evaluation.IdentifyBenchConfig{Sizes: sizes, Encodings: encs, Rescore: rescore,
		Queries: *queries, Dims: *dims, Seed: *seed}, stderr)
	if err != nil {
		return err
	}
	rep.Machine = cpuModel()
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

func evalIdentify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval identify", stdout, stderr)
	root := fs.String("root", "", "LFW folder (one sub-folder per identity, at any depth), e.g. ../shared/data/lfw")
	workers := fs.Int("workers", 0, "parallel embedding workers (default: one per CPU)")
	useCache := fs.Bool("cache", true, "reuse embeddings cached under .tools/cache (keyed by encoder, decoder and image path, size and time)")
	asJSON := fs.Bool("json", false, "print JSON")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := fs.ParseRequired(args, "root"); err != nil {
		return err
	}
	stop, err := startCPUProfile(*cpuprofile)
	if err != nil {
		return err
	}
	defer stop()
	svc, err := app.Service()
	if err != nil {
		return err
	}
	paths, err := dataset.Images(*root)
	if err != nil {
		return err
	}
	cachePath := ""
	if *useCache {
		cachePath = evaluation.EmbeddingCachePath(svc.Encoder())
	}
	embs := evaluation.EmbedCached(ctx, svc, *root, paths, *workers, cachePath, stderr)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	res, err := evaluation.Identify(svc.Encoder(), paths, embs)
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
