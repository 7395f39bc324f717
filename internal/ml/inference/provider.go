package inference

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/facelambda/facelambda/internal/ml/modelset"
)

// Execution providers accepted by Options.Provider.
const (
	// ProviderCPU runs every session on ONNX Runtime's CPU provider.
	ProviderCPU = "cpu"
	// ProviderCUDA runs sessions with the CUDA provider and fails when it
	// cannot be used.
	ProviderCUDA = "cuda"
	// ProviderAuto tries the CUDA provider and falls back to the CPU
	// provider, with one warning, when CUDA cannot be used.
	ProviderAuto = "auto"
)

// Manifest entries of the ONNX Runtime library: the CPU build carried by the
// Lambda layer, and the GPU build of the liveness-gpu image (pinned only once
// the manifest has an entry for it; see docs/liveness-gpu.md).
const (
	LibraryCPU = "onnxruntime"
	LibraryGPU = "onnxruntime-gpu"
)

// cudaPlugins are the libraries ONNX Runtime's GPU build loads by name from
// the folder of libonnxruntime when the CUDA provider is appended. Each one
// present in that folder is verified against its manifest entry first, as the
// main library is, so no unpinned code is loaded.
var cudaPlugins = []struct{ entry, file string }{
	{"onnxruntime-providers-shared", "libonnxruntime_providers_shared.so"},
	{"onnxruntime-providers-cuda", "libonnxruntime_providers_cuda.so"},
}

// normalise validates the provider options and fills in their defaults.
func (o Options) normalise() (Options, error) {
	switch o.Provider {
	case "":
		o.Provider = ProviderCPU
	case ProviderCPU, ProviderCUDA, ProviderAuto:
	default:
		return o, fmt.Errorf("onnx runtime: unknown execution provider %q (want %q, %q or %q)",
			o.Provider, ProviderCPU, ProviderCUDA, ProviderAuto)
	}
	if o.CUDADevice == "" {
		o.CUDADevice = "0"
	}
	if n, err := strconv.Atoi(o.CUDADevice); err != nil || n < 0 {
		return o, fmt.Errorf("onnx runtime: CUDA device %q is not a device ordinal (0, 1, ...)", o.CUDADevice)
	}
	return o, nil
}

// verifyLibrary checks the runtime library against the manifest's CPU entry
// and, when the manifest has one, its GPU entry; it returns the entry that
// matched. Either way the library must be exactly a pinned file.
func verifyLibrary(m *modelset.Manifest, path string) (string, error) {
	_, err := m.Verify(path, LibraryCPU)
	if err == nil {
		return LibraryCPU, nil
	}
	if !errors.Is(err, modelset.ErrHashMismatch) {
		return "", err
	}
	if _, lerr := m.Lookup(LibraryGPU); lerr != nil {
		return "", err
	}
	if _, gerr := m.Verify(path, LibraryGPU); gerr != nil {
		return "", fmt.Errorf("%w (nor does it match the manifest entry %q)", err, LibraryGPU)
	}
	return LibraryGPU, nil
}

var (
	pluginsOnce sync.Once
	pluginsErr  error
)

// verifyPlugins checks, once per process, the CUDA plug-in libraries in dir
// (the folder of the runtime library) against the manifest. A plug-in that is
// absent is not an error here: ONNX Runtime then fails to append the CUDA
// provider and says why. A plug-in that is present must be pinned.
func verifyPlugins(m *modelset.Manifest, dir string) error {
	pluginsOnce.Do(func() { pluginsErr = checkPlugins(m, dir) })
	return pluginsErr
}

func checkPlugins(m *modelset.Manifest, dir string) error {
	for _, p := range cudaPlugins {
		path := filepath.Join(dir, p.file)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return fmt.Errorf("CUDA plug-in %s: %w", path, err)
		}
		if _, err := m.Lookup(p.entry); err != nil {
			return fmt.Errorf("CUDA plug-in %s is present but the model manifest has no entry %q to verify it against; refusing to load it",
				path, p.entry)
		}
		if _, err := m.Verify(path, p.entry); err != nil {
			return fmt.Errorf("CUDA plug-in: %w", err)
		}
	}
	return nil
}

// appendCUDA adds the CUDA provider on the configured device to so.
func (r *Runtime) appendCUDA(so *ort.SessionOptions) error {
	if err := verifyPlugins(r.manifest, filepath.Dir(r.opt.LibraryPath)); err != nil {
		return err
	}
	cuda, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("CUDA provider options: %w", err)
	}
	defer cuda.Destroy()
	if err := cuda.Update(map[string]string{"device_id": r.opt.CUDADevice}); err != nil {
		return fmt.Errorf("CUDA provider options (device_id %s): %w", r.opt.CUDADevice, err)
	}
	if err := so.AppendExecutionProviderCUDA(cuda); err != nil {
		return fmt.Errorf("append CUDA execution provider: %w", err)
	}
	return nil
}

// session creates the session of one model with the configured provider:
// with "auto", a CUDA failure is logged once and the session (and every
// later one of this runtime) is created on the CPU.
func (r *Runtime) session(data []byte, f modelset.File) (*ort.DynamicAdvancedSession, string, error) {
	if r.tryCUDA() {
		sess, err := r.newSession(data, f, true)
		if err == nil {
			return sess, ProviderCUDA, nil
		}
		if r.opt.Provider == ProviderCUDA {
			return nil, "", fmt.Errorf("CUDA execution provider (device %s): %w", r.opt.CUDADevice, err)
		}
		r.disableCUDA(f.Name, err)
	}
	sess, err := r.newSession(data, f, false)
	if err != nil {
		return nil, "", err
	}
	return sess, ProviderCPU, nil
}

// tryCUDA reports whether the next session should try the CUDA provider.
func (r *Runtime) tryCUDA() bool {
	switch r.opt.Provider {
	case ProviderCUDA:
		return true
	case ProviderAuto:
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.cudaErr == nil
	}
	return false
}

// disableCUDA records why CUDA is not used and warns the first time.
func (r *Runtime) disableCUDA(model string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cudaErr != nil {
		return
	}
	r.cudaErr = err
	slog.Warn("onnx runtime: CUDA execution provider unavailable, falling back to the CPU provider",
		"provider", r.opt.Provider, "device", r.opt.CUDADevice, "library", r.library, "model", model, "err", err)
}

// Provider is the execution provider requested for this runtime: "cpu",
// "cuda" or "auto". Model.Provider and Providers say what was used.
func (r *Runtime) Provider() string { return r.opt.Provider }

// Library is the manifest entry the runtime library matched: LibraryCPU or
// LibraryGPU.
func (r *Runtime) Library() string { return r.library }

// CUDAError is why the CUDA provider is not used under "auto", or nil when it
// has not failed (or was not asked for).
func (r *Runtime) CUDAError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cudaErr
}

// Providers maps the manifest name of every model this runtime loaded to the
// execution provider its session was created with ("cpu" or "cuda").
func (r *Runtime) Providers() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.providers)
}
