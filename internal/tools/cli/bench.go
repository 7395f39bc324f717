package cli

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/ml/decode"
	"github.com/facelambda/facelambda/internal/ml/engine"
	"github.com/facelambda/facelambda/internal/ml/face"
	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/raster"
	"github.com/facelambda/facelambda/internal/tools/evaluation"
)

// EndToEnd is template creation from an encoded image.
type EndToEnd struct {
	Image         string             `json:"image"`
	Bytes         int                `json:"bytes"`
	Decoder       string             `json:"decoder"`
	Latency       evaluation.Latency `json:"latency"`
	ModelMS       float64            `json:"model_ms_per_template"`
	OverheadRatio float64            `json:"overhead_ratio"`
	PerCoreTPS    float64            `json:"templates_per_second_per_core"`
}

// BenchReport is the JSON of `facelambda bench`.
type BenchReport struct {
	Machine      string                        `json:"machine"`
	CPUs         int                           `json:"cpus"`
	GoVersion    string                        `json:"go"`
	ORTVersion   string                        `json:"onnxruntime"`
	Models       map[string]evaluation.Latency `json:"models"`
	EndToEnd     map[string]EndToEnd           `json:"end_to_end"`
	ParallelTPS  float64                       `json:"templates_per_second_all_cores_640x480"`
	PeakRSSBytes int64                         `json:"peak_rss_bytes"`
}

// timed wraps a model and accumulates the time spent inside it.
type timed struct {
	m  face.Model
	ns *atomic.Int64
}

func (t timed) Run(in []float32) ([][]float32, error) {
	start := time.Now()
	out, err := t.m.Run(in)
	t.ns.Add(int64(time.Since(start)))
	return out, err
}

// startCPUProfile writes a CPU profile to path until stop is called; with
// path "" it does nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stdout, stderr)
	imgPath := fs.String("image", "", "source photo for the generated JPEGs (default testdata/images/obama.jpg)")
	n := fs.Int("n", 100, "iterations per measurement")
	asJSON := fs.Bool("json", false, "print JSON")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stop, err := startCPUProfile(*cpuprofile)
	if err != nil {
		return err
	}
	defer stop()
	if *imgPath == "" {
		root, err := engine.RepoRoot()
		if err != nil {
			return err
		}
		*imgPath = filepath.Join(root, "testdata", "images", "obama.jpg")
	}
	src, err := os.ReadFile(*imgPath)
	if err != nil {
		return err
	}
	env, err := config.Load()
	if err != nil {
		return err
	}
	eng, err := engine.Open(engine.FromSettings(env.Models))
	if err != nil {
		return err
	}
	rep := BenchReport{Machine: cpuModel(), CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), ORTVersion: eng.RuntimeVersion,
		Models: map[string]evaluation.Latency{}, EndToEnd: map[string]EndToEnd{}}

	// Per-model latency on random inputs of each model's shape.
	r := rand.New(rand.NewPCG(1, 2))
	for name, m := range eng.Raw {
		size := 1
		for _, d := range m.InputShape() {
			size *= int(d)
		}
		in := make([]float32, size)
		for i := range in {
			in[i] = r.Float32()*2 - 1
		}
		if _, err := m.Run(in); err != nil { // warm-up
			return err
		}
		d := make([]time.Duration, *n)
		for i := range d {
			start := time.Now()
			if _, err := m.Run(in); err != nil {
				return err
			}
			d[i] = time.Since(start)
		}
		rep.Models[name] = evaluation.Summarise(d)
	}

	// End-to-end template creation through the service, with every model
	// wrapped in a timer so the overhead is measured, not estimated.
	var modelNS atomic.Int64
	wrap := func(name string) face.Model { return timed{eng.Raw[name], &modelNS} }
	fe, err := face.New(face.Models{Detector: wrap("detector"), Landmarks: wrap("landmarks"), Embedding: wrap("embedding"),
		Eyes: wrap("eyes"), Pose: wrap("pose")}, face.DefaultConfig)
	if err != nil {
		return err
	}
	pic, err := decode.Decode(src, decode.Options{})
	if err != nil {
		return err
	}
	images := map[string][]byte{}
	for _, sz := range [][2]int{{640, 480}, {4000, 3000}} {
		b, err := jpegOf(pic.Image, sz[0], sz[1])
		if err != nil {
			return err
		}
		images[fmt.Sprintf("%dx%d", sz[0], sz[1])] = b
	}
	for _, pure := range []bool{false, true} {
		if !pure && !decode.Turbo {
			continue
		}
		svc, err := biometric.New(fe, biometric.Config{Encoder: eng.Encoder, Dimensions: eng.EmbeddingDims(), Decode: decode.Options{PureGo: pure}})
		if err != nil {
			return err
		}
		for label, b := range images {
			if _, err := svc.Analyze(b, biometric.Options{}); err != nil {
				return fmt.Errorf("bench image %s: %w", label, err)
			}
			modelNS.Store(0)
			d := make([]time.Duration, *n)
			for i := range d {
				start := time.Now()
				if _, err := svc.Analyze(b, biometric.Options{}); err != nil {
					return err
				}
				d[i] = time.Since(start)
			}
			lat := evaluation.Summarise(d)
			modelMS := float64(modelNS.Load()) / float64(*n) / 1e6
			dec := "libjpeg-turbo"
			if pure {
				dec = "pure-go"
			}
			rep.EndToEnd[label+"/"+dec] = EndToEnd{Image: label + " JPEG q90", Bytes: len(b), Decoder: dec, Latency: lat,
				ModelMS: evaluation.Round3(modelMS), OverheadRatio: evaluation.Round3(lat.Mean / modelMS), PerCoreTPS: evaluation.Round3(1000 / lat.Mean)}
		}
		if !pure || !decode.Turbo {
			rep.ParallelTPS = parallelTPS(ctx, svc, images["640x480"], *n)
		}
	}
	rep.PeakRSSBytes = peakRSS()
	if *asJSON {
		return printJSON(stdout, rep)
	}
	fmt.Fprintf(stdout, "machine %s, %d CPUs, %s, ONNX Runtime %s\n", rep.Machine, rep.CPUs, rep.GoVersion, rep.ORTVersion)
	names := make([]string, 0, len(rep.Models))
	for k := range rep.Models {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		l := rep.Models[k]
		fmt.Fprintf(stdout, "model %-10s p50 %6.2f ms  p99 %6.2f ms\n", k, l.P50, l.P99)
	}
	keys := make([]string, 0, len(rep.EndToEnd))
	for k := range rep.EndToEnd {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		e := rep.EndToEnd[k]
		fmt.Fprintf(stdout, "template %-24s p50 %6.1f ms  p99 %6.1f ms  models %5.1f ms  overhead %.2f  %.1f/s/core\n",
			k, e.Latency.P50, e.Latency.P99, e.ModelMS, e.OverheadRatio, e.PerCoreTPS)
	}
	fmt.Fprintf(stdout, "640x480 on all %d cores: %.1f templates/s; peak RSS %d MB\n", rep.CPUs, rep.ParallelTPS, rep.PeakRSSBytes>>20)
	return nil
}

// parallelTPS runs one worker per CPU over the same image.
func parallelTPS(ctx context.Context, svc *biometric.Service, img []byte, n int) float64 {
	workers := runtime.GOMAXPROCS(0)
	total := n * workers
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(total) && ctx.Err() == nil {
				_, _ = svc.Analyze(img, biometric.Options{})
			}
		}()
	}
	wg.Wait()
	return evaluation.Round3(float64(total) / time.Since(start).Seconds())
}

// jpegOf scales img to cover w x h (cropping the excess) and encodes it at quality 90.
func jpegOf(img *raster.RGB, w, h int) ([]byte, error) {
	s := max(float64(w)/float64(img.W), float64(h)/float64(img.H))
	cw, ch := float64(w)/s, float64(h)/s
	box := [4]float64{(float64(img.W) - cw) / 2, (float64(img.H) - ch) / 4, cw, ch}
	return raster.EncodeJPEG(raster.Resize(img, boxOf(box), w, h), 90)
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			if i := strings.Index(l, ":"); i > 0 {
				return strings.TrimSpace(l[i+1:])
			}
		}
	}
	return runtime.GOARCH
}

func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(l[6:]), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}

func boxOf(b [4]float64) geometry.Box { return geometry.Box{X: b[0], Y: b[1], W: b[2], H: b[3]} }
