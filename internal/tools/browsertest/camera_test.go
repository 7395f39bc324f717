package browsertest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tool is the path of a command the browser test needs, from the
// environment variable env when set, else the first of names on PATH; the
// test is skipped, saying so, when there is none.
func tool(t *testing.T, env string, names ...string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Skipf("%s not found on PATH (or $%s): `make e2e-deps` installs it (Debian package %s)", names[0], env, names[0])
	return ""
}

// fakeCamera writes the clip's JPEG frames (a folder of ../shared/data/active)
// as a Y4M video at fps frames a second, the format Chromium's
// --use-file-for-fake-video-capture plays: 4:2:0, so the sides are padded to
// even sizes. The video holds the first frame for lead seconds before the
// clip (0: none).
func fakeCamera(t *testing.T, ffmpeg, clipDir string, fps int, lead float64) string {
	t.Helper()
	frames, err := filepath.Glob(filepath.Join(clipDir, "*.jpg"))
	require.NoError(t, err)
	require.NotEmpty(t, frames, "no JPEG frames in %s", clipDir)
	out := filepath.Join(t.TempDir(), filepath.Base(clipDir)+".y4m")
	filter := "pad=ceil(iw/2)*2:ceil(ih/2)*2,format=yuv420p"
	if lead > 0 {
		filter = "tpad=start_mode=clone:start_duration=" + strconv.FormatFloat(lead, 'f', -1, 64) + "," + filter
	}
	cmd := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
		"-framerate", strconv.Itoa(fps), "-pattern_type", "glob", "-i", filepath.Join(clipDir, "*.jpg"),
		"-vf", filter, "-r", strconv.Itoa(fps), "-f", "yuv4mpegpipe", out)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s: %s", cmd, b)
	return out
}

// counterY4M writes a Y4M video of n frames at 10 fps whose frame i is
// one grey level, 16 + 7i (limited range), so a page can tell which frame
// the camera shows.
func counterY4M(t *testing.T, n int) string {
	t.Helper()
	const side = 64
	var b []byte
	b = append(b, "YUV4MPEG2 W64 H64 F10:1 Ip A1:1 C420jpeg\n"...)
	for i := range n {
		b = append(b, "FRAME\n"...)
		b = append(b, bytes.Repeat([]byte{byte(16 + 7*i)}, side*side)...)
		b = append(b, bytes.Repeat([]byte{128}, side*side/2)...)
	}
	p := filepath.Join(t.TempDir(), "counter.y4m")
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

// counterPage opens the camera when openCamera() is called and records the
// frame number the video shows every 50 ms for 6 s in window.seen, then sets
// window.done.
const counterPage = `<!doctype html><video id=v muted playsinline></video><canvas id=c width=64 height=64></canvas><script>
window.seen = []; window.done = false;
window.openCamera = async () => {
	const v = document.getElementById("v");
	v.srcObject = await navigator.mediaDevices.getUserMedia({video: true});
	await v.play();
	const c = document.getElementById("c").getContext("2d", {willReadFrequently: true});
	const end = performance.now() + 6000;
	const tick = () => {
		c.drawImage(v, 0, 0, 64, 64);
		window.seen.push(Math.round(c.getImageData(32, 32, 1, 1).data[0] / (255 / 219 * 7)));
		if (performance.now() < end) { setTimeout(tick, 50); } else { window.done = true; }
	};
	tick();
};
</script>`

// TestBrowserFakeCamera checks what the clip timing of TestBrowserLiveness
// rests on: Chromium's file camera plays the video from its first frame
// when a page opens the camera (not from when the browser started), in
// order, and loops to the first frame after the last.
func TestBrowserFakeCamera(t *testing.T) {
	chrome := tool(t, "FACELAMBDA_CHROMIUM", "chromium", "chromium-browser", "google-chrome")
	const frames = 30
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, counterPage)
	}))
	defer srv.Close()
	ctx, console := browser(t, chrome, counterY4M(t, frames), 60*time.Second)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL),
		// Longer than the video: a camera started with the browser would be
		// past its first loop by now.
		chromedp.Sleep(4*time.Second),
		chromedp.Evaluate[chromedp.Void]("openCamera()")))
	_, err := chromedp.Run(ctx, chromedp.Poll[bool]("window.done", chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "console:\n%s", console.String())
	seen, err := chromedp.Run(ctx, chromedp.Evaluate[[]int]("window.seen"))
	require.NoError(t, err)
	t.Logf("frames seen every 50 ms: %v", seen)
	require.NotEmpty(t, seen)
	// The video plays while the page starts its <video>: a frame or three
	// (a camera started with the browser would show frame 10 or so).
	assert.LessOrEqual(t, seen[0], 3, "the first frame shown is near the video's first")
	loops := 0
	for i := 1; i < len(seen); i++ {
		if seen[i] >= seen[i-1] {
			continue
		}
		// Back to the first frame, from the last ones only.
		loops++
		assert.GreaterOrEqual(t, seen[i-1], frames-2, "the whole video played before the loop (at %d)", i)
		assert.LessOrEqual(t, seen[i], 1, "the loop starts again at the first frame (at %d)", i)
	}
	assert.Positive(t, loops, "the 3 s video loops within 6 s")
}
