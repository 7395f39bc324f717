package app

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/facelambda/facelambda/internal/adapters/handoff"
	"github.com/facelambda/facelambda/internal/adapters/store/dynamo"
	"github.com/facelambda/facelambda/internal/adapters/store/embedded"
	"github.com/facelambda/facelambda/internal/adapters/store/s3blob"
	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/envelope"
	"github.com/facelambda/facelambda/internal/core/events"
	livecore "github.com/facelambda/facelambda/internal/core/liveness"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/webhook"
	"github.com/facelambda/facelambda/internal/transport/httpapi"
)

// Need says which parts a function builds at init.
type Need struct {
	// Models loads the engine at init (face and match functions). Without
	// it the engine is loaded on the first monitor call only.
	Models bool
	// Enroll builds the enrolment service and the gallery identifier.
	Enroll bool
	// Webhooks builds the webhook registry (session function).
	Webhooks bool
	// Liveness loads the passive liveness models and active liveness.
	Liveness bool
	// Dispatch builds the webhook function's dispatcher: deliveries from
	// the events queue, retries through it and exhausted ones to the
	// dead-letter queue. Alone, it builds no API (no bucket, no signer).
	Dispatch bool
	// Engine, when set, is the face engine instead of the models' (tests
	// run biometrictest.Engine without ONNX Runtime); the passive liveness
	// models of Liveness are still the real ones.
	Engine biometric.Engine
}

// Everything is what `facelambda serve` and the component tests build:
// every function's parts in one process.
var Everything = Need{Models: true, Enroll: true, Webhooks: true, Liveness: true}

// Version is the service version reported by capabilities and monitor.
const Version = "0.2.0"

// Graph is a built service: the handlers' dependencies and what owns them.
type Graph struct {
	Config config.Config
	Deps   *httpapi.Deps
	// Embedded is the embedded store (config.StoreEmbedded), else nil.
	Embedded *embedded.Store
	aws      *aws.Config
}

// Build builds the service graph cfg configures with the parts need asks:
// the stores of cfg.Store.Backend (DynamoDB + S3 + SQS, or the embedded
// store with in-process webhooks and events), the keys, the engine and the
// services. Lambda functions, `facelambda serve` and the tests all build
// through it; Close releases what it opened.
func Build(ctx context.Context, cfg config.Config, need Need) (_ *Graph, err error) {
	if need.Enroll || need.Liveness || need.Engine != nil {
		need.Models = true
	}
	// The webhook function alone builds no API (no bucket, no signer).
	api := !need.Dispatch || need.Models || need.Webhooks
	g := &Graph{Config: cfg, Deps: &httpapi.Deps{Config: httpConfig(cfg), ModelsReady: modelsReady(cfg.Models)}}
	if need.Engine != nil {
		g.Deps.ModelsReady = engineReady(need.Engine)
	}
	defer func() {
		if err != nil {
			g.Close()
		}
	}()
	d := g.Deps
	// Every function that writes or reads session faces seals their
	// templates with the template key; so does the embedded store.
	var keys envelope.KeyProvider
	if need.Models || cfg.Store.Embedded() {
		if keys, err = g.templateKeys(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.Store.Embedded() {
		err = g.openEmbedded(keys)
	} else {
		err = g.openAWS(ctx, api)
	}
	if err != nil {
		return nil, err
	}
	raw := d.Records
	if keys != nil {
		d.Records = SealedRecords(raw, keys)
	}
	if need.Webhooks || need.Dispatch {
		if err = g.webhooks(ctx, d.Usage, raw, need.Dispatch); err != nil {
			return nil, err
		}
	}
	if !api {
		return g, nil
	}
	if d.Signer, err = signing.Load(ctx, signing.Source{Secret: cfg.Keys.SigningSecret,
		Param: cfg.Keys.SigningParam, File: cfg.Keys.SigningKeyFile}); err != nil {
		return nil, err
	}
	if d.Tokens, err = ClientTokens(d.Signer); err != nil {
		return nil, err
	}
	if d.Encoder, err = Encoder(); err != nil {
		return nil, err
	}
	switch {
	case need.Engine != nil:
		d.Bio, err = serviceOn(need.Engine, d.Encoder, cfg.Models, true)
	case need.Models:
		d.Bio, err = NewService(cfg.Models, true)
	}
	if err != nil {
		return nil, err
	}
	if need.Enroll {
		d.Enroll, d.Galleries = Enrolment(d, keys, cfg.Store.Thumbnails)
	}
	if need.Liveness {
		if d.Liveness, err = OpenLiveness(cfg.Models); err != nil {
			return nil, err
		}
		d.Active = &httpapi.ActiveLiveness{Keys: envelope.NewSealer(keys, envelope.Options{}),
			Challenge: challenge.DefaultConfig(), ExposeChecks: cfg.Liveness.ExposeMeasures}
		if g.Embedded != nil {
			g.Embedded.OnUpload = g.analyseUpload
		}
	}
	return g, nil
}

// Close closes the embedded store.
func (g *Graph) Close() error {
	if g.Embedded != nil {
		return g.Embedded.Close()
	}
	return nil
}

// Handler is the handler of a function of Functions ("session", "face"...).
func (g *Graph) Handler(function string) http.Handler { return Functions(g.Deps)[function] }

// Local serves every function's routes on one handler (see Local), with the
// embedded store's upload and download endpoints.
func (g *Graph) Local() http.Handler {
	extra := map[string]http.Handler{}
	if g.Embedded != nil {
		extra["PUT /v2/uploads/{key...}"] = g.Embedded.UploadHandler()
		extra["GET /v2/downloads/{key...}"] = g.Embedded.DownloadHandler()
	}
	return Local(g.Deps, extra)
}

// LivenessFunction is the liveness function's handler: the liveness routes,
// with heavy requests (httpapi.HeavyLiveness) handed to the GPU service of
// cfg.Handoff when one is configured.
func (g *Graph) LivenessFunction(ctx context.Context) (http.Handler, error) {
	local := httpapi.LivenessHandler(g.Deps)
	h := g.Config.Handoff
	if !h.Remote() {
		return local, nil
	}
	remote, err := handoff.Remote(ctx, h.Function, h.URL, h.Timeout)
	if err != nil {
		return nil, err
	}
	return handoff.Wrap(local, httpapi.HeavyLiveness, remote, MaxHandoffBody, handoff.NoFallback(httpapi.SpendsCapture)), nil
}

// analyseUpload does what the bucket's object-created notification does in
// AWS: a capture uploaded through a presigned URL is analysed once stored.
func (g *Graph) analyseUpload(key string) {
	if !strings.HasPrefix(key, livecore.UploadPrefix) {
		return
	}
	go func() {
		if err := g.Deps.LivenessService().ProcessUpload(context.Background(), key, time.Now()); err != nil {
			slog.Error("liveness upload", "key", key, "err", err)
		}
	}()
}

func httpConfig(cfg config.Config) httpapi.Config {
	return httpapi.Config{Version: Version, DefaultTTL: cfg.Sessions.DefaultTTL, MaxTTL: cfg.Sessions.MaxTTL,
		AllowHTTPCallbacks: cfg.Webhooks.AllowHTTP}
}

// openEmbedded opens the embedded store in the data folder, sealing what
// it keeps with keys.
func (g *Graph) openEmbedded(keys envelope.KeyProvider) error {
	st, err := embedded.Open(filepath.Join(g.Config.Store.DataDir, "store"),
		embedded.WithSealer(envelope.NewSealer(keys, envelope.Options{})))
	if err != nil {
		return err
	}
	g.Embedded = st
	d := g.Deps
	d.Records, d.Blobs, d.Keys, d.Classes, d.Usage = st, st, st, st, st
	return nil
}

// openAWS opens the DynamoDB table, the S3 bucket (when api) and the
// events queue.
func (g *Graph) openAWS(ctx context.Context, api bool) error {
	s := g.Config.Store
	if s.Table == "" || api && s.Bucket == "" {
		return errors.New("FACELAMBDA_TABLE and FACELAMBDA_BUCKET must be set (FACELAMBDA_STORE=aws)")
	}
	cfg, err := g.awsConfig(ctx)
	if err != nil {
		return err
	}
	var dopts []func(*dynamodb.Options)
	if s.DynamoDBEndpoint != "" {
		dopts = append(dopts, dynamo.WithEndpoint(s.DynamoDBEndpoint))
	}
	records := dynamo.New(dynamodb.NewFromConfig(cfg, dopts...), s.Table)
	d := g.Deps
	d.Records, d.Keys, d.Classes, d.Usage = records, records, records, records
	if api {
		var sopts []func(*s3.Options)
		if s.S3Endpoint != "" {
			sopts = append(sopts, s3blob.WithEndpoint(s.S3Endpoint))
		}
		d.Blobs = BlobStore(s3.NewFromConfig(cfg, sopts...), s.Bucket, s.BlobKMSKey)
	}
	if q := g.Config.Events.QueueURL; q != "" {
		d.Events = events.NewSQS(g.sqs(cfg), q)
	}
	return nil
}

func (g *Graph) sqs(cfg aws.Config) *sqs.Client {
	var qopts []func(*sqs.Options)
	if ep := g.Config.Events.SQSEndpoint; ep != "" {
		qopts = append(qopts, func(o *sqs.Options) { o.BaseEndpoint = aws.String(ep) })
	}
	return sqs.NewFromConfig(cfg, qopts...)
}

// webhooks builds the webhook registry on items and its dispatcher, whose
// callbacks read the raw records: in process with the embedded store; with
// dispatch, fed by the events queue with retries through it and a
// dead-letter queue.
func (g *Graph) webhooks(ctx context.Context, items store.Items, records store.Records, dispatch bool) error {
	keys, err := g.webhookKeys(ctx)
	if err != nil {
		return err
	}
	if g.Embedded != nil {
		return withLocalWebhooks(g.Deps, items, records, keys, g.policy())
	}
	d := g.Deps
	d.Webhooks = webhook.NewRegistry(items, keys, g.policy())
	opts := webhook.Options{Registry: d.Webhooks, Callback: webhook.SessionCallback(records)}
	if dispatch {
		ev := g.Config.Events
		if ev.QueueURL == "" || ev.DLQURL == "" {
			return errors.New("FACELAMBDA_EVENTS_QUEUE_URL and FACELAMBDA_EVENTS_DLQ_URL must be set")
		}
		cfg, err := g.awsConfig(ctx)
		if err != nil {
			return err
		}
		sqsc := g.sqs(cfg)
		opts.Queue, opts.DeadLetter = webhook.NewSQSQueue(sqsc, ev.QueueURL), webhook.NewSQSQueue(sqsc, ev.DLQURL)
	}
	d.Dispatcher, err = webhook.NewDispatcher(opts)
	return err
}

func (g *Graph) policy() webhook.Policy {
	return webhook.Policy{AllowHTTP: g.Config.Webhooks.AllowHTTP, Allow: g.Config.Webhooks.Allow}
}

// templateKeys is the key provider of sealed templates and capture keys:
// KMS key FACELAMBDA_TEMPLATE_KMS_KEY, or a local key file
// FACELAMBDA_TEMPLATE_KEY_FILE (the embedded store's by default).
func (g *Graph) templateKeys(ctx context.Context) (envelope.KeyProvider, error) {
	k := g.Config.Keys
	switch {
	case k.TemplateKMSKey != "":
		cfg, err := g.awsConfig(ctx)
		if err != nil {
			return nil, err
		}
		return envelope.NewKMS(kms.NewFromConfig(cfg), k.TemplateKMSKey), nil
	case k.TemplateKeyFile != "":
		return envelope.OpenLocalKey(k.TemplateKeyFile)
	}
	return nil, errors.New("set FACELAMBDA_TEMPLATE_KMS_KEY (or FACELAMBDA_TEMPLATE_KEY_FILE) for the face, match, enroll and liveness functions")
}

// webhookKeys seals webhook secrets: KMS key FACELAMBDA_WEBHOOK_KMS_KEY, or
// a local key file FACELAMBDA_WEBHOOK_KEY_FILE (the embedded store's by
// default).
func (g *Graph) webhookKeys(ctx context.Context) (webhook.SecretKey, error) {
	k := g.Config.Keys
	switch {
	case k.WebhookKMSKey != "":
		cfg, err := g.awsConfig(ctx)
		if err != nil {
			return nil, err
		}
		return webhook.NewKMSKey(kms.NewFromConfig(cfg), k.WebhookKMSKey), nil
	case k.WebhookKeyFile != "":
		return webhook.LoadKeyFile(k.WebhookKeyFile)
	}
	return nil, errors.New("set FACELAMBDA_WEBHOOK_KMS_KEY (or FACELAMBDA_WEBHOOK_KEY_FILE)")
}

// awsConfig is the SDK's default configuration (its own environment:
// AWS_REGION, credentials), loaded once.
func (g *Graph) awsConfig(ctx context.Context) (aws.Config, error) {
	if g.aws == nil {
		cfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return aws.Config{}, fmt.Errorf("aws config: %w", err)
		}
		g.aws = &cfg
	}
	return *g.aws, nil
}

// clientTokenLabel is what the signing key signs to derive the client
// tokens' HMAC key.
const clientTokenLabel = "facelambda client-token HMAC key v1"

// ClientTokens is the client-token issuer keyed by the service's signing
// key: the HMAC key is the SHA-256 of the key's RS256 signature of a fixed
// label. PKCS #1 v1.5 signatures are deterministic, so every function
// holding the signing key derives the same key, only the holder of the
// private key can, and no second secret has to be provisioned; rotating
// the signing key ends the tokens issued before (they live 10 minutes at
// most).
func ClientTokens(s *signing.Signer) (*auth.Tokens, error) {
	sig, err := s.Sign([]byte(clientTokenLabel))
	if err != nil {
		return nil, fmt.Errorf("client-token key: %w", err)
	}
	key := sha256.Sum256([]byte(sig))
	return auth.NewTokens(key[:], nil)
}
