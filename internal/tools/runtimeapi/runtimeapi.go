// Package runtimeapi hosts a Lambda function binary (a provided.al2023
// `bootstrap`) the way `sam local invoke` does: it serves the Lambda Runtime
// API on loopback, starts the binary with AWS_LAMBDA_RUNTIME_API pointing at
// it, hands it one event and collects the response.
package runtimeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// Result is the outcome of one invocation.
type Result struct {
	Response []byte          // the function's response payload
	Error    json.RawMessage // the function's error payload, when it failed
	InitErr  json.RawMessage // an init error reported by the runtime
	Duration time.Duration   // from handing out the event to the response
}

// Invoke runs binary with env, feeds it event, and returns its answer.
func Invoke(ctx context.Context, binary string, env []string, event []byte, timeout time.Duration) (*Result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	const reqID = "8f2a5c3e-6b1d-4c7e-9a0f-000000000001"
	var (
		once   sync.Once
		done   = make(chan struct{})
		res    = &Result{}
		sentAt time.Time
	)
	finish := func() { once.Do(func() { close(done) }) }
	served := false
	var mu sync.Mutex
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		first := !served
		served = true
		mu.Unlock()
		if !first { // one event per run: park the runtime until we stop it
			<-r.Context().Done()
			return
		}
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", reqID)
		w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(timeout).UnixMilli(), 10))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:local")
		w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
		sentAt = time.Now()
		_, _ = w.Write(event)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) {
		res.Response, _ = io.ReadAll(r.Body)
		res.Duration = time.Since(sentAt)
		w.WriteHeader(http.StatusAccepted)
		finish()
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		res.Error = b
		w.WriteHeader(http.StatusAccepted)
		finish()
	})
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		res.InitErr = b
		w.WriteHeader(http.StatusAccepted)
		finish()
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary)
	cmd.Env = append(append(os.Environ(), env...),
		"AWS_LAMBDA_RUNTIME_API="+ln.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME=local", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=2048", "AWS_REGION=us-east-1")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-done:
		_ = cmd.Process.Kill()
		<-exited
	case err := <-exited:
		return nil, fmt.Errorf("%s exited before answering: %v\n%s", binary, err, stderr.String())
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-exited
		return nil, fmt.Errorf("%s: no answer within %s\n%s", binary, timeout, stderr.String())
	}
	if res.InitErr != nil {
		return res, errors.New("function init failed: " + string(res.InitErr) + "\n" + stderr.String())
	}
	return res, nil
}
