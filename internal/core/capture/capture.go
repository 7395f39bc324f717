// Package capture defines the active-liveness capture: the sequence of JPEG
// frames, with timestamps, that a client films while the user performs the
// session's challenges. It parses captures safely from hostile input (a
// ZIP container or a multipart/form-data body) and implements secure
// capture, in which the client encrypts the container for the bio-session.
//
// The package does not decode JPEGs; it only checks that every frame
// starts with the JPEG SOI marker (0xFF 0xD8) and leaves decoding to the
// image decoder.
//
// # Container
//
// A capture is a ZIP archive holding an entry named "capture.json" (the
// [Manifest], at most [MaxManifestBytes]) and one entry per frame, named
// by the manifest:
//
//	{"version":1,"sessionId":"...","serverRandom":"...",
//	 "frames":[{"file":"000.jpg","t":0},{"file":"001.jpg","t":66}],
//	 "deviceInfo":{"osType":"Android","osVersion":"14","deviceModel":"Pixel 8"}}
//
// t is an integer number of milliseconds since the first frame; the
// timestamps must be strictly increasing, in 0..3600000 (one hour).
// deviceInfo is optional. Unknown JSON fields are refused. sessionId and
// serverRandom are 1..256 bytes, the deviceInfo strings at most 128 bytes,
// and none of them may hold control characters. A frame file name is 1..64
// characters of [A-Za-z0-9._-], neither "." nor ".." nor "capture.json",
// and is unique. Entries must be stored (method 0) or deflated (method 8)
// and not encrypted; the archive must hold no entry the manifest does not
// list. [Parse] never trusts the sizes in the ZIP headers: every entry is
// inflated through a limit, then checked against its header's size and
// CRC-32. See [Limits] for the size limits.
//
// The same capture can be sent as multipart/form-data ([ReadMultipart]):
// one part named "metadata" holding the manifest JSON and, per frame, one
// file part named "frame" whose filename is the frame's file name.
//
// # Secure capture, version 1
//
// The bio-session owns an RSA-2048 key pair made by the server
// ([NewSessionKey]); the client gets its public key ([PublicJWK],
// [PublicPEM]) and seals the container ([Seal]); the server opens it
// ([Open]) and then parses it. Let label be the 21 ASCII bytes
// "facelambda-capture-v1". The client:
//
//  1. draws a fresh random 32-byte AES-256 key K;
//
//  2. sends encryptedMasterSecret = RSAES-OAEP-ENCRYPT(session public key,
//     K), with SHA-256 as both the OAEP hash and the MGF1 hash and label as
//     the OAEP label (256 bytes for a 2048-bit key);
//
//  3. draws a fresh random 12-byte nonce N and sends
//
//     encryptedMetaData = "FLC1" || N || AES-256-GCM-Seal(K, N, container, AD)
//
//     where "FLC1" is 4 ASCII bytes, the GCM tag is 16 bytes and appended
//     to the ciphertext (as in most libraries), and the additional data is
//
//     AD = label || 0x00 || sessionId || 0x00 || serverRandom
//
//     with sessionId and serverRandom the session's values as UTF-8 bytes
//     (1..256 bytes each, with no control character, so no NUL byte).
//
// encryptedMetaData is thus 32 bytes longer than the container, and at
// most [MaxSealedBytes]. Any failure to open (wrong key, session or server
// random, any altered or missing byte, wrong magic or lengths) is reported
// as [ErrDecrypt] alone, with no detail on its cause. The opened container
// is then parsed like any other; the server should also check that its
// manifest names the session's sessionId and serverRandom.
package capture

import (
	"errors"
	"time"
)

// Errors returned (wrapped) by the parsers. Callers map ErrInvalid and
// ErrDecrypt to refusals (liveness.CaptureError: INVALID_REQUEST,
// DECRYPTION_FAILED) and ErrTooLarge to REQUEST_TOO_LARGE.
var (
	// ErrInvalid reports a malformed capture.
	ErrInvalid = errors.New("capture: invalid capture")
	// ErrTooLarge reports a capture beyond the [Limits].
	ErrTooLarge = errors.New("capture: capture too large")
	// ErrDecrypt reports a sealed capture that cannot be opened. Its
	// message never tells why.
	ErrDecrypt = errors.New("capture: cannot decrypt capture")
)

const (
	// ManifestName is the name of the manifest entry in the container.
	ManifestName = "capture.json"
	// Version is the only manifest version understood.
	Version = 1
	// MaxManifestBytes bounds the manifest JSON.
	MaxManifestBytes = 64 << 10

	maxIDBytes         = 256            // sessionId, serverRandom
	maxDeviceBytes     = 128            // each deviceInfo string
	maxNameBytes       = 64             // a frame file name
	maxFrameTime       = 60 * 60 * 1000 // last acceptable t, in ms
	zipOverhead        = 1 << 20        // room for manifest and ZIP structure
	defaultFrames      = 150            // DefaultLimits().MaxFrames
	defaultTotal       = 64 << 20       // DefaultLimits().MaxTotalBytes
	defaultFrame       = 4 << 20        // DefaultLimits().MaxFrameBytes
	jpegSOI0, jpegSOI1 = 0xFF, 0xD8     // JPEG start-of-image marker
)

// Manifest describes a capture; it is the container's capture.json.
type Manifest struct {
	Version      int         `json:"version"`
	SessionID    string      `json:"sessionId"`
	ServerRandom string      `json:"serverRandom"`
	Frames       []FrameRef  `json:"frames"`
	DeviceInfo   *DeviceInfo `json:"deviceInfo,omitempty"`
}

// FrameRef names a frame of the container and its time.
type FrameRef struct {
	// File is the frame's entry name (or multipart filename).
	File string `json:"file"`
	// T is the frame's time in milliseconds since the first frame.
	T int64 `json:"t"`
}

// DeviceInfo describes the capturing device, as the client reports it.
// The values are informative only and never trusted.
type DeviceInfo struct {
	OSType      string `json:"osType,omitempty"`
	OSVersion   string `json:"osVersion,omitempty"`
	DeviceModel string `json:"deviceModel,omitempty"`
}

// Frame is one frame of a parsed capture.
type Frame struct {
	// Time is the frame's time since the first frame.
	Time time.Duration
	// Data is the JPEG image (starting with 0xFF 0xD8, not decoded).
	Data []byte
}

// Capture is a parsed capture: its manifest and its frames, in manifest
// order.
type Capture struct {
	Manifest Manifest
	Frames   []Frame
}

// Limits bounds what the parsers accept. A field that is zero or negative
// takes its [DefaultLimits] value. Besides these, [Parse] refuses an
// archive longer than MaxTotalBytes + 1 MiB and either parser refuses
// more than MaxFrames+1 entries or parts, all with [ErrTooLarge].
type Limits struct {
	// MaxFrames is the most frames a capture may hold.
	MaxFrames int
	// MaxFrameBytes bounds each frame's (uncompressed) size.
	MaxFrameBytes int64
	// MaxTotalBytes bounds the frames' total (uncompressed) size; the
	// manifest is bounded by MaxManifestBytes on its own.
	MaxTotalBytes int64
}

// DefaultLimits returns 150 frames, 4 MiB per frame and 64 MiB in total.
func DefaultLimits() Limits {
	return Limits{MaxFrames: defaultFrames, MaxFrameBytes: defaultFrame, MaxTotalBytes: defaultTotal}
}

// normalize replaces unset fields by their defaults.
func (l Limits) normalize() Limits {
	d := DefaultLimits()
	if l.MaxFrames <= 0 {
		l.MaxFrames = d.MaxFrames
	}
	if l.MaxFrameBytes <= 0 {
		l.MaxFrameBytes = d.MaxFrameBytes
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = d.MaxTotalBytes
	}
	return l
}
