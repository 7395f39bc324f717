package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/testkit"
)

// clip is a clip of ../shared/data/active played as the camera, the
// challenges the server fixes for it (--test-fixed-challenges) and the
// verdict the page must show.
type clip struct {
	name       string
	challenges string
	success    bool    // SUCCESS; false: anything but SUCCESS
	lead       float64 // seconds the first frame is held before the clip
}

// clips are the browser test's cases; FACELAMBDA_BROWSER_CLIPS replaces
// them ("lp_d18:BLINK:success;zb_fake:TURN_LEFT:fail[:lead seconds]"; a
// clip may be an absolute path to a folder of JPEG frames).
// The moves are those annotated in
// internal/tools/evaluation/testdata/active/annotations.tsv. The camera
// starts at the clip's first frame when the page opens it; the page shows
// "get ready" (up to 2 s) and then each challenge for about 3 s, so the
// moves must fall after that and in the clip's first 2 + 3n seconds.
var clips = []clip{
	// A real person, frontal and still (frames 1-20), blinking at 32-33
	// (3.2 s, inside the capture of one challenge: about 1.5 to 4.5 s).
	{name: "lp_d18", challenges: "BLINK", success: true},
	// The webcam subject of zb_real replayed on a feature-phone screen held
	// before the camera, the real person also in view.
	{name: "zb_fake", challenges: "TURN_LEFT", success: false},
	// A still webcam subject replayed on a phone (2.6 s, looped).
	{name: "ls_fake", challenges: "TURN_LEFT", success: false},
}

// envClips parses FACELAMBDA_BROWSER_CLIPS.
func envClips(t *testing.T, v string) []clip {
	t.Helper()
	var out []clip
	for item := range strings.SplitSeq(v, ";") {
		f := strings.Split(strings.TrimSpace(item), ":")
		require.True(t, len(f) == 3 || len(f) == 4, "FACELAMBDA_BROWSER_CLIPS item %q: clip:CHALLENGES:success|fail[:lead]", item)
		c := clip{name: f[0], challenges: f[1], success: f[2] == "success"}
		if len(f) == 4 {
			var err error
			c.lead, err = strconv.ParseFloat(f[3], 64)
			require.NoError(t, err, item)
		}
		out = append(out, c)
	}
	return out
}

// TestBrowserLiveness runs the whole liveness loop in headless Chromium:
// `facelambda serve` with the clip's challenges fixed, the integrator's
// backend making a session and a client token with the API key, the page
// (/web/liveness.html) started from the keyboard with a camera that plays
// a real clip, and the verdict it shows: SUCCESS for the bona fide clip,
// anything else for the replay. It skips without Chromium, ffmpeg or
// ../shared (`make e2e-deps` installs the first two). Screenshots of each
// step go to $FACELAMBDA_BROWSER_SHOTS (else a temporary folder); the log
// names them.
func TestBrowserLiveness(t *testing.T) {
	chrome := tool(t, "FACELAMBDA_CHROMIUM", "chromium", "chromium-browser", "google-chrome")
	ffmpeg := tool(t, "FACELAMBDA_FFMPEG", "ffmpeg")
	active := testkit.Shared(t, "data", "active")
	if _, err := os.Stat(testkit.Path(t, "web")); err != nil {
		t.Skipf("page not built: this tree has no web/ (the capture page's sources): %v", err)
	}
	shots := os.Getenv("FACELAMBDA_BROWSER_SHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(shots, 0o755))
	cases := clips
	if v := os.Getenv("FACELAMBDA_BROWSER_CLIPS"); v != "" {
		cases = envClips(t, v)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := c.name
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(active, c.name)
			}
			camera := fakeCamera(t, ffmpeg, dir, 10, c.lead)
			srv := startServer(t, "--test-fixed-challenges", c.challenges)
			require.Equal(t, http.StatusOK, srv.get(t, "/web/liveness.html"), "the server serves the page")
			id, token := srv.session(t)
			page := srv.url + "/web/liveness.html#session=" + id + "&token=" + token
			got := drive(t, chrome, camera, page, filepath.Join(shots, filepath.Base(c.name)))

			require.Equal(t, "done", got.state, "the page ended in %q (error code %q, prompt %q); states %v; console:\n%s",
				got.state, got.errorCode, got.prompt, got.states, got.console)
			assert.Equal(t, strings.Split(c.challenges, ","), got.challenges, "the page asked for the challenges in order")
			for i, p := range got.prompts {
				assert.NotEmpty(t, strings.TrimSpace(p), "prompt of challenge %d", i)
			}
			// What the integrator's backend reads with its API key.
			var params struct {
				Type       string   `json:"type"`
				Challenges []string `json:"challenges"`
			}
			srv.call(t, http.MethodGet, "/v2/bio-sessions/"+id+"/liveness-parameters", nil, http.StatusOK, &params)
			assert.Equal(t, strings.Split(c.challenges, ","), params.Challenges, "the fixed challenges")
			var res struct {
				LivenessStatus string  `json:"livenessStatus"`
				Diagnostic     *string `json:"diagnostic"`
				Challenges     []struct {
					Action string `json:"action"`
					Met    bool   `json:"met"`
				} `json:"challenges"`
			}
			srv.call(t, http.MethodGet, "/v2/bio-sessions/"+id+"/liveness-challenge-result/LIVENESS_"+params.Type, nil, http.StatusOK, &res)
			t.Logf("%s: page %q, service %q diagnostic %v, steps %+v", c.name, got.status, res.LivenessStatus, deref(res.Diagnostic), res.Challenges)
			srv.saveRecording(t, id, filepath.Join(shots, filepath.Base(c.name)+"-capture.zip"))
			assert.Equal(t, res.LivenessStatus, got.status, "the page shows the service's verdict")
			if c.success {
				assert.Equal(t, "SUCCESS", got.status, "bona fide clip %s", c.name)
			} else {
				assert.NotEmpty(t, got.status)
				assert.NotEqual(t, "SUCCESS", got.status, "replay clip %s", c.name)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// outcome is what the page showed.
type outcome struct {
	state, status, errorCode, prompt string
	// states are the page's steps in order ("challenge TURN_LEFT" for a
	// challenge), with the time since #start.
	states []string
	// challenges are the challenges the page asked for, in order, and
	// prompts what it said for each.
	challenges, prompts []string
	console             string
}

// pageState reads the page's step, challenge and prompt.
type pageState struct {
	State     string `json:"state"`
	Challenge string `json:"challenge"`
	Prompt    string `json:"prompt"`
	Status    string `json:"status"`
	Code      string `json:"code"`
}

const readState = `(() => {
	const q = s => document.querySelector(s);
	return {state: document.body.dataset.state || "", challenge: document.body.dataset.challenge || "",
		prompt: (q("#prompt") || {}).textContent || "", status: (q("#result") || {dataset: {}}).dataset.status || "",
		code: (q("#error") || {dataset: {}}).dataset.code || ""};
})()`

// browser starts headless Chromium, whose camera plays the Y4M file camera,
// until the test ends; its context ends after limit. The console collects
// what the page logs.
func browser(t *testing.T, chrome, camera string, limit time.Duration) (context.Context, *syncBuffer) {
	t.Helper()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chrome), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(720, 960),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true), chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-video-capture", camera))
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	require.NoError(t, chromedp.Do(bctx), "start %s", chrome)
	console := &syncBuffer{}
	msgs := chromedp.Console(bctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			fmt.Fprintln(console, m)
		}
	}()
	ctx, cancelRun := context.WithTimeout(bctx, limit)
	t.Cleanup(cancelRun)
	return ctx, console
}

// drive opens page in headless Chromium whose camera plays camera, starts
// the capture from the keyboard and follows the page's steps to done or
// error, with a screenshot (shots-NN-step.png) of each step.
func drive(t *testing.T, chrome, camera, page, shots string) outcome {
	t.Helper()
	// A bound for a page that hangs, not a timing assertion: the loop
	// takes about 2 + 3n seconds of capture plus the analysis.
	ctx, console := browser(t, chrome, camera, 90*time.Second)

	n := 0
	shot := func(step string) {
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if !assert.NoError(t, err, "screenshot %s", step) {
			return
		}
		n++
		p := fmt.Sprintf("%s-%02d-%s.png", shots, n, strings.ReplaceAll(step, " ", "-"))
		require.NoError(t, os.WriteFile(p, b, 0o644))
		t.Logf("screenshot %s: %s", step, p)
	}
	read := func() (pageState, error) { return chromedp.Run(ctx, chromedp.Evaluate[pageState](readState)) }

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(page)))
	var out outcome
	s := waitFor(t, ctx, read, console, func(s pageState) bool { return s.State != "" })
	require.Equal(t, "idle", s.State, "the page starts idle (before the camera)")
	shot("idle")
	// The camera's clip starts when the page opens the camera, which it
	// does only on #start: pressed from the keyboard.
	require.NoError(t, chromedp.Do(ctx, chromedp.Focus("#start"), chromedp.KeyEvent("\r")))
	start := time.Now()
	last := ""
	waitFor(t, ctx, read, console, func(s pageState) bool {
		step := strings.TrimSpace(s.State + " " + s.Challenge)
		if s.State != "challenge" {
			step = s.State
		}
		if step != last {
			last = step
			out.states = append(out.states, fmt.Sprintf("%s@%.1fs", step, time.Since(start).Seconds()))
			t.Logf("%5.1fs %s: %q", time.Since(start).Seconds(), step, s.Prompt)
			if s.State == "challenge" {
				out.challenges = append(out.challenges, s.Challenge)
				out.prompts = append(out.prompts, s.Prompt)
			}
			switch s.State {
			case "ready", "challenge", "waiting":
				shot(step)
			}
		}
		out.state, out.status, out.errorCode, out.prompt = s.State, s.Status, s.Code, s.Prompt
		return (s.State == "done" && s.Status != "") || s.State == "error"
	})
	shot(out.state)
	out.console = console.String()
	return out
}

// waitFor reads the page every 100 ms until ok holds, failing the test,
// with the page's console, when ctx ends first.
func waitFor(t *testing.T, ctx context.Context, read func() (pageState, error), console *syncBuffer, ok func(pageState) bool) pageState {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var s pageState
	for {
		var err error
		if s, err = read(); err == nil && ok(s) {
			return s
		}
		select {
		case <-ctx.Done():
			require.FailNow(t, "the page did not get there", "%v (last read: %v); last state %+v; console:\n%s", ctx.Err(), err, s, console.String())
		case <-tick.C:
		}
	}
}
