package capture

import (
	"archive/zip"
	"bytes"
	"errors"
	"mime/multipart"
	"testing"

	"github.com/stretchr/testify/require"
)

// fuzzLimits keeps fuzzed inputs from inflating to large sizes.
var fuzzLimits = Limits{MaxFrames: 8, MaxFrameBytes: 64 << 10, MaxTotalBytes: 256 << 10}

// checkCapture verifies the invariants of a capture a parser accepted,
// and that it survives a Build and Parse round trip.
func checkCapture(t *testing.T, c *Capture, lim Limits) {
	t.Helper()
	require.NotNil(t, c)
	require.Len(t, c.Frames, len(c.Manifest.Frames))
	require.LessOrEqual(t, len(c.Frames), lim.MaxFrames)
	var total int64
	frames := make([][]byte, len(c.Frames))
	for i, f := range c.Frames {
		require.GreaterOrEqual(t, len(f.Data), 2)
		require.Equal(t, []byte{0xFF, 0xD8}, f.Data[:2])
		require.LessOrEqual(t, int64(len(f.Data)), lim.MaxFrameBytes)
		require.Equal(t, frameTime(c.Manifest.Frames[i].T), f.Time)
		if i > 0 {
			require.Greater(t, f.Time, c.Frames[i-1].Time)
		}
		total += int64(len(f.Data))
		frames[i] = f.Data
	}
	require.LessOrEqual(t, total, lim.MaxTotalBytes)
	archive, err := Build(c.Manifest, frames)
	require.NoError(t, err)
	again, err := Parse(archive, lim)
	require.NoError(t, err)
	require.Equal(t, c, again)
}

// requireParseError checks that a parser error is one of the documented.
func requireParseError(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error wraps neither ErrInvalid nor ErrTooLarge: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	// Small seeds keep the fuzzer's minimization of new inputs quick.
	valid, err := Build(Manifest{Version: 1, SessionID: "s", ServerRandom: "r",
		Frames: []FrameRef{{File: "a", T: 0}, {File: "b", T: 66}}}, testFrames(2, 4))
	require.NoError(f, err)
	f.Add(valid)
	f.Add([]byte{})
	f.Add(valid[:len(valid)/2])
	f.Add(valid[:len(valid)-1])
	for _, i := range []int{10, 40, 80, len(valid) / 2, len(valid) - 30} {
		b := bytes.Clone(valid)
		b[i] ^= 0xFF
		f.Add(b)
	}
	// Deflated frames, and an entry inflating past its declared size.
	m := `{"version":1,"sessionId":"s","serverRandom":"r","frames":[{"file":"a","t":0},{"file":"b","t":1}]}`
	f.Add(rawZip(f, manifestEntry(m), entry{name: "a", data: fakeJPEG(300, 1), method: zip.Deflate}, entry{name: "b", data: fakeJPEG(9, 2)}))
	bomb := make([]byte, 100<<10)
	bomb[0], bomb[1] = 0xFF, 0xD8
	f.Add(rawZip(f, manifestEntry(m), entry{name: "a", data: bomb, method: zip.Deflate, declared: 10}, entry{name: "b", data: fakeJPEG(9, 2)}))

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, fuzzLimits)
		if err != nil {
			require.Nil(t, c)
			requireParseError(t, err)
			return
		}
		checkCapture(t, c, fuzzLimits)
	})
}

func FuzzReadMultipart(f *testing.F) {
	meta := `{"version":1,"sessionId":"s","serverRandom":"r","frames":[{"file":"a","t":0},{"file":"b","t":1}]}`
	body, boundary := multipartBody(f, framePart("b", fakeJPEG(30, 2)), metaPart(meta), framePart("a", fakeJPEG(20, 1)))
	f.Add(body, boundary)
	f.Add(body[:len(body)/2], boundary)
	f.Add(body, "x")
	f.Add([]byte{}, boundary)

	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		c, err := ReadMultipart(multipart.NewReader(bytes.NewReader(body), boundary), fuzzLimits)
		if err != nil {
			require.Nil(t, c)
			requireParseError(t, err)
			return
		}
		checkCapture(t, c, fuzzLimits)
	})
}

func FuzzOpen(f *testing.F) {
	priv, _ := testKeys(f)
	container := []byte("container")
	encMeta, encSecret, err := Seal(&priv.PublicKey, testSession, testRandom, container)
	require.NoError(f, err)
	f.Add(encMeta, encSecret, testSession, testRandom)
	f.Add(encMeta[:20], encSecret, testSession, testRandom)
	f.Add(encMeta, encSecret[:100], testSession, testRandom)
	f.Add(encMeta, encSecret, "other", testRandom)
	f.Add([]byte{}, []byte{}, "", "")

	f.Fuzz(func(t *testing.T, encMeta, encSecret []byte, session, random string) {
		got, err := Open(priv, session, random, encMeta, encSecret)
		if err != nil {
			require.Nil(t, got)
			if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error wraps neither ErrDecrypt nor ErrTooLarge: %v", err)
			}
			return
		}
		// Only the genuine sealed capture opens.
		require.Equal(t, container, got)
		require.Equal(t, testSession, session)
		require.Equal(t, testRandom, random)
	})
}
