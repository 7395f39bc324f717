package cli

import (
	"context"
	"io"
	"path/filepath"

	"github.com/facelambda/facelambda/internal/biometric"
	"github.com/facelambda/facelambda/internal/dataset"
)

// embedAll embeds each distinct image (paths relative to root) once, in
// parallel, with the service's own pipeline.
func embedAll(ctx context.Context, svc *biometric.Service, root string, paths []string, workers int, stderr io.Writer) map[string]dataset.Result[[]float32] {
	return dataset.Map(ctx, paths, workers, func(p string) ([]float32, error) {
		b, err := readFile(filepath.Join(root, p))
		if err != nil {
			return nil, err
		}
		a, err := svc.Analyze(b, biometric.Options{Label: p})
		if err != nil {
			return nil, err
		}
		return a.Template.Vector, nil
	}, progress(stderr, "embedding"))
}
