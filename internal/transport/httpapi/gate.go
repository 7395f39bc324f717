package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/facelambda/facelambda/internal/core/fault"
)

// Gate bounds the image work a long-running server does at once: a decoded
// 40-megapixel image takes hundreds of megabytes, so unbounded concurrent
// uploads exhaust memory. A request over the bound waits up to Wait for a
// slot, then gets 503 SERVER_BUSY with Retry-After. (In Lambda each
// instance serves one request at a time: no gate is needed.)
type Gate struct {
	slots chan struct{}
	wait  time.Duration
}

// NewGate returns a gate of n concurrent requests (at least 1) that lets a
// request wait up to wait for a slot.
func NewGate(n int, wait time.Duration) *Gate {
	return &Gate{slots: make(chan struct{}, max(n, 1)), wait: wait}
}

// imageRoutes are the routes that decode images or captures.
var imageRoutes = map[string]bool{
	"POST /v2/faces":                                      true,
	"POST /v2/bio-sessions/{id}/faces":                    true,
	"GET /v2/bio-sessions/{id}/faces/{faceId}/image":      true,
	"POST /v2/match/images":                               true,
	"POST /v2/match":                                      true,
	"POST /v2/enroll/{classId}":                           true,
	"POST /v2/verify/{classId}":                           true,
	"POST /v2/galleries/{name}/identify":                  true,
	"POST /v2/liveness":                                   true,
	"POST /v2/bio-sessions/{id}/liveness-capture":         true,
	"POST /v2/bio-sessions/{id}/replay-liveness-metadata": true,
}

// enter takes a slot for a request of route pattern, waiting up to the
// gate's wait; release gives it back. ok is false when no slot came free:
// the request was answered with 503.
func (g *Gate) enter(w http.ResponseWriter, r *http.Request, pattern string) (release func(), ok bool) {
	if g == nil || !imageRoutes[pattern] {
		return func() {}, true
	}
	release = func() { <-g.slots }
	select {
	case g.slots <- struct{}{}:
		return release, true
	default:
	}
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return release, true
	case <-t.C:
	case <-r.Context().Done():
	}
	retry := max(int(g.wait.Round(time.Second)/time.Second), 1)
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	WriteError(w, r, fault.Newf(fault.CodeBusy,
		"the server is at its bound of %d concurrent image requests: retry in %d s", cap(g.slots), retry))
	return nil, false
}
