package browsertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

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
