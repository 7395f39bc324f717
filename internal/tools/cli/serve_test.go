package cli

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeTimeouts: `facelambda serve` drops a connection that stalls its
// request body (read timeout) and one that stays idle after a response
// (idle timeout), where it used to hold both open for ever.
func TestServeTimeouts(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data"),
			"--read-timeout", "300ms", "--idle-timeout", "300ms"}, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err, "serve did not start (run `make layers`)")
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	_, addr, ok := strings.Cut(strings.Fields(line)[3], "://")
	require.True(t, ok, line)

	// closed reports whether the server ends the connection before the
	// client gives up (20 s).
	closed := func(conn net.Conn) bool {
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(20*time.Second)))
		_, err := io.Copy(io.Discard, conn)
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}

	stalled, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer stalled.Close()
	_, err = io.WriteString(stalled, "POST /v2/bio-sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	require.NoError(t, err)
	assert.True(t, closed(stalled), "a stalled body is cut off")

	idle, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer idle.Close()
	_, err = io.WriteString(idle, "GET /v2/monitor HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	r := bufio.NewReader(idle)
	status, err := r.ReadString('\n')
	require.NoError(t, err)
	assert.Contains(t, status, "200")
	assert.True(t, closed(idle), "an idle connection is closed")
}
