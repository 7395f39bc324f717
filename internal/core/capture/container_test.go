package capture

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuildParseRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frames int
		size   int
		noDev  bool
	}{
		{"one frame", 1, 2, false},
		{"thirty frames", 30, 5000, false},
		{"no device info", 3, 100, true},
		{"max frames", 150, 64, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testManifest(tc.frames)
			if tc.noDev {
				m.DeviceInfo = nil
			}
			frames := testFrames(tc.frames, tc.size)
			archive, err := Build(m, frames)
			require.NoError(t, err)

			c, err := Parse(archive, DefaultLimits())
			require.NoError(t, err)
			assert.Equal(t, m, c.Manifest)
			require.Len(t, c.Frames, tc.frames)
			for i, f := range c.Frames {
				assert.Equal(t, time.Duration(i)*66*time.Millisecond, f.Time, "frame %d", i)
				assert.Equal(t, frames[i], f.Data, "frame %d", i)
			}
		})
	}
}

func TestBuildMethods(t *testing.T) {
	archive, err := Build(testManifest(2), testFrames(2, 100))
	require.NoError(t, err)
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	require.NoError(t, err)
	methods := map[string]uint16{}
	for _, f := range zr.File {
		methods[f.Name] = f.Method
	}
	assert.Equal(t, map[string]uint16{ManifestName: zip.Deflate, "000.jpg": zip.Store, "001.jpg": zip.Store}, methods)
}

func TestBuildRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(*Manifest, *[][]byte)
		errMsg string
	}{
		{"frame count", func(_ *Manifest, f *[][]byte) { *f = (*f)[:1] }, "1 frames for 2"},
		{"not a JPEG", func(_ *Manifest, f *[][]byte) { (*f)[1] = []byte("GIF89a") }, "frame 001.jpg is not a JPEG"},
		{"version", func(m *Manifest, _ *[][]byte) { m.Version = 2 }, "version 2"},
		{"bad name", func(m *Manifest, _ *[][]byte) { m.Frames[0].File = "../x.jpg" }, "bad file name"},
		{"no session", func(m *Manifest, _ *[][]byte) { m.SessionID = "" }, "sessionId"},
		{"times", func(m *Manifest, _ *[][]byte) { m.Frames[1].T = 0 }, "not after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, frames := testManifest(2), testFrames(2, 10)
			tc.edit(&m, &frames)
			_, err := Build(m, frames)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.errMsg)
		})
	}
}

// manifestJSON returns the JSON of a two-frame manifest with fields
// overridden (a nil value deletes the field).
func manifestJSON(t *testing.T, override map[string]any) string {
	t.Helper()
	m := map[string]any{
		"version":      1,
		"sessionId":    "s1",
		"serverRandom": "r1",
		"frames":       []any{map[string]any{"file": "000.jpg", "t": 0}, map[string]any{"file": "001.jpg", "t": 66}},
		"deviceInfo":   map[string]any{"osType": "iOS", "osVersion": "17.4", "deviceModel": "iPhone15,2"},
	}
	for k, v := range override {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	js, err := json.Marshal(m)
	require.NoError(t, err)
	return string(js)
}

func frameList(refs ...any) []any {
	var out []any
	for i := 0; i < len(refs); i += 2 {
		out = append(out, map[string]any{"file": refs[i], "t": refs[i+1]})
	}
	return out
}

func TestParseRefuses(t *testing.T) {
	j0, j1 := entry{name: "000.jpg", data: fakeJPEG(100, 1)}, entry{name: "001.jpg", data: fakeJPEG(100, 2)}
	good := manifestJSON(t, nil)
	with := func(override map[string]any, entries ...entry) []byte {
		return rawZip(t, append([]entry{manifestEntry(manifestJSON(t, override))}, entries...)...)
	}
	small := Limits{MaxFrames: 2, MaxFrameBytes: 150, MaxTotalBytes: 1000}
	smallTotal := Limits{MaxFrames: 2, MaxFrameBytes: 150, MaxTotalBytes: 200}
	var many []entry
	for i := range 4 {
		many = append(many, entry{name: fmt.Sprintf("%03d.jpg", i), data: fakeJPEG(10, 0)})
	}
	deflated := func(e entry) entry { e.method = zip.Deflate; return e }

	for _, tc := range []struct {
		name    string
		archive []byte
		lim     Limits
		want    error
		msg     string
	}{
		{"empty input", nil, Limits{}, ErrInvalid, "not a ZIP"},
		{"not a zip", []byte("PK\x03\x04 definitely not a zip archive"), Limits{}, ErrInvalid, "not a ZIP"},
		{"no manifest", rawZip(t, j0, j1), Limits{}, ErrInvalid, "no capture.json"},
		{"duplicate manifest", rawZip(t, manifestEntry(good), manifestEntry(good), j0, j1), Limits{}, ErrInvalid, "appears twice"},
		{"duplicate frame entry", rawZip(t, manifestEntry(good), j0, j1, j1), Limits{}, ErrInvalid, "appears twice"},
		{"bad JSON", rawZip(t, manifestEntry(`{"version":1,`), j0, j1), Limits{}, ErrInvalid, "manifest"},
		{"JSON array", rawZip(t, manifestEntry(`[1]`), j0, j1), Limits{}, ErrInvalid, "manifest"},
		{"trailing JSON", rawZip(t, manifestEntry(good+"{}"), j0, j1), Limits{}, ErrInvalid, "data after"},
		{"unknown field", with(map[string]any{"extra": true}, j0, j1), Limits{}, ErrInvalid, "unknown field"},
		{"unknown device field", with(map[string]any{"deviceInfo": map[string]any{"imei": "1"}}, j0, j1), Limits{}, ErrInvalid, "unknown field"},
		{"manifest too large", rawZip(t, manifestEntry(good+strings.Repeat(" ", MaxManifestBytes)), j0, j1), Limits{}, ErrTooLarge, "capture.json"},
		{"version 2", with(map[string]any{"version": 2}, j0, j1), Limits{}, ErrInvalid, "version 2"},
		{"no version", with(map[string]any{"version": nil}, j0, j1), Limits{}, ErrInvalid, "version 0"},
		{"no frames", with(map[string]any{"frames": []any{}}), Limits{}, ErrInvalid, "no frames"},
		{"null frames", with(map[string]any{"frames": nil}), Limits{}, ErrInvalid, "no frames"},
		{"too many frames", with(map[string]any{"frames": frameList("000.jpg", 0, "001.jpg", 1, "002.jpg", 2)}, many[:2]...), Limits{MaxFrames: 2}, ErrTooLarge, "3 frames"},
		{"too many entries", with(nil, many...), Limits{MaxFrames: 2}, ErrTooLarge, "entries"},
		{"empty session", with(map[string]any{"sessionId": ""}, j0, j1), Limits{}, ErrInvalid, "sessionId"},
		{"no session", with(map[string]any{"sessionId": nil}, j0, j1), Limits{}, ErrInvalid, "sessionId"},
		{"long session", with(map[string]any{"sessionId": strings.Repeat("s", 257)}, j0, j1), Limits{}, ErrInvalid, "sessionId"},
		{"NUL in session", with(map[string]any{"sessionId": "a\x00b"}, j0, j1), Limits{}, ErrInvalid, "control"},
		{"empty server random", with(map[string]any{"serverRandom": ""}, j0, j1), Limits{}, ErrInvalid, "serverRandom"},
		{"long server random", with(map[string]any{"serverRandom": strings.Repeat("r", 257)}, j0, j1), Limits{}, ErrInvalid, "serverRandom"},
		{"long device model", with(map[string]any{"deviceInfo": map[string]any{"deviceModel": strings.Repeat("x", 129)}}, j0, j1), Limits{}, ErrInvalid, "deviceModel"},
		{"path name", with(map[string]any{"frames": frameList("000.jpg", 0, "../001.jpg", 66)}, j0, entry{name: "../001.jpg", data: fakeJPEG(9, 0)}), Limits{}, ErrInvalid, "bad file name"},
		{"dir name", with(map[string]any{"frames": frameList("000.jpg", 0, "d/001.jpg", 66)}, j0, entry{name: "d/001.jpg", data: fakeJPEG(9, 0)}), Limits{}, ErrInvalid, "bad file name"},
		{"empty name", with(map[string]any{"frames": frameList("000.jpg", 0, "", 66)}, j0), Limits{}, ErrInvalid, "bad file name"},
		{"dot dot name", with(map[string]any{"frames": frameList("000.jpg", 0, "..", 66)}, j0), Limits{}, ErrInvalid, "bad file name"},
		{"manifest as frame", with(map[string]any{"frames": frameList("000.jpg", 0, "capture.json", 66)}, j0), Limits{}, ErrInvalid, "bad file name"},
		{"space in name", with(map[string]any{"frames": frameList("000.jpg", 0, "0 1.jpg", 66)}, j0), Limits{}, ErrInvalid, "bad file name"},
		{"unicode name", with(map[string]any{"frames": frameList("000.jpg", 0, "é.jpg", 66)}, j0), Limits{}, ErrInvalid, "bad file name"},
		{"long name", with(map[string]any{"frames": frameList("000.jpg", 0, strings.Repeat("a", 65), 66)}, j0), Limits{}, ErrInvalid, "bad file name"},
		{"duplicate name", with(map[string]any{"frames": frameList("000.jpg", 0, "000.jpg", 66)}, j0), Limits{}, ErrInvalid, "listed twice"},
		{"missing frame", with(nil, j0), Limits{}, ErrInvalid, "001.jpg is missing"},
		{"unlisted entry", with(nil, j0, j1, entry{name: "extra.txt", data: []byte("x")}), Limits{}, ErrInvalid, "not listed"},
		{"unlisted directory", with(nil, j0, j1, entry{name: "frames/"}), Limits{}, ErrInvalid, "not listed"},
		{"negative time", with(map[string]any{"frames": frameList("000.jpg", -1, "001.jpg", 66)}, j0, j1), Limits{}, ErrInvalid, "out of"},
		{"equal times", with(map[string]any{"frames": frameList("000.jpg", 5, "001.jpg", 5)}, j0, j1), Limits{}, ErrInvalid, "not after"},
		{"decreasing times", with(map[string]any{"frames": frameList("000.jpg", 66, "001.jpg", 0)}, j0, j1), Limits{}, ErrInvalid, "not after"},
		{"fractional time", with(map[string]any{"frames": frameList("000.jpg", 0, "001.jpg", 66.5)}, j0, j1), Limits{}, ErrInvalid, "manifest"},
		{"string time", with(map[string]any{"frames": frameList("000.jpg", 0, "001.jpg", "66")}, j0, j1), Limits{}, ErrInvalid, "manifest"},
		{"huge time", with(map[string]any{"frames": frameList("000.jpg", 0, "001.jpg", int64(1)<<62)}, j0, j1), Limits{}, ErrInvalid, "out of"},
		{"not a JPEG", with(nil, j0, entry{name: "001.jpg", data: []byte("\x89PNG\r\n")}), Limits{}, ErrInvalid, "frame 001.jpg is not a JPEG"},
		{"empty frame", with(nil, j0, entry{name: "001.jpg"}), Limits{}, ErrInvalid, "frame 001.jpg is not a JPEG"},
		{"frame too large", with(nil, j0, entry{name: "001.jpg", data: fakeJPEG(151, 0)}), small, ErrTooLarge, "001.jpg"},
		{"total too large", with(nil, j0, entry{name: "001.jpg", data: fakeJPEG(150, 0)}), smallTotal, ErrTooLarge, "in total"},
		{"archive too large", with(nil, j0, entry{name: "001.jpg", data: fakeJPEG(zipOverhead, 0)}), smallTotal, ErrTooLarge, "archive"},
		{"bzip2 entry", with(nil, j0, entry{name: "001.jpg", data: fakeJPEG(10, 0), method: 12}), Limits{}, ErrInvalid, "compression method 12"},
		{"bad CRC", with(nil, j0, entry{name: "001.jpg", data: fakeJPEG(10, 0), badCRC: true}), Limits{}, ErrInvalid, "checksum"},
		{"size understated", with(nil, j0, entry{name: "001.jpg", data: fakeJPEG(100, 0), declared: 50}), Limits{}, ErrInvalid, "size"},
		{"declared too large", with(nil, j0, entry{name: "001.jpg", data: fakeJPEG(10, 0), declared: 1 << 40}), Limits{}, ErrTooLarge, "declares"},
		{"deflated frame too large", with(nil, j0, deflated(entry{name: "001.jpg", data: fakeJPEG(151, 0), declared: 10})), small, ErrTooLarge, "exceeds"},
		{"corrupt deflate", rawZip(t, manifestEntry(good), j0, entry{name: "001.jpg", data: []byte{0xFF, 0xD8}, comp: []byte{0xFF, 0xFF, 0xFF}, method: zip.Deflate}), Limits{}, ErrInvalid, "001.jpg"},
		{"truncated deflate", rawZip(t, manifestEntry(good), j0, entry{name: "001.jpg", data: fakeJPEG(100, 0), comp: []byte{0x01, 0x64}, method: zip.Deflate}), Limits{}, ErrInvalid, "001.jpg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.archive, tc.lim)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, tc.want)
			other := ErrInvalid
			if tc.want == ErrInvalid {
				other = ErrTooLarge
			}
			assert.NotErrorIs(t, err, other)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestParseAccepts(t *testing.T) {
	j0, j1 := entry{name: "000.jpg", data: fakeJPEG(100, 1)}, entry{name: "001.jpg", data: fakeJPEG(100, 2)}
	for _, tc := range []struct {
		name    string
		archive []byte
		lim     Limits
	}{
		{"deflated frames", rawZip(t, manifestEntry(manifestJSON(t, nil)), entry{name: "001.jpg", data: j1.data, method: zip.Deflate}, entry{name: "000.jpg", data: j0.data, method: zip.Deflate}), Limits{}},
		{"stored manifest", rawZip(t, entry{name: ManifestName, data: []byte(manifestJSON(t, nil))}, j0, j1), Limits{}},
		{"no device info", rawZip(t, manifestEntry(manifestJSON(t, map[string]any{"deviceInfo": nil})), j0, j1), Limits{}},
		{"exact limits", rawZip(t, manifestEntry(manifestJSON(t, nil)), j0, j1), Limits{MaxFrames: 2, MaxFrameBytes: 100, MaxTotalBytes: 200}},
		{"odd but plain names", rawZip(t, manifestEntry(manifestJSON(t, map[string]any{"frames": frameList("A-b_c.JPEG", 0, ".hidden", 1)})), entry{name: "A-b_c.JPEG", data: j0.data}, entry{name: ".hidden", data: j1.data}), Limits{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.archive, tc.lim)
			require.NoError(t, err)
			require.Len(t, c.Frames, 2)
			assert.Equal(t, j0.data, c.Frames[0].Data)
			assert.Equal(t, j1.data, c.Frames[1].Data)
			assert.Less(t, c.Frames[0].Time, c.Frames[1].Time)
		})
	}
}

// TestParseZipBomb checks that an entry declaring a small size but
// inflating far past the frame limit is refused as too large.
func TestParseZipBomb(t *testing.T) {
	bomb := make([]byte, 5<<20) // 5 MiB of zeros deflate to about 5 KiB
	bomb[0], bomb[1] = 0xFF, 0xD8
	m := manifestJSON(t, map[string]any{"frames": frameList("000.jpg", 0)})
	archive := rawZip(t, manifestEntry(m), entry{name: "000.jpg", data: bomb, method: zip.Deflate, declared: 1000})
	require.Less(t, len(archive), 64<<10)

	_, err := Parse(archive, DefaultLimits())
	require.ErrorIs(t, err, ErrTooLarge)
	assert.Contains(t, err.Error(), "exceeds 4194304 bytes")
}

func TestDefaultLimits(t *testing.T) {
	assert.Equal(t, Limits{MaxFrames: 150, MaxFrameBytes: 4 << 20, MaxTotalBytes: 64 << 20}, DefaultLimits())
	assert.Equal(t, DefaultLimits(), Limits{}.normalize())
	assert.Equal(t, Limits{MaxFrames: 3, MaxFrameBytes: 4 << 20, MaxTotalBytes: 10}, Limits{MaxFrames: 3, MaxFrameBytes: -1, MaxTotalBytes: 10}.normalize())
}
