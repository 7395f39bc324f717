// Package inference runs ONNX models through ONNX Runtime (cgo, via
// github.com/yalue/onnxruntime_go). It is the only package that touches the
// runtime: the face pipeline sees models through a one-method interface.
//
// One ONNX Runtime environment exists per process; sessions are created once
// (at Lambda init) and are safe for concurrent Run calls. By default each
// session uses one intra-op thread with spinning disabled: on small machines,
// parallel requests beat intra-op parallelism and spinning threads burn the
// CPU that other requests need.
//
// Sessions run on the CPU provider unless Options.Provider asks for CUDA
// ("cuda") or for CUDA when it works ("auto", which falls back to the CPU
// with one warning); Model.Provider reports what each session uses.
package inference

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/facelambda/facelambda/internal/ml/modelset"
)

// Options configures the runtime and its sessions.
type Options struct {
	// LibraryPath is the ONNX Runtime shared library (libonnxruntime.so.1).
	LibraryPath string
	// IntraOpThreads per session; 0 means 1.
	IntraOpThreads int
	// Spinning lets idle worker threads spin instead of sleeping.
	Spinning bool
	// FullOptimization enables ONNX Runtime's layout optimisations
	// (ORT_ENABLE_ALL). Off by default: measured on this project's models it
	// made the embedding model 3.5x slower (70 ms against 20 ms, one thread,
	// docs/benchmarks.md); the default is ORT_ENABLE_EXTENDED.
	FullOptimization bool
	// Provider is the execution provider: ProviderCPU ("" means it),
	// ProviderCUDA or ProviderAuto. Any other value is refused by Open.
	Provider string
	// CUDADevice is the CUDA device ordinal for "cuda" and "auto"; "" means
	// "0".
	CUDADevice string
}

// Runtime is the process-wide ONNX Runtime environment.
type Runtime struct {
	opt      Options
	manifest *modelset.Manifest
	library  string // manifest entry the library matched

	mu        sync.Mutex
	cudaErr   error             // why "auto" stopped trying CUDA
	providers map[string]string // model name -> provider used
}

var (
	envMu      sync.Mutex
	envPath    string
	envLibrary string // manifest entry envPath matched
)

// Open verifies the runtime library against the manifest and initialises
// the process-wide environment. Calling it again with the same library is
// cheap and returns a Runtime sharing the environment. The library must match
// the manifest's CPU entry or, when the manifest pins one, its GPU entry.
func Open(opt Options, m *modelset.Manifest) (*Runtime, error) {
	if opt.IntraOpThreads <= 0 {
		opt.IntraOpThreads = 1
	}
	opt, err := opt.normalise()
	if err != nil {
		return nil, err
	}
	envMu.Lock()
	defer envMu.Unlock()
	if envPath == "" {
		lib, err := verifyLibrary(m, opt.LibraryPath)
		if err != nil {
			return nil, fmt.Errorf("onnx runtime: %w", err)
		}
		ort.SetSharedLibraryPath(opt.LibraryPath)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			return nil, fmt.Errorf("onnx runtime: initialise %s: %w", opt.LibraryPath, err)
		}
		envPath, envLibrary = opt.LibraryPath, lib
	} else if envPath != opt.LibraryPath {
		return nil, fmt.Errorf("onnx runtime: already initialised from %s, cannot switch to %s", envPath, opt.LibraryPath)
	}
	return &Runtime{opt: opt, manifest: m, library: envLibrary, providers: map[string]string{}}, nil
}

// Version reports the ONNX Runtime version string.
func (r *Runtime) Version() string { return ort.GetVersion() }

// Model is a loaded ONNX model with one float32 input.
type Model struct {
	name     string
	provider string
	sess     *ort.DynamicAdvancedSession
	in       modelset.Tensor
	outs     []modelset.Tensor
	inSize   int
	outSize  []int
	pool     sync.Pool // *binding
}

type binding struct {
	in   *ort.Tensor[float32]
	outs []*ort.Tensor[float32]
	vin  []ort.Value
	vout []ort.Value
}

// Load reads the named model from dir, verifies its hash against the manifest,
// and creates its session from the verified bytes with the runtime's
// execution provider.
func (r *Runtime) Load(dir, name string) (*Model, error) {
	data, f, err := r.manifest.Read(dir, name)
	if err != nil {
		return nil, err
	}
	if f.Kind != "model" || len(f.Inputs) != 1 || len(f.Outputs) == 0 {
		return nil, fmt.Errorf("model %s: manifest must give one input and at least one output", name)
	}
	sess, provider, err := r.session(data, f)
	if err != nil {
		return nil, fmt.Errorf("model %s (%s): %w", name, f.File, err)
	}
	m := &Model{name: name, provider: provider, sess: sess, in: f.Inputs[0], outs: f.Outputs, inSize: size(f.Inputs[0].Shape)}
	for _, o := range f.Outputs {
		m.outSize = append(m.outSize, size(o.Shape))
	}
	runtime.AddCleanup(m, func(s *ort.DynamicAdvancedSession) { s.Destroy() }, sess)
	r.mu.Lock()
	r.providers[name] = provider
	r.mu.Unlock()
	return m, nil
}

// newSession creates the session of f from its verified bytes, with the
// CUDA provider appended when cuda is set.
func (r *Runtime) newSession(data []byte, f modelset.File, cuda bool) (*ort.DynamicAdvancedSession, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(r.opt.IntraOpThreads); err != nil {
		return nil, err
	}
	level := ort.GraphOptimizationLevel(ort.GraphOptimizationLevelEnableExtended)
	if r.opt.FullOptimization {
		level = ort.GraphOptimizationLevelEnableAll
	}
	if err := so.SetGraphOptimizationLevel(level); err != nil {
		return nil, err
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, err
	}
	spin := strconv.Itoa(map[bool]int{false: 0, true: 1}[r.opt.Spinning])
	for _, k := range []string{"session.intra_op.allow_spinning", "session.inter_op.allow_spinning"} {
		if err := so.AddSessionConfigEntry(k, spin); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	if cuda {
		if err := r.appendCUDA(so); err != nil {
			return nil, err
		}
	}
	outNames := make([]string, len(f.Outputs))
	for i, o := range f.Outputs {
		outNames[i] = o.Name
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{f.Inputs[0].Name}, outNames, so)
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	return sess, nil
}

func size(shape []int64) int {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	return n
}

// Name is the manifest name of the model.
func (m *Model) Name() string { return m.name }

// Provider is the execution provider the model's session was created with:
// ProviderCPU, or ProviderCUDA when the CUDA provider was appended (ONNX
// Runtime may still place operators CUDA lacks on the CPU).
func (m *Model) Provider() string { return m.provider }

// InputShape is the model's input shape from the manifest.
func (m *Model) InputShape() []int64 { return m.in.Shape }

// ErrInputSize reports an input slice of the wrong length.
var ErrInputSize = errors.New("input has the wrong number of elements")

// Run feeds input (laid out as the manifest's input shape) to the model and
// returns a copy of each output. It is safe for concurrent use.
func (m *Model) Run(input []float32) ([][]float32, error) {
	if len(input) != m.inSize {
		return nil, fmt.Errorf("model %s: %w: got %d, want %d", m.name, ErrInputSize, len(input), m.inSize)
	}
	b, err := m.binding()
	if err != nil {
		return nil, err
	}
	copy(b.in.GetData(), input)
	if err := m.sess.Run(b.vin, b.vout); err != nil {
		return nil, fmt.Errorf("model %s: run: %w", m.name, err)
	}
	res := make([][]float32, len(b.outs))
	for i, t := range b.outs {
		res[i] = append([]float32(nil), t.GetData()...)
	}
	m.pool.Put(b)
	return res, nil
}

func (m *Model) binding() (*binding, error) {
	if b, ok := m.pool.Get().(*binding); ok {
		return b, nil
	}
	b := &binding{}
	var err error
	if b.in, err = ort.NewEmptyTensor[float32](ort.NewShape(m.in.Shape...)); err != nil {
		return nil, fmt.Errorf("model %s: input tensor: %w", m.name, err)
	}
	b.vin = []ort.Value{b.in}
	for _, o := range m.outs {
		t, err := ort.NewEmptyTensor[float32](ort.NewShape(o.Shape...))
		if err != nil {
			for _, v := range append(b.vin, b.vout...) {
				v.Destroy()
			}
			return nil, fmt.Errorf("model %s: output tensor %s: %w", m.name, o.Name, err)
		}
		b.outs = append(b.outs, t)
		b.vout = append(b.vout, t)
	}
	// Tensors hold C memory: free it when the pool drops the binding.
	runtime.AddCleanup(b, func(ts []ort.Value) {
		for _, t := range ts {
			t.Destroy()
		}
	}, append(append([]ort.Value(nil), b.vin...), b.vout...))
	return b, nil
}
