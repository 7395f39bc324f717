package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/tools/evaluation"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"sort"
	"sync"
	"time"
)

// LoadReport is the JSON of `facelambda load`.
type LoadReport struct {
	URL         string                        `json:"url"`
	Concurrency int                           `json:"concurrency"`
	Seconds     float64                       `json:"seconds"`
	Flows       int                           `json:"flows"`
	Requests    int                           `json:"requests"`
	Errors      int                           `json:"errors"`
	ErrorSample []string                      `json:"error_sample,omitempty"`
	RPS         float64                       `json:"requests_per_second"`
	FlowsPerSec float64                       `json:"flows_per_second"`
	Ops         map[string]evaluation.Latency `json:"operations"`
}

// load drives a running server with concurrent bio-session flows: create a
// session, add two faces, list the matches, delete the session.
func load(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	env, err := config.Load()
	if err != nil {
		return err
	}
	fs := newFlags("load", stdout, stderr)
	base := fs.String("url", "http://127.0.0.1:3000", "server base URL")
	key := fs.String("key", env.Client.APIKey, "API key (default $FACELAMBDA_API_KEY)")
	conc := fs.Int("concurrency", 4, "concurrent flows")
	dur := fs.Duration("duration", 20*time.Second, "how long to run")
	imgA := fs.String("reference", "testdata/faces/obama.jpg", "reference image")
	imgB := fs.String("candidate", "testdata/faces/obama2.jpg", "candidate image")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.ParseRequired(args, "key"); err != nil {
		return err
	}
	a, err := os.ReadFile(*imgA)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(*imgB)
	if err != nil {
		return err
	}
	c := &loadClient{base: *base, key: *key, http: &http.Client{Timeout: 60 * time.Second}, lat: map[string][]time.Duration{}}
	ctx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < *conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if c.flow(a, b) {
					c.mu.Lock()
					c.flows++
					c.mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	rep := LoadReport{URL: *base, Concurrency: *conc, Seconds: evaluation.Round3(secs), Flows: c.flows, Requests: c.requests,
		Errors: c.errors, ErrorSample: c.sample, RPS: evaluation.Round3(float64(c.requests) / secs),
		FlowsPerSec: evaluation.Round3(float64(c.flows) / secs), Ops: map[string]evaluation.Latency{}}
	for op, d := range c.lat {
		rep.Ops[op] = evaluation.Summarise(d)
	}
	if *asJSON {
		return printJSON(stdout, rep)
	}
	fmt.Fprintf(stdout, "%s, %d concurrent flows for %.1fs: %d flows (%.2f/s), %d requests (%.1f/s), %d errors\n",
		rep.URL, rep.Concurrency, rep.Seconds, rep.Flows, rep.FlowsPerSec, rep.Requests, rep.RPS, rep.Errors)
	ops := make([]string, 0, len(rep.Ops))
	for k := range rep.Ops {
		ops = append(ops, k)
	}
	sort.Strings(ops)
	for _, op := range ops {
		l := rep.Ops[op]
		fmt.Fprintf(stdout, "  %-16s n %5d  p50 %7.1f ms  p99 %7.1f ms\n", op, l.N, l.P50, l.P99)
	}
	for _, e := range rep.ErrorSample {
		fmt.Fprintln(stdout, "  error:", e)
	}
	if rep.Errors > 0 {
		return fmt.Errorf("%d requests failed", rep.Errors)
	}
	return nil
}

type loadClient struct {
	base, key string
	http      *http.Client
	mu        sync.Mutex
	lat       map[string][]time.Duration
	requests  int
	errors    int
	flows     int
	sample    []string
}

func (c *loadClient) do(op, method, path, ct string, body []byte, want int) ([]byte, bool) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, c.fail(op, err.Error())
	}
	req.Header.Set("apikey", c.key)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	start := time.Now()
	res, err := c.http.Do(req)
	if err != nil {
		return nil, c.fail(op, err.Error())
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	d := time.Since(start)
	c.mu.Lock()
	c.requests++
	c.lat[op] = append(c.lat[op], d)
	c.mu.Unlock()
	if res.StatusCode != want {
		return nil, c.fail(op, fmt.Sprintf("%s %s: status %d: %.200s", method, path, res.StatusCode, out))
	}
	return out, true
}

func (c *loadClient) fail(op, msg string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errors++
	if len(c.sample) < 5 && !slices.Contains(c.sample, msg) {
		c.sample = append(c.sample, op+": "+msg)
	}
	return false
}

func (c *loadClient) flow(a, b []byte) bool {
	out, ok := c.do("create-session", "POST", "/v2/bio-sessions", "application/json", []byte(`{"ttlSeconds":300,"correlationId":"load"}`), 201)
	if !ok {
		return false
	}
	var s struct{ ID string }
	if json.Unmarshal(out, &s) != nil || s.ID == "" {
		return c.fail("create-session", "no id")
	}
	defer c.do("delete-session", "DELETE", "/v2/bio-sessions/"+s.ID, "", nil, 204)
	var ref string
	for i, img := range [][]byte{a, b} {
		ct, body := imagePart(img)
		out, ok := c.do("create-face", "POST", "/v2/bio-sessions/"+s.ID+"/faces", ct, body, 201)
		if !ok {
			return false
		}
		if i == 0 {
			var f struct{ ID string }
			_ = json.Unmarshal(out, &f)
			ref = f.ID
		}
	}
	out, ok = c.do("matches", "GET", "/v2/bio-sessions/"+s.ID+"/faces/"+ref+"/matches?level=HIGH", "", nil, 200)
	if !ok {
		return false
	}
	var ms []struct{ PossibleMatch bool }
	if json.Unmarshal(out, &ms) != nil || len(ms) != 1 || !ms[0].PossibleMatch {
		return c.fail("matches", fmt.Sprintf("unexpected matches: %.200s", out))
	}
	return true
}

func imagePart(img []byte) (string, []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	p, _ := w.CreateFormFile("image", "image.jpg")
	_, _ = p.Write(img)
	_ = w.Close()
	return w.FormDataContentType(), buf.Bytes()
}
