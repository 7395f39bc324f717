package capture

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode"
)

// decodeManifest decodes and checks the manifest JSON. maxFrames <= 0
// leaves the number of frames unbounded (for [Build]).
func decodeManifest(data []byte, maxFrames int) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: manifest: data after the JSON object", ErrInvalid)
	}
	if err := m.check(maxFrames); err != nil {
		return nil, err
	}
	return &m, nil
}

// check verifies the manifest's fields; maxFrames <= 0 leaves the number
// of frames unbounded.
func (m *Manifest) check(maxFrames int) error {
	if m.Version != Version {
		return fmt.Errorf("%w: manifest version %d, want %d", ErrInvalid, m.Version, Version)
	}
	if err := checkText("sessionId", m.SessionID, 1, maxIDBytes); err != nil {
		return err
	}
	if err := checkText("serverRandom", m.ServerRandom, 1, maxIDBytes); err != nil {
		return err
	}
	if d := m.DeviceInfo; d != nil {
		for _, f := range []struct{ name, v string }{
			{"deviceInfo.osType", d.OSType},
			{"deviceInfo.osVersion", d.OSVersion},
			{"deviceInfo.deviceModel", d.DeviceModel},
		} {
			if err := checkText(f.name, f.v, 0, maxDeviceBytes); err != nil {
				return err
			}
		}
	}
	if len(m.Frames) == 0 {
		return fmt.Errorf("%w: no frames", ErrInvalid)
	}
	if maxFrames > 0 && len(m.Frames) > maxFrames {
		return fmt.Errorf("%w: %d frames, at most %d", ErrTooLarge, len(m.Frames), maxFrames)
	}
	seen := make(map[string]struct{}, len(m.Frames))
	for i, f := range m.Frames {
		if !validName(f.File) {
			return fmt.Errorf("%w: frame %d: bad file name %q", ErrInvalid, i, f.File)
		}
		if _, dup := seen[f.File]; dup {
			return fmt.Errorf("%w: frame file %q listed twice", ErrInvalid, f.File)
		}
		seen[f.File] = struct{}{}
		if f.T < 0 || f.T > maxFrameTime {
			return fmt.Errorf("%w: frame %s: time %d ms out of 0..%d", ErrInvalid, f.File, f.T, maxFrameTime)
		}
		if i > 0 && f.T <= m.Frames[i-1].T {
			return fmt.Errorf("%w: frame %s: time %d ms not after %d ms", ErrInvalid, f.File, f.T, m.Frames[i-1].T)
		}
	}
	return nil
}

// checkText verifies that a manifest string has min..max bytes and no
// control characters.
func checkText(field, s string, min, max int) error {
	if len(s) < min || len(s) > max {
		return fmt.Errorf("%w: %s has %d bytes, want %d..%d", ErrInvalid, field, len(s), min, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %s holds a control character", ErrInvalid, field)
		}
	}
	return nil
}

// validName reports whether name is a plain frame file name: 1..64
// characters of [A-Za-z0-9._-], other than ".", ".." and the manifest's
// name.
func validName(name string) bool {
	if len(name) == 0 || len(name) > maxNameBytes || name == "." || name == ".." || name == ManifestName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// checkJPEG verifies that a frame starts with the JPEG SOI marker.
func checkJPEG(name string, data []byte) error {
	if len(data) < 2 || data[0] != jpegSOI0 || data[1] != jpegSOI1 {
		return fmt.Errorf("%w: frame %s is not a JPEG", ErrInvalid, name)
	}
	return nil
}

// frameTime converts a manifest time in milliseconds.
func frameTime(t int64) time.Duration { return time.Duration(t) * time.Millisecond }
