package app

import (
	"context"
	"fmt"
	"sync"

	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/ml/decode"
	"github.com/facelambda/facelambda/internal/ml/engine"
	"github.com/facelambda/facelambda/internal/ml/liveness"
	"github.com/facelambda/facelambda/internal/ml/modelset"
	"github.com/facelambda/facelambda/internal/ml/raster"
	"github.com/facelambda/facelambda/internal/transport/httpapi"
)

// NewService builds the biometric service on the models m configures
// (FACELAMBDA_PURE_GO_DECODE=1 disables libjpeg-turbo). Without needTable
// it embeds faces without a calibration table: what `facelambda calibrate`
// needs to make one.
func NewService(m config.Models, needTable bool) (*biometric.Service, error) {
	eng, err := engine.Open(engine.FromSettings(m))
	if err != nil {
		return nil, err
	}
	return serviceOn(eng, eng.Encoder, m, needTable)
}

// serviceOn builds the biometric service on eng, whose templates are of
// encoder (the manifest's embedding model when ""), with the encoder's
// calibration table.
func serviceOn(eng biometric.Engine, encoder string, m config.Models, needTable bool) (*biometric.Service, error) {
	if encoder == "" {
		var err error
		if encoder, err = Encoder(); err != nil {
			return nil, err
		}
	}
	cal, err := calibration.Default(encoder)
	if err != nil && needTable {
		return nil, err
	}
	return biometric.New(eng, biometric.Config{
		Encoder: encoder, Calibration: cal,
		Decode: decode.Options{PureGo: m.PureGoDecode},
	})
}

// engineReady is the models check of an engine given to Build: a
// detection on a small blank image.
func engineReady(eng biometric.Engine) func(ctx context.Context) error {
	return func(context.Context) error {
		_, err := eng.Detect(raster.New(32, 32))
		return err
	}
}

// Service builds the biometric service of the environment's configuration
// (config.Load), for the CLI's tools and the tests.
func Service() (*biometric.Service, error) { return serviceFromEnv(true) }

// BootstrapService is Service without a calibration table (see NewService).
func BootstrapService() (*biometric.Service, error) { return serviceFromEnv(false) }

func serviceFromEnv(needTable bool) (*biometric.Service, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	return NewService(cfg.Models, needTable)
}

// OpenLiveness opens the passive liveness models of the manifest and their
// level calibration; a missing calibration for the loaded models is an
// error.
func OpenLiveness(m config.Models) (*httpapi.Liveness, error) {
	l, err := liveness.Open(engine.FromSettings(m))
	if err != nil {
		return nil, err
	}
	det := l.Detector.Weighted()
	cal, err := det.Calibration()
	if err != nil {
		return nil, fmt.Errorf("liveness: %w (run facelambda calibrate liveness)", err)
	}
	return &httpapi.Liveness{Detector: det, Calibration: cal}, nil
}

// Encoder is the encoder id of the embedding model in the manifest.
func Encoder() (string, error) {
	m, err := modelset.Embedded()
	if err != nil {
		return "", err
	}
	f, err := m.Lookup("embedding")
	if err != nil {
		return "", err
	}
	return f.Encoder, nil
}

// modelsReady returns a check that loads the engine once and runs its
// smallest model.
func modelsReady(m config.Models) func(ctx context.Context) error {
	var once sync.Once
	var eng *engine.Engine
	var err error
	return func(ctx context.Context) error {
		once.Do(func() { eng, err = engine.Open(engine.FromSettings(m)) })
		if err != nil {
			return err
		}
		mod, ok := eng.Raw["eyes"]
		if !ok {
			return fmt.Errorf("eye model not loaded")
		}
		_, rerr := mod.Run(make([]float32, 24*24))
		return rerr
	}
}
