// Package app is the composition root: Build turns a config.Config into
// the service graph (stores, keys, engine, services, handlers) of every
// Lambda function, of `facelambda serve` and of the component tests.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/facelambda/facelambda/internal/adapters/store/s3blob"
	"github.com/facelambda/facelambda/internal/core/enroll"
	"github.com/facelambda/facelambda/internal/core/envelope"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/sealed"
	"github.com/facelambda/facelambda/internal/core/webhook"
	"github.com/facelambda/facelambda/internal/transport/httpapi"
)

// BlobStore is the image bucket's store: SSE-KMS under kmsKey
// (FACELAMBDA_BLOB_KMS_KEY, the stack's template key in template.yaml) on
// every object the service puts; uploads through presigned URLs get the
// bucket's default encryption, SSE-KMS under the same key.
func BlobStore(client *s3.Client, bucket, kmsKey string) *s3blob.Store {
	b := s3blob.New(client, bucket)
	b.KMSKeyID = kmsKey
	return b
}

// SealedRecords seals the templates of session faces in records with keys
// (purpose sealed.FacePurpose).
func SealedRecords(records store.Records, keys envelope.KeyProvider) store.Records {
	return sealed.New(records, envelope.NewSealer(keys, envelope.Options{}))
}

// Enrolment is the enrolment service on d's engine and stores, sealing
// templates with keys, and the gallery identifier it keeps current.
func Enrolment(d *httpapi.Deps, keys envelope.KeyProvider, thumbnails bool) (*enroll.Service, *enroll.Galleries) {
	es := &enroll.Service{Bio: d.Bio, Classes: d.Classes, Blobs: d.Blobs,
		Sealer:     enroll.EnvelopeSealer{Sealer: envelope.NewSealer(keys, envelope.Options{})},
		Thumbnails: thumbnails}
	g := enroll.NewGalleries(es, 1<<30)
	es.OnChange = g.Changed
	es.OnErase = func(ctx context.Context, tenant string, galleries []string) error {
		return g.Drop(ctx, tenant, galleries...)
	}
	return es, g
}

// Functions maps each Lambda function's name to its handler.
func Functions(d *httpapi.Deps) map[string]http.Handler {
	return map[string]http.Handler{
		"session":  httpapi.SessionHandler(d),
		"face":     httpapi.FaceHandler(d),
		"match":    httpapi.MatchHandler(d),
		"enroll":   httpapi.EnrollHandler(d),
		"liveness": httpapi.LivenessHandler(d),
	}
}

// Local serves every function's routes on one handler, as API Gateway
// routes them to the functions in template.yaml; extra routes (such as the
// embedded store's upload endpoint) are added as given. CORS is answered
// as API Gateway's CorsConfiguration does (LocalCORS); a request no route
// takes gets the error object (405 with Allow, or 404).
func Local(d *httpapi.Deps, extra map[string]http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, name := range []string{"session", "face", "match", "enroll", "liveness"} {
		h := Functions(d)[name]
		for _, r := range httpapi.Routes(h) {
			mux.Handle(r.Method+" "+r.Path, h)
		}
	}
	for pattern, h := range extra {
		mux.Handle(pattern, h)
	}
	fallback := httpapi.NotRouted(mux)
	return LocalCORS.wrap(mux, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, p := mux.Handler(r); p == "" || r.URL.Path != path.Clean(r.URL.Path) {
			fallback.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}))
}

// CORS is a CORS configuration, as API Gateway's CorsConfiguration has it.
type CORS struct {
	AllowOrigins, AllowMethods, AllowHeaders, ExposeHeaders []string
	MaxAge                                                  int
}

// LocalCORS is the CorsConfiguration of the HttpApi in template.yaml (a
// test holds them equal): the local server answers CORS as API Gateway
// does in AWS, where preflights never reach the functions. A preflight
// carries no credentials, so it cannot name a tenant: the origins of a
// client token's key are enforced on the request itself, in the function
// (httpapi, withClientTokens), which echoes an allowed origin in
// Access-Control-Allow-Origin and refuses another with 403 TOKEN_SCOPE.
var LocalCORS = CORS{
	AllowOrigins:  []string{"*"},
	AllowMethods:  []string{"GET", "POST", "DELETE", "PUT"},
	AllowHeaders:  []string{"content-type", "apikey", "authorization", "x-request-id", "reference-number"},
	ExposeHeaders: []string{"x-request-id", "reference-number", "location", "retry-after"},
	MaxAge:        600,
}

// wrap answers CORS preflights (OPTIONS with Origin and
// Access-Control-Request-Method) of a method mux routes for the path with
// 204 and the CORS headers, adds the CORS headers to requests with an
// Origin, and hands every other request to next (an OPTIONS that is not a
// preflight gets 405 with Allow there).
func (c CORS) wrap(mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", strings.Join(c.AllowOrigins, " "))
		h.Add("Vary", "Origin")
		want := strings.ToUpper(r.Header.Get("Access-Control-Request-Method"))
		if r.Method != http.MethodOptions || want == "" {
			h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ", "))
			next.ServeHTTP(w, r)
			return
		}
		if slices.Contains(c.AllowMethods, want) && slices.Contains(httpapi.AllowedMethods(mux, r), want) {
			h.Set("Access-Control-Allow-Methods", strings.Join(c.AllowMethods, ", "))
			h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ", "))
			h.Set("Access-Control-Max-Age", strconv.Itoa(c.MaxAge))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Must logs err and exits; for main packages at init.
func Must[T any](v T, err error) T {
	if err != nil {
		slog.Error("start-up failed", "err", err)
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return v
}

// JSONLogs makes log/slog write structured JSON to stdout (CloudWatch).
func JSONLogs() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo})))
}

// withLocalWebhooks adds an in-process webhook registry, dispatcher and
// event publisher to d (the embedded store): secrets sealed with keys,
// deliveries and retries on timers instead of a queue.
func withLocalWebhooks(d *httpapi.Deps, items store.Items, records store.Records, keys webhook.SecretKey, policy webhook.Policy) error {
	d.Webhooks = webhook.NewRegistry(items, keys, policy)
	lw, err := webhook.NewLocal(webhook.Options{Registry: d.Webhooks, Callback: webhook.SessionCallback(records)})
	if err != nil {
		return err
	}
	d.Dispatcher = lw.Dispatcher()
	d.Events = events.NewLocal(lw.Handle, events.LocalOptions{})
	return nil
}

// MaxHandoffBody bounds a request the liveness function buffers to decide
// whether to hand it to the GPU service (API Gateway's payload limit is
// lower).
const MaxHandoffBody = 32 << 20

// GPUService is the liveness-gpu service's handler: the liveness routes
// and GET /healthz (the models answer) for a load balancer.
func GPUService(d *httpapi.Deps) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if d.ModelsReady != nil {
			if err := d.ModelsReady(r.Context()); err != nil {
				http.Error(w, "models not ready", http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("/", httpapi.LivenessHandler(d))
	return mux
}
