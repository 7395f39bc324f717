package webhook_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/store/embedded"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/webhook"
)

// loopback allows the test receivers (httptest listens on 127.0.0.1).
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// testPolicy is the policy of tests that deliver to a local receiver.
var testPolicy = webhook.Policy{AllowHTTP: true, Allow: loopback}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now().UTC().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newItems returns an empty embedded store.
func newItems(t *testing.T) store.Items {
	t.Helper()
	s, err := embedded.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// newRegistry returns a registry with a static key on an empty store.
func newRegistry(t *testing.T, p webhook.Policy) *webhook.Registry {
	t.Helper()
	key, err := webhook.NewStaticKey(make([]byte, 32))
	require.NoError(t, err)
	return webhook.NewRegistry(newItems(t), key, p)
}

// quietLogger discards logs unless the test is verbose.
func quietLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// request is a request the receiver got.
type request struct {
	Header http.Header
	Body   []byte
}

// receiver is a real HTTP endpoint on 127.0.0.1 answering with respond
// (200 by default); n counts from 1.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []request
	respond func(w http.ResponseWriter, r *http.Request, n int)
}

func newReceiver(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, n int)) *receiver {
	t.Helper()
	rc := &receiver{respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, request{Header: r.Header.Clone(), Body: body})
		n := len(rc.reqs)
		rc.mu.Unlock()
		if rc.respond != nil {
			rc.respond(w, r, n)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.reqs...)
}

// recordQueue is a Queue keeping what it is sent.
type recordQueue struct {
	mu   sync.Mutex
	sent []queued
	err  error
}

type queued struct {
	Body  []byte
	Delay time.Duration
}

func (q *recordQueue) Send(_ context.Context, body []byte, delay time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.sent = append(q.sent, queued{Body: append([]byte(nil), body...), Delay: delay})
	return nil
}

func (q *recordQueue) all() []queued {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]queued(nil), q.sent...)
}

func (q *recordQueue) envelopes(t *testing.T) []webhook.Envelope {
	t.Helper()
	var out []webhook.Envelope
	for _, m := range q.all() {
		var env webhook.Envelope
		require.NoError(t, json.Unmarshal(m.Body, &env))
		out = append(out, env)
	}
	return out
}

// event returns a match.completed event of tenant.
func event(t *testing.T, tenant string) events.Event {
	t.Helper()
	ev, err := events.NewMatchCompleted(tenant, events.MatchData{
		ReferenceFaceID: "f1", CandidateFaceID: "f2", Score: 0.91, FalseAcceptanceRate: 1e-6, RefID: "W-face-match-1",
	})
	require.NoError(t, err)
	return ev
}

// fakeResolver resolves the names of records (A and AAAA) and nothing
// else, through a DNS server in memory (TCP framing over net.Pipe), so
// that the dialer resolves and then checks addresses as it does in
// production.
func fakeResolver(records map[string][]netip.Addr) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			c1, c2 := net.Pipe()
			go serveDNS(c2, records)
			return c1, nil
		},
	}
}

func serveDNS(c net.Conn, records map[string][]netip.Addr) {
	defer c.Close()
	for {
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, q); err != nil {
			return
		}
		resp := dnsAnswer(q, records)
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(resp))), resp...)); err != nil {
			return
		}
	}
}

// dnsAnswer answers a one-question query.
func dnsAnswer(q []byte, records map[string][]netip.Addr) []byte {
	i := 12
	var labels []string
	for i < len(q) && q[i] != 0 {
		n := int(q[i])
		labels = append(labels, string(q[i+1:i+1+n]))
		i += 1 + n
	}
	i++
	qtype := binary.BigEndian.Uint16(q[i:])
	i += 4
	question := q[12:i]
	name := strings.ToLower(strings.Join(labels, "."))
	addrs, ok := records[name]
	var rcode byte
	if !ok {
		rcode = 3 // NXDOMAIN
	}
	var answers [][]byte
	for _, a := range addrs {
		var rr []byte
		switch {
		case qtype == 1 && a.Is4():
			b := a.As4()
			rr = b[:]
		case qtype == 28 && a.Is6() && !a.Is4In6():
			b := a.As16()
			rr = b[:]
		default:
			continue
		}
		ans := []byte{0xc0, 0x0c}
		ans = binary.BigEndian.AppendUint16(ans, qtype)
		ans = binary.BigEndian.AppendUint16(ans, 1)
		ans = binary.BigEndian.AppendUint32(ans, 60)
		ans = binary.BigEndian.AppendUint16(ans, uint16(len(rr)))
		answers = append(answers, append(ans, rr...))
	}
	out := []byte{q[0], q[1], 0x85, 0x80 | rcode, 0, 1, 0, byte(len(answers)), 0, 0, 0, 0}
	out = append(out, question...)
	for _, a := range answers {
		out = append(out, a...)
	}
	return out
}
