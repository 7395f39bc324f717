// Package server wires the service from its environment: the engine from
// the layers, the calibration table, and the HTTP handlers of each function,
// for Lambda and for the local server alike.
package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/facelambda/facelambda/internal/biometric"
	"github.com/facelambda/facelambda/internal/calibration"
	"github.com/facelambda/facelambda/internal/decode"
	"github.com/facelambda/facelambda/internal/engine"
	"github.com/facelambda/facelambda/internal/httpapi"
)

// Service builds the biometric service from the environment (see
// engine.ConfigFromEnv; FACELAMBDA_PURE_GO_DECODE=1 disables libjpeg-turbo).
func Service() (*biometric.Service, error) { return build(true) }

// BootstrapService builds a service that can embed faces without a
// calibration table: what `facelambda calibrate` needs to make one.
func BootstrapService() (*biometric.Service, error) { return build(false) }

func build(needTable bool) (*biometric.Service, error) {
	eng, err := engine.Open(engine.ConfigFromEnv())
	if err != nil {
		return nil, err
	}
	cal, err := calibration.Default(eng.Encoder)
	if err != nil && needTable {
		return nil, err
	}
	return biometric.New(eng, biometric.Config{
		Encoder: eng.Encoder, Calibration: cal,
		Decode: decode.Options{PureGo: os.Getenv("FACELAMBDA_PURE_GO_DECODE") == "1"},
	})
}

// Functions maps each Lambda function's name to its handler.
func Functions(s *biometric.Service) map[string]http.Handler {
	return map[string]http.Handler{
		"face":  httpapi.FaceHandler(s),
		"match": httpapi.MatchHandler(s),
	}
}

// Local serves every function's routes on one handler, as API Gateway
// routes them to the functions in template.yaml.
func Local(s *biometric.Service) http.Handler {
	fn := Functions(s)
	mux := http.NewServeMux()
	mux.Handle("/v2/faces", fn["face"])
	mux.Handle("/v2/match", fn["match"])
	mux.Handle("/v2/match/", fn["match"])
	mux.Handle("/", fn["face"]) // answers unknown paths with the error object
	return mux
}

// Must logs err and exits; for main packages at init.
func Must[T any](v T, err error) T {
	if err != nil {
		slog.Error("start-up failed", "err", err)
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return v
}
