// Package server wires the service from its environment: the engine from
// the layers, the calibration table, the stores, the signing key, and the
// HTTP handlers of each function, for Lambda and for the local server.
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
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/facelambda/facelambda/internal/adapters/handoff"
	"github.com/facelambda/facelambda/internal/adapters/store/dynamo"
	"github.com/facelambda/facelambda/internal/adapters/store/s3blob"
	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/enroll"
	"github.com/facelambda/facelambda/internal/core/envelope"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/sealed"
	"github.com/facelambda/facelambda/internal/core/webhook"
	"github.com/facelambda/facelambda/internal/ml/decode"
	"github.com/facelambda/facelambda/internal/ml/engine"
	"github.com/facelambda/facelambda/internal/ml/liveness"
	"github.com/facelambda/facelambda/internal/ml/modelset"
	"github.com/facelambda/facelambda/internal/transport/httpapi"
)

// Service builds the biometric service from the environment (see
// engine.ConfigFromEnv; FACELAMBDA_PURE_GO_DECODE=1 disables libjpeg-turbo).
func Service() (*biometric.Service, error) { return build(true) }

// BootstrapService builds a service that can embed faces without a
// calibration table: what `facelambda calibrate` needs to make one.
func BootstrapService() (*biometric.Service, error) { return build(false) }

func build(needTable bool) (*biometric.Service, error) {
	eng, err := engine.Open(engine.ConfigFromEnv())
	if err != nil {
		return nil, err
	}
	cal, err := calibration.Default(eng.Encoder)
	if err != nil && needTable {
		return nil, err
	}
	return biometric.New(eng, biometric.Config{
		Encoder: eng.Encoder, Calibration: cal,
		Decode: decode.Options{PureGo: os.Getenv("FACELAMBDA_PURE_GO_DECODE") == "1"},
	})
}

// Need says which parts a function loads at init.
type Need struct {
	// Models loads the engine at init (face and match functions). Without
	// it the engine is loaded on the first monitor call only.
	Models bool
	// Enroll builds the enrolment service (enroll function): templates
	// sealed under FACELAMBDA_TEMPLATE_KMS_KEY, or under the local key file
	// FACELAMBDA_TEMPLATE_KEY_FILE when no KMS key is configured.
	Enroll bool
	// Webhooks builds the webhook registry (session function): secrets
	// sealed under FACELAMBDA_WEBHOOK_KMS_KEY or FACELAMBDA_WEBHOOK_KEY_FILE.
	Webhooks bool
	// Liveness loads the passive liveness models (liveness function).
	Liveness bool
}

// LoadLiveness opens the liveness models of the manifest and their level
// calibration; a missing calibration for the loaded models is an error.
func LoadLiveness() (*httpapi.Liveness, error) {
	l, err := liveness.Open(engine.ConfigFromEnv())
	if err != nil {
		return nil, err
	}
	det := l.Detector.Weighted()
	cal, err := det.Calibration()
	if err != nil {
		return nil, fmt.Errorf("liveness: %w (run facelambda calibrate liveness)", err)
	}
	return &httpapi.Liveness{Detector: det, Calibration: cal}, nil
}

func webhookKeys(cfg aws.Config) (webhook.SecretKey, error) {
	if id := os.Getenv("FACELAMBDA_WEBHOOK_KMS_KEY"); id != "" {
		return webhook.NewKMSKey(webhook.SDKKMS(kms.NewFromConfig(cfg)), id), nil
	}
	if path := os.Getenv("FACELAMBDA_WEBHOOK_KEY_FILE"); path != "" {
		return webhook.LoadKeyFile(path)
	}
	return nil, fmt.Errorf("set FACELAMBDA_WEBHOOK_KMS_KEY (or FACELAMBDA_WEBHOOK_KEY_FILE)")
}

// webhookPolicy reads FACELAMBDA_WEBHOOK_ALLOW_HTTP (local mode) and
// FACELAMBDA_WEBHOOK_ALLOW (CIDRs exempt from the SSRF rules, for tests).
func webhookPolicy() webhook.Policy {
	p := webhook.Policy{AllowHTTP: os.Getenv("FACELAMBDA_WEBHOOK_ALLOW_HTTP") == "1"}
	if v := os.Getenv("FACELAMBDA_WEBHOOK_ALLOW"); v != "" {
		if allow, err := webhook.ParsePrefixes(v); err == nil {
			p.Allow = allow
		} else {
			slog.Error("FACELAMBDA_WEBHOOK_ALLOW ignored", "err", err)
		}
	}
	return p
}

// WebhookDispatcher builds the webhook function's dispatcher: deliveries
// from the events queue, retries through it (FACELAMBDA_EVENTS_QUEUE_URL) and
// exhausted ones to the dead-letter queue (FACELAMBDA_EVENTS_DLQ_URL).
func WebhookDispatcher(ctx context.Context) (*webhook.Dispatcher, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	table, q, dlq := os.Getenv("FACELAMBDA_TABLE"), os.Getenv("FACELAMBDA_EVENTS_QUEUE_URL"), os.Getenv("FACELAMBDA_EVENTS_DLQ_URL")
	if table == "" || q == "" || dlq == "" {
		return nil, fmt.Errorf("FACELAMBDA_TABLE, FACELAMBDA_EVENTS_QUEUE_URL and FACELAMBDA_EVENTS_DLQ_URL must be set")
	}
	var dopts []func(*dynamodb.Options)
	if ep := os.Getenv("FACELAMBDA_DYNAMODB_ENDPOINT"); ep != "" {
		dopts = append(dopts, dynamo.WithEndpoint(ep))
	}
	var qopts []func(*sqs.Options)
	if ep := os.Getenv("FACELAMBDA_SQS_ENDPOINT"); ep != "" {
		qopts = append(qopts, func(o *sqs.Options) { o.BaseEndpoint = aws.String(ep) })
	}
	records := dynamo.New(dynamodb.NewFromConfig(cfg, dopts...), table)
	sqsc := sqs.NewFromConfig(cfg, qopts...)
	keys, err := webhookKeys(cfg)
	if err != nil {
		return nil, err
	}
	return webhook.NewDispatcher(webhook.Options{Registry: webhook.NewRegistry(records, keys, webhookPolicy()),
		Queue: webhook.NewSQSQueue(sqsc, q), DeadLetter: webhook.NewSQSQueue(sqsc, dlq), Callback: webhook.SessionCallback(records)})
}

// Encoder is the encoder id of the embedding model in the manifest.
func Encoder() (string, error) {
	m, err := modelset.Embedded()
	if err != nil {
		return "", err
	}
	f, err := m.Lookup("embedding")
	if err != nil {
		return "", err
	}
	return f.Encoder, nil
}

// modelsReady returns a check that loads the engine once and runs its
// smallest model.
func modelsReady() func(ctx context.Context) error {
	var once sync.Once
	var eng *engine.Engine
	var err error
	return func(ctx context.Context) error {
		once.Do(func() { eng, err = engine.Open(engine.ConfigFromEnv()) })
		if err != nil {
			return err
		}
		m, ok := eng.Raw["eyes"]
		if !ok {
			return fmt.Errorf("eye model not loaded")
		}
		_, rerr := m.Run(make([]float32, 24*24))
		return rerr
	}
}

// ConfigFromEnv reads FACELAMBDA_SESSION_TTL and FACELAMBDA_SESSION_MAX_TTL
// (seconds).
func ConfigFromEnv() httpapi.Config {
	c := httpapi.Config{Version: Version}
	if v, err := strconv.Atoi(os.Getenv("FACELAMBDA_SESSION_TTL")); err == nil && v > 0 {
		c.DefaultTTL = time.Duration(v) * time.Second
	}
	if v, err := strconv.Atoi(os.Getenv("FACELAMBDA_SESSION_MAX_TTL")); err == nil && v > 0 {
		c.MaxTTL = time.Duration(v) * time.Second
	}
	return c
}

// Version is the service version reported by capabilities and monitor.
const Version = "0.2.0"

// LambdaDeps builds a function's dependencies in AWS: DynamoDB table
// FACELAMBDA_TABLE, S3 bucket FACELAMBDA_BUCKET, the signing key from
// Secrets Manager or SSM (signing.FromEnv). FACELAMBDA_DYNAMODB_ENDPOINT and
// FACELAMBDA_S3_ENDPOINT point the clients at local servers.
func LambdaDeps(ctx context.Context, need Need) (*httpapi.Deps, error) {
	table, bucket := os.Getenv("FACELAMBDA_TABLE"), os.Getenv("FACELAMBDA_BUCKET")
	if table == "" || bucket == "" {
		return nil, fmt.Errorf("FACELAMBDA_TABLE and FACELAMBDA_BUCKET must be set")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	var dopts []func(*dynamodb.Options)
	if ep := os.Getenv("FACELAMBDA_DYNAMODB_ENDPOINT"); ep != "" {
		dopts = append(dopts, dynamo.WithEndpoint(ep))
	}
	var sopts []func(*s3.Options)
	if ep := os.Getenv("FACELAMBDA_S3_ENDPOINT"); ep != "" {
		sopts = append(sopts, s3blob.WithEndpoint(ep))
	}
	records := dynamo.New(dynamodb.NewFromConfig(cfg, dopts...), table)
	signer, err := signing.FromEnv(ctx)
	if err != nil {
		return nil, err
	}
	d := &httpapi.Deps{Records: records, Blobs: BlobStore(s3.NewFromConfig(cfg, sopts...), bucket), Keys: records,
		Classes: records, Usage: records, Signer: signer, Config: ConfigFromEnv(), ModelsReady: modelsReady()}
	var qopts []func(*sqs.Options)
	if ep := os.Getenv("FACELAMBDA_SQS_ENDPOINT"); ep != "" {
		qopts = append(qopts, func(o *sqs.Options) { o.BaseEndpoint = aws.String(ep) })
	}
	sqsc := sqs.NewFromConfig(cfg, qopts...)
	if q := os.Getenv("FACELAMBDA_EVENTS_QUEUE_URL"); q != "" {
		d.Events = events.NewSQS(sqsc, q)
	}
	if need.Webhooks {
		keys, err := webhookKeys(cfg)
		if err != nil {
			return nil, err
		}
		d.Webhooks = webhook.NewRegistry(records, keys, webhookPolicy())
		if d.Dispatcher, err = webhook.NewDispatcher(webhook.Options{Registry: d.Webhooks,
			Callback: webhook.SessionCallback(records)}); err != nil {
			return nil, err
		}
	}
	// Every function that writes or reads session faces (face, match,
	// liveness, enroll) seals their templates with the template key.
	var keys envelope.KeyProvider
	if need.Models || need.Enroll || need.Liveness {
		if keys, err = templateKeys(cfg); err != nil {
			return nil, err
		}
		d.Records = SealedRecords(records, keys)
	}
	if need.Enroll || need.Liveness {
		need.Models = true
	}
	if need.Liveness {
		if d.Liveness, err = LoadLiveness(); err != nil {
			return nil, err
		}
	}
	d, err = withModels(d, need)
	if err != nil || !need.Enroll && !need.Liveness {
		return d, err
	}
	if need.Enroll {
		WithEnroll(d, keys)
	}
	if need.Liveness {
		WithActive(d, keys)
	}
	return d, nil
}

// BlobStore is the image bucket's store: SSE-KMS under the key
// FACELAMBDA_BLOB_KMS_KEY (the stack's template key in template.yaml) on
// every object the service puts; uploads through presigned URLs get the
// bucket's default encryption, SSE-KMS under the same key.
func BlobStore(client *s3.Client, bucket string) *s3blob.Store {
	b := s3blob.New(client, bucket)
	b.KMSKeyID = os.Getenv("FACELAMBDA_BLOB_KMS_KEY")
	return b
}

// SealedRecords seals the templates of session faces in records with keys
// (purpose sealed.FacePurpose).
func SealedRecords(records store.Records, keys envelope.KeyProvider) store.Records {
	return sealed.New(records, envelope.NewSealer(keys, envelope.Options{}))
}

// templateKeys is the key provider of sealed templates and capture keys:
// KMS key FACELAMBDA_TEMPLATE_KMS_KEY, or a local key file
// FACELAMBDA_TEMPLATE_KEY_FILE.
func templateKeys(cfg aws.Config) (envelope.KeyProvider, error) {
	if id := os.Getenv("FACELAMBDA_TEMPLATE_KMS_KEY"); id != "" {
		return envelope.NewKMS(kms.NewFromConfig(cfg), id), nil
	}
	if path := os.Getenv("FACELAMBDA_TEMPLATE_KEY_FILE"); path != "" {
		return envelope.OpenLocalKey(path)
	}
	return nil, fmt.Errorf("set FACELAMBDA_TEMPLATE_KMS_KEY (or FACELAMBDA_TEMPLATE_KEY_FILE) for the enroll and liveness functions")
}

// WithActive adds active (challenge) liveness to d, sealing each session's
// capture key with keys. FACELAMBDA_LIVENESS_MEASURES=1 answers the
// measures behind results.
func WithActive(d *httpapi.Deps, keys envelope.KeyProvider) {
	d.Active = &httpapi.ActiveLiveness{Keys: envelope.NewSealer(keys, envelope.Options{}), Challenge: challenge.DefaultConfig(),
		ExposeChecks: os.Getenv("FACELAMBDA_LIVENESS_MEASURES") == "1"}
}

// WithEnroll adds the enrolment service and the gallery identifier to d,
// sealing templates with keys.
func WithEnroll(d *httpapi.Deps, keys envelope.KeyProvider) {
	es := &enroll.Service{Bio: d.Bio, Classes: d.Classes, Blobs: d.Blobs,
		Sealer:     enroll.EnvelopeSealer{Sealer: envelope.NewSealer(keys, envelope.Options{})},
		Thumbnails: os.Getenv("FACELAMBDA_STORE_THUMBNAILS") != "0"}
	g := enroll.NewGalleries(es, 1<<30)
	es.OnChange = g.Changed
	es.OnErase = func(ctx context.Context, tenant string, galleries []string) error {
		return g.Drop(ctx, tenant, galleries...)
	}
	d.Enroll, d.Galleries = es, g
}

func withModels(d *httpapi.Deps, need Need) (*httpapi.Deps, error) {
	enc, err := Encoder()
	if err != nil {
		return nil, err
	}
	d.Encoder = enc
	if need.Models {
		if d.Bio, err = Service(); err != nil {
			return nil, err
		}
	}
	return d, nil
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
// does in AWS, where preflights never reach the functions.
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

// WithLocalWebhooks adds an in-process webhook registry, dispatcher and
// event publisher to d (the local server): secrets sealed with the key file,
// deliveries and retries on timers instead of a queue.
func WithLocalWebhooks(d *httpapi.Deps, items store.Items, records store.Records, keyFile string, policy webhook.Policy) error {
	keys, err := webhook.LoadKeyFile(keyFile)
	if err != nil {
		return err
	}
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

// LivenessFunction is the liveness function's handler: the liveness routes,
// with heavy requests (httpapi.HeavyLiveness) handed to the GPU service
// named by FACELAMBDA_HEAVY_LIVENESS_FUNCTION or _URL when one is set.
func LivenessFunction(ctx context.Context, d *httpapi.Deps) (http.Handler, error) {
	local := httpapi.LivenessHandler(d)
	remote, err := handoff.RemoteFromEnv(ctx, "FACELAMBDA_HEAVY_LIVENESS")
	if err != nil || remote == nil {
		return local, err
	}
	return handoff.Wrap(local, httpapi.HeavyLiveness, remote, MaxHandoffBody, handoff.NoFallback(httpapi.SpendsCapture)), nil
}

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
