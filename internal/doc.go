// Package internal holds facelambda's code in layers; docs/architecture.md
// draws them and layers_test.go enforces who may import whom:
//
//	config      the only reader of the environment (a typed Config)
//	app         the composition root: builds every function's service graph
//	core/...    use cases and domain (no HTTP server, no CLI, no adapter)
//	ml/...      models and pixels, the only cgo (no storage, no HTTP)
//	adapters/.. stores and AWS clients behind the ports core defines
//	transport/. HTTP handlers and the Lambda/API Gateway glue
//	tools/...   the CLI and evaluation (never linked into a Lambda)
package internal
