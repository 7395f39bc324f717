package liveness

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Level is a security level: the stricter the level, the fewer attacks
// are accepted and the more genuine users are asked to retry.
type Level int

// The levels, loosest first.
const (
	Low Level = iota + 1
	Medium
	Moderate
	BalancedHigh
	High
	BalancedVeryHigh
	VeryHigh
	Highest
)

// DefaultLevel is the level used when a request names none.
const DefaultLevel = BalancedVeryHigh

// Levels lists every level, loosest first.
var Levels = []Level{Low, Medium, Moderate, BalancedHigh, High, BalancedVeryHigh, VeryHigh, Highest}

var levelNames = map[Level]string{
	Low: "LOW", Medium: "MEDIUM", Moderate: "MODERATE", BalancedHigh: "BALANCED_HIGH", High: "HIGH",
	BalancedVeryHigh: "BALANCED_VERY_HIGH", VeryHigh: "VERY_HIGH", Highest: "HIGHEST",
}

// TargetAPCER is the pooled APCER each level is calibrated to on the
// calibration data: its threshold is the lowest that accepts at most this
// fraction of the attacks there.
var TargetAPCER = map[Level]float64{
	Low: 0.20, Medium: 0.10, Moderate: 0.07, BalancedHigh: 0.05, High: 0.03,
	BalancedVeryHigh: 0.02, VeryHigh: 0.01, Highest: 0.005,
}

func (l Level) String() string {
	if n, ok := levelNames[l]; ok {
		return n
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// Valid reports whether l is one of the levels.
func (l Level) Valid() bool { _, ok := levelNames[l]; return ok }

// ErrUnknownLevel reports a level name that is not one of the levels.
var ErrUnknownLevel = errors.New("unknown security level")

// ParseLevel reads a level name (case-insensitive; "-" and " " stand for
// "_"). The empty string gives DefaultLevel.
func ParseLevel(s string) (Level, error) {
	n := strings.ToUpper(strings.TrimSpace(s))
	if n == "" {
		return DefaultLevel, nil
	}
	n = strings.NewReplacer("-", "_", " ", "_").Replace(n)
	for l, name := range levelNames {
		if name == n {
			return l, nil
		}
	}
	return 0, fmt.Errorf("%w %q (LOW, MEDIUM, MODERATE, BALANCED_HIGH, HIGH, BALANCED_VERY_HIGH, VERY_HIGH, HIGHEST)", ErrUnknownLevel, s)
}

// MarshalText writes the level's name.
func (l Level) MarshalText() ([]byte, error) {
	if !l.Valid() {
		return nil, fmt.Errorf("%w %d", ErrUnknownLevel, int(l))
	}
	return []byte(l.String()), nil
}

// UnmarshalText reads a level's name.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// LevelThreshold is one level of a calibration.
type LevelThreshold struct {
	Level       Level   `json:"level"`
	TargetAPCER float64 `json:"target_apcer"`
	// Threshold is the lowest fused score accepted as live at the level.
	Threshold float64 `json:"threshold"`
	// APCER, APCERMax and BPCER were measured at Threshold on the
	// calibration data (in-sample).
	APCER    float64 `json:"apcer"`
	APCERMax float64 `json:"apcer_max"`
	BPCER    float64 `json:"bpcer"`
}

// Calibration maps the levels to thresholds on the fused score of one
// fusion of models.
type Calibration struct {
	Fusion string `json:"fusion"`
	// Data says what the thresholds were calibrated on.
	Data     string           `json:"data"`
	BonaFide int              `json:"bona_fide"`
	Attacks  int              `json:"attacks"`
	Failed   int              `json:"failed"`
	Levels   []LevelThreshold `json:"levels"`
}

// CalibrationFile holds the calibrations of several fusions (the full set
// of models and the fallbacks used when optional models are absent).
type CalibrationFile struct {
	Version      int            `json:"version"`
	Command      string         `json:"command,omitempty"`
	Calibrations []*Calibration `json:"calibrations"`
}

// Calibrate sets each level's threshold from labelled samples: the lowest
// threshold whose pooled APCER is at most the level's TargetAPCER.
func Calibrate(samples []Sample, fusion, data string) (*Calibration, error) {
	c := &Calibration{Fusion: fusion, Data: data}
	for _, s := range samples {
		if s.Failed {
			c.Failed++
		}
		if s.Attack {
			c.Attacks++
		} else {
			c.BonaFide++
		}
	}
	if c.Attacks == 0 || c.BonaFide == 0 {
		return nil, errors.New("liveness calibration needs bona fide and attack samples")
	}
	for _, l := range Levels {
		thr, _ := ThresholdAtAPCER(samples, TargetAPCER[l])
		if math.IsInf(thr, 0) {
			return nil, fmt.Errorf("liveness calibration: %s accepts every sample; too few attacks", l)
		}
		r := At(samples, thr)
		c.Levels = append(c.Levels, LevelThreshold{Level: l, TargetAPCER: TargetAPCER[l], Threshold: round6(thr),
			APCER: round6(r.APCER), APCERMax: round6(r.APCERMax), BPCER: round6(r.BPCER)})
	}
	return c, c.validate()
}

func round6(v float64) float64 {
	if v != v || v > 1e300 || v < -1e300 {
		return v
	}
	return float64(int64(v*1e6+sign(v)*0.5)) / 1e6
}

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}

func (c *Calibration) validate() error {
	if c.Fusion == "" {
		return errors.New("liveness calibration: no fusion")
	}
	if len(c.Levels) != len(Levels) {
		return fmt.Errorf("liveness calibration %s: want %d levels, got %d", c.Fusion, len(Levels), len(c.Levels))
	}
	for i, l := range c.Levels {
		if l.Level != Levels[i] {
			return fmt.Errorf("liveness calibration %s: level %d is %s, want %s", c.Fusion, i, l.Level, Levels[i])
		}
		if i > 0 && l.Threshold < c.Levels[i-1].Threshold {
			return fmt.Errorf("liveness calibration %s: %s threshold %g is below %s's %g", c.Fusion, l.Level, l.Threshold, c.Levels[i-1].Level, c.Levels[i-1].Threshold)
		}
	}
	return nil
}

// Threshold returns the lowest fused score accepted as live at level.
func (c *Calibration) Threshold(level Level) (float64, error) {
	if !level.Valid() {
		return 0, fmt.Errorf("%w %d", ErrUnknownLevel, int(level))
	}
	return c.Levels[int(level)-1].Threshold, nil
}

// IsSpoof reports whether score is rejected at level (score below the
// level's threshold). An invalid level counts as the default.
func (c *Calibration) IsSpoof(score float64, level Level) bool {
	if !level.Valid() {
		level = DefaultLevel
	}
	t, _ := c.Threshold(level)
	return !(score >= t)
}

// HighestLevel returns the strictest level at which score is accepted as
// live, and false when it is rejected even at LOW.
func (c *Calibration) HighestLevel(score float64) (Level, bool) {
	for i := len(c.Levels) - 1; i >= 0; i-- {
		if score >= c.Levels[i].Threshold {
			return c.Levels[i].Level, true
		}
	}
	return 0, false
}

// For returns the calibration of fusion, or nil.
func (f *CalibrationFile) For(fusion string) *Calibration {
	for _, c := range f.Calibrations {
		if c.Fusion == fusion {
			return c
		}
	}
	return nil
}

// ParseCalibrations decodes and checks a calibration file.
func ParseCalibrations(b []byte) (*CalibrationFile, error) {
	var f CalibrationFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("liveness calibration: %w", err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("liveness calibration: unsupported version %d", f.Version)
	}
	for _, c := range f.Calibrations {
		if err := c.validate(); err != nil {
			return nil, err
		}
	}
	return &f, nil
}

// Save writes the file as indented JSON.
func (f *CalibrationFile) Save(path string) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

//go:embed levels/levels.json
var levelsFS embed.FS

// LevelsFile is the committed calibration file, relative to the
// repository root.
const LevelsFile = "internal/ml/liveness/levels/levels.json"

var (
	embeddedOnce sync.Once
	embeddedCal  *CalibrationFile
	embeddedErr  error
)

// Embedded returns the calibration file compiled into the binary.
func Embedded() (*CalibrationFile, error) {
	embeddedOnce.Do(func() {
		b, err := levelsFS.ReadFile("levels/levels.json")
		if err != nil {
			embeddedErr = err
			return
		}
		embeddedCal, embeddedErr = ParseCalibrations(b)
	})
	return embeddedCal, embeddedErr
}

// DefaultLevelsPath returns the committed calibration file's path in the
// repository that holds the working directory.
func DefaultLevelsPath(repoRoot string) string {
	return filepath.Join(repoRoot, filepath.FromSlash(LevelsFile))
}
