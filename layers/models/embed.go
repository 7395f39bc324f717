// Package models embeds the committed model manifest, so that every binary
// pins the exact ONNX Runtime library and model files it accepts: a file in a
// layer whose SHA-256 differs from the manifest is refused at start-up.
package models

import _ "embed"

// Manifest is the content of manifest.json in this folder.
//
//go:embed manifest.json
var Manifest []byte
