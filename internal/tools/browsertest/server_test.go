package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/tools/cli"
)

// server is `facelambda serve` run in-process on a free port with a fresh
// data folder: its URL and the first API key it printed.
type server struct {
	url, key string
	stderr   *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs `facelambda serve` with extra flags until the test ends.
func startServer(t *testing.T, flags ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &server{stderr: &syncBuffer{}}
	done := make(chan int, 1)
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data")}, flags...)
	go func() {
		done <- cli.Run(ctx, args, pw, s.stderr)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	// serve prints "facelambda listening on http://ADDR (store DIR)", then
	// the first API key alone on the line after "first API key ...".
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		line := lines.Text()
		if rest, ok := strings.CutPrefix(line, "facelambda listening on "); ok {
			s.url, _, _ = strings.Cut(rest, " ")
		}
		if strings.HasPrefix(line, "first API key") && lines.Scan() {
			s.key = strings.TrimSpace(lines.Text())
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	require.NotEmpty(t, s.key, "facelambda serve did not start (run `make layers`): %s", s.stderr.String())
	require.NotEmpty(t, s.url)
	return s
}

// call sends a JSON request with the API key (the integrator's backend) and
// decodes the answer into out; it fails the test on another status.
func (s *server) call(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, rd)
	require.NoError(t, err)
	req.Header.Set("apikey", s.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, want, res.StatusCode, "%s %s: %s", method, path, b)
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out), "%s %s: %s", method, path, b)
	}
}

// session plays the integrator's backend: a bio-session and a client token
// for it, as the page receives them.
func (s *server) session(t *testing.T) (id, token string) {
	t.Helper()
	var sess struct {
		ID string `json:"id"`
	}
	s.call(t, http.MethodPost, "/v2/bio-sessions", map[string]any{}, http.StatusCreated, &sess)
	require.NotEmpty(t, sess.ID)
	var tok struct {
		Token string `json:"token"`
	}
	s.call(t, http.MethodPost, "/v2/bio-sessions/"+sess.ID+"/client-token", map[string]any{}, http.StatusCreated, &tok)
	require.True(t, strings.HasPrefix(tok.Token, "flct_"), tok.Token)
	return sess.ID, tok.Token
}

// get answers the status of GET path (no credentials).
func (s *server) get(t *testing.T, path string) int {
	t.Helper()
	res, err := http.Get(s.url + path)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

// saveRecording writes the capture the page sent (the session's recording,
// a zip of the frames) to path, for a look at what the analysis saw.
func (s *server) saveRecording(t *testing.T, id, path string) {
	t.Helper()
	var rec struct {
		URL string `json:"url"`
	}
	s.call(t, http.MethodGet, "/v2/bio-sessions/"+id+"/recording", nil, http.StatusOK, &rec)
	u := rec.URL
	if strings.HasPrefix(u, "/") {
		u = s.url + u
	}
	res, err := http.Get(u)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, u)
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
	t.Logf("the capture the page sent: %s (%d bytes)", path, len(b))
}

// TestServeFixedChallenges: `facelambda serve --test-fixed-challenges`
// gives every attempt the listed challenges, whatever nbChallenge asks;
// without the flag they are drawn.
func TestServeFixedChallenges(t *testing.T) {
	for _, tc := range []struct {
		flags []string
		want  []string
	}{
		{flags: []string{"--test-fixed-challenges", "TURN_LEFT,BLINK"}, want: []string{"TURN_LEFT", "BLINK"}},
		{flags: []string{"--test-fixed-challenges", "look_down"}, want: []string{"LOOK_DOWN"}},
		{},
	} {
		t.Run(fmt.Sprint(tc.flags), func(t *testing.T) {
			s := startServer(t, tc.flags...)
			for range 2 {
				id, _ := s.session(t)
				var p struct {
					NbChallenge int      `json:"nbChallenge"`
					Challenges  []string `json:"challenges"`
				}
				s.call(t, http.MethodPost, "/v2/bio-sessions/"+id+"/init-liveness-parameters",
					map[string]any{"nbChallenge": 4}, http.StatusOK, &p)
				if tc.want == nil {
					assert.Len(t, p.Challenges, 4, "drawn")
					continue
				}
				assert.Equal(t, tc.want, p.Challenges)
				assert.Equal(t, len(tc.want), p.NbChallenge)
			}
		})
	}
}
