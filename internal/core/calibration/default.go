package calibration

import (
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

//go:embed tables
var tables embed.FS

// ErrNoTable reports an encoder without a committed calibration table.
var ErrNoTable = errors.New("no calibration table for this encoder")

// Default returns the committed table of the encoder (built by
// `facelambda calibrate` and compiled into the binary).
func Default(encoder string) (*Table, error) {
	b, err := tables.ReadFile("tables/" + encoder + ".json")
	if err != nil {
		return nil, fmt.Errorf("calibration: %w: %s (run `make calibrate`)", ErrNoTable, encoder)
	}
	t, err := Parse(b)
	if err != nil {
		return nil, err
	}
	if t.Encoder != encoder {
		return nil, fmt.Errorf("calibration: table tables/%s.json is for encoder %s", encoder, t.Encoder)
	}
	return t, nil
}

// DefaultPath is where the committed table of the encoder lives in the
// source tree (for `facelambda calibrate` to write).
func DefaultPath(encoder string) (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("calibration: source location unknown; pass --out")
	}
	dir := filepath.Join(filepath.Dir(file), "tables")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("calibration: %s not found; pass --out", dir)
	}
	return filepath.Join(dir, encoder+".json"), nil
}
