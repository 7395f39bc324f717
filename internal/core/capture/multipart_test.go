package capture

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// part is one part of a test multipart body.
type part struct {
	name, filename string
	data           []byte
	// disposition, when set, replaces the Content-Disposition header.
	disposition string
}

// multipartBody writes a multipart/form-data body and returns it with its
// boundary.
func multipartBody(t testing.TB, parts ...part) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		switch {
		case p.disposition != "":
			h.Set("Content-Disposition", p.disposition)
		case p.filename != "":
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.name, p.filename))
			h.Set("Content-Type", "image/jpeg")
		default:
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, p.name))
			h.Set("Content-Type", "application/json")
		}
		w, err := mw.CreatePart(h)
		require.NoError(t, err)
		_, err = w.Write(p.data)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	return buf.Bytes(), mw.Boundary()
}

func readBody(body []byte, boundary string, lim Limits) (*Capture, error) {
	return ReadMultipart(multipart.NewReader(bytes.NewReader(body), boundary), lim)
}

func metaPart(js string) part { return part{name: "metadata", data: []byte(js)} }

func framePart(name string, data []byte) part { return part{name: "frame", filename: name, data: data} }

func TestReadMultipartAccepts(t *testing.T) {
	f0, f1 := fakeJPEG(300, 1), fakeJPEG(200, 2)
	meta := metaPart(manifestJSON(t, nil))
	for _, tc := range []struct {
		name  string
		parts []part
		lim   Limits
	}{
		{"metadata first", []part{meta, framePart("000.jpg", f0), framePart("001.jpg", f1)}, Limits{}},
		{"metadata last", []part{framePart("000.jpg", f0), framePart("001.jpg", f1), meta}, Limits{}},
		{"frames reversed", []part{framePart("001.jpg", f1), meta, framePart("000.jpg", f0)}, Limits{}},
		{"exact limits", []part{meta, framePart("000.jpg", f0), framePart("001.jpg", f1)}, Limits{MaxFrames: 2, MaxFrameBytes: 300, MaxTotalBytes: 500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, boundary := multipartBody(t, tc.parts...)
			c, err := readBody(body, boundary, tc.lim)
			require.NoError(t, err)
			assert.Equal(t, "s1", c.Manifest.SessionID)
			assert.Equal(t, "r1", c.Manifest.ServerRandom)
			require.Len(t, c.Frames, 2)
			assert.Equal(t, Frame{Time: 0, Data: f0}, c.Frames[0])
			assert.Equal(t, Frame{Time: 66 * time.Millisecond, Data: f1}, c.Frames[1])
		})
	}
}

func TestReadMultipartMatchesParse(t *testing.T) {
	m, frames := testManifest(12), testFrames(12, 1000)
	archive, err := Build(m, frames)
	require.NoError(t, err)
	fromZip, err := Parse(archive, DefaultLimits())
	require.NoError(t, err)

	js := manifestJSONOf(t, m)
	parts := []part{}
	for i := len(frames) - 1; i >= 0; i-- {
		parts = append(parts, framePart(m.Frames[i].File, frames[i]))
	}
	body, boundary := multipartBody(t, append(parts, metaPart(js))...)
	fromBody, err := readBody(body, boundary, DefaultLimits())
	require.NoError(t, err)
	assert.Equal(t, fromZip, fromBody)
}

func TestReadMultipartRefuses(t *testing.T) {
	f0, f1 := framePart("000.jpg", fakeJPEG(100, 1)), framePart("001.jpg", fakeJPEG(100, 2))
	meta := metaPart(manifestJSON(t, nil))
	var tooMany []part
	for i := range 4 {
		tooMany = append(tooMany, framePart(fmt.Sprintf("%03d.jpg", i), fakeJPEG(10, 0)))
	}
	for _, tc := range []struct {
		name  string
		parts []part
		lim   Limits
		want  error
		msg   string
	}{
		{"no parts", nil, Limits{}, ErrInvalid, "no metadata"},
		{"no metadata", []part{f0, f1}, Limits{}, ErrInvalid, "no metadata"},
		{"metadata twice", []part{meta, f0, meta, f1}, Limits{}, ErrInvalid, "metadata part sent twice"},
		{"empty metadata twice", []part{metaPart(""), metaPart(""), f0, f1}, Limits{}, ErrInvalid, "metadata part sent twice"},
		{"metadata too large", []part{metaPart(strings.Repeat(" ", MaxManifestBytes+1)), f0, f1}, Limits{}, ErrTooLarge, "metadata"},
		{"bad JSON", []part{metaPart("{"), f0, f1}, Limits{}, ErrInvalid, "manifest"},
		{"unknown field", []part{metaPart(manifestJSON(t, map[string]any{"x": 1})), f0, f1}, Limits{}, ErrInvalid, "unknown field"},
		{"version 0", []part{metaPart(manifestJSON(t, map[string]any{"version": 0})), f0, f1}, Limits{}, ErrInvalid, "version 0"},
		{"unknown part", []part{meta, f0, f1, {name: "selfie", data: []byte("x")}}, Limits{}, ErrInvalid, `unexpected part "selfie"`},
		{"attachment disposition", []part{meta, f0, {disposition: `attachment; filename="001.jpg"`, data: fakeJPEG(9, 0)}}, Limits{}, ErrInvalid, "disposition"},
		{"bad disposition", []part{meta, f0, {disposition: `form-data; name=`, data: fakeJPEG(9, 0)}}, Limits{}, ErrInvalid, "Content-Disposition"},
		{"frame without filename", []part{meta, f0, {name: "frame", data: fakeJPEG(9, 0)}}, Limits{}, ErrInvalid, "bad filename"},
		{"path filename", []part{meta, f0, framePart("../001.jpg", fakeJPEG(9, 0))}, Limits{}, ErrInvalid, "bad filename"},
		{"windows path filename", []part{meta, f0, framePart(`C:\001.jpg`, fakeJPEG(9, 0))}, Limits{}, ErrInvalid, "bad filename"},
		{"frame twice", []part{meta, f0, f1, f1}, Limits{}, ErrInvalid, "001.jpg sent twice"},
		{"missing frame", []part{meta, f0}, Limits{}, ErrInvalid, "001.jpg is missing"},
		{"unlisted frame", []part{meta, f0, f1, framePart("002.jpg", fakeJPEG(9, 0))}, Limits{}, ErrInvalid, "not listed"},
		{"not a JPEG", []part{meta, f0, framePart("001.jpg", []byte("GIF89a"))}, Limits{}, ErrInvalid, "frame 001.jpg is not a JPEG"},
		{"empty frame", []part{meta, f0, framePart("001.jpg", nil)}, Limits{}, ErrInvalid, "frame 001.jpg is not a JPEG"},
		{"bad times", []part{metaPart(manifestJSON(t, map[string]any{"frames": frameList("000.jpg", 9, "001.jpg", 3)})), f0, f1}, Limits{}, ErrInvalid, "not after"},
		{"too many parts", append([]part{meta}, tooMany...), Limits{MaxFrames: 2}, ErrTooLarge, "parts"},
		{"too many frames", append([]part{metaPart(manifestJSON(t, map[string]any{"frames": frameList("000.jpg", 0, "001.jpg", 1, "002.jpg", 2)}))}, tooMany[:2]...), Limits{MaxFrames: 2}, ErrTooLarge, "3 frames"},
		{"frame too large", []part{meta, f0, framePart("001.jpg", fakeJPEG(101, 0))}, Limits{MaxFrameBytes: 100}, ErrTooLarge, "frame 001.jpg exceeds 100"},
		{"total too large", []part{meta, f0, f1}, Limits{MaxFrameBytes: 100, MaxTotalBytes: 199}, ErrTooLarge, "in total"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, boundary := multipartBody(t, tc.parts...)
			c, err := readBody(body, boundary, tc.lim)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestReadMultipartBrokenBody(t *testing.T) {
	body, boundary := multipartBody(t, metaPart(manifestJSON(t, nil)), framePart("000.jpg", fakeJPEG(5000, 1)), framePart("001.jpg", fakeJPEG(100, 2)))
	for _, tc := range []struct {
		name string
		r    io.Reader
		want error
	}{
		{"truncated", bytes.NewReader(body[:len(body)-200]), ErrInvalid},
		{"no closing boundary", bytes.NewReader(body[:bytes.LastIndex(body, []byte("--"+boundary))]), ErrInvalid},
		{"wrong boundary", bytes.NewReader(bytes.ReplaceAll(body, []byte(boundary), []byte("other"))), ErrInvalid},
		{"body limit", http.MaxBytesReader(nil, io.NopCloser(bytes.NewReader(body)), 3000), ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadMultipart(multipart.NewReader(tc.r, boundary), Limits{})
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

// manifestJSONOf returns the JSON of m.
func manifestJSONOf(t testing.TB, m Manifest) string {
	t.Helper()
	js, err := json.Marshal(m)
	require.NoError(t, err)
	return string(js)
}
