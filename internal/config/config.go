// Package config is the only reader of facelambda's environment: Load reads
// every FACELAMBDA_* variable (and AWS_LAMBDA_RUNTIME_API) into a typed
// Config with one set of defaults, for every Lambda function, `facelambda
// serve` and the CLI alike, and refuses bad values. Variables lists them;
// docs/configuration.md documents them in one table (a test keeps the two
// equal). The AWS SDK reads its own variables (AWS_REGION, credentials).
package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"time"
)

// Store backends.
const (
	// StoreAWS keeps records in DynamoDB and objects in S3 (the functions).
	StoreAWS = "aws"
	// StoreEmbedded keeps everything in one folder (`facelambda serve`):
	// records and objects in the embedded store, the keys next to it,
	// webhooks and events in process.
	StoreEmbedded = "embedded"
)

// Config is the whole configuration.
type Config struct {
	Models   Models
	Store    Store
	Events   Events
	Keys     Keys
	Webhooks Webhooks
	Sessions Sessions
	Liveness Liveness
	Handoff  Handoff
	Server   Server
	Client   Client
}

// Models says where the models and ONNX Runtime are and how they run.
type Models struct {
	Dir          string // folder of the *.onnx files; "" = the default paths (engine.DefaultPaths)
	ORTLibrary   string // libonnxruntime.so.1; "" = the default paths
	Threads      int    // intra-op threads; 0 lets ONNX Runtime choose
	Spinning     bool   // ONNX Runtime's thread spinning
	OptimizeAll  bool   // ORT_ENABLE_ALL graph optimisation
	Provider     string // "cpu", "cuda" or "auto"
	CUDADevice   string // CUDA device ordinal ("" = "0")
	PureGoDecode bool   // decode images without libjpeg-turbo
}

// Store says where records and objects are kept.
type Store struct {
	Backend          string // StoreAWS or StoreEmbedded
	DataDir          string // the embedded store's folder (and its keys)
	Table, Bucket    string // DynamoDB table and S3 bucket (StoreAWS)
	DynamoDBEndpoint string // local DynamoDB (tests, make invoke)
	S3Endpoint       string // local S3
	BlobKMSKey       string // SSE-KMS key of every object the service puts
	Thumbnails       bool   // enrolment keeps a thumbnail of each image
}

// Embedded reports whether the embedded store is configured.
func (s Store) Embedded() bool { return s.Backend == StoreEmbedded }

// Events says where domain events and webhook retries go (StoreAWS).
type Events struct {
	QueueURL, DLQURL string
	SQSEndpoint      string
}

// Keys names the keys: KMS key ids, or local key files (the embedded store
// keeps its files in its data folder unless one is named).
type Keys struct {
	TemplateKMSKey, TemplateKeyFile string // templates, capture keys, face templates
	WebhookKMSKey, WebhookKeyFile   string // webhook secrets
	// The result-signing key: a Secrets Manager secret, else an SSM
	// parameter, else a local PEM file (created when missing).
	SigningSecret, SigningParam, SigningKeyFile string
}

// Webhooks is the webhook and callback URL policy.
type Webhooks struct {
	// AllowHTTP accepts http:// webhook and callback URLs.
	AllowHTTP bool
	// Allow lists addresses exempt from the private-address rules.
	Allow []netip.Prefix
}

// Sessions are the bio-session lifetimes.
type Sessions struct {
	DefaultTTL, MaxTTL time.Duration
}

// Liveness configures active liveness.
type Liveness struct {
	// ExposeMeasures answers the measures behind active liveness results.
	ExposeMeasures bool
}

// Handoff names the GPU service heavy liveness requests are handed to:
// a Lambda function or an https URL (at most one), or neither.
type Handoff struct {
	Function, URL string
	Timeout       time.Duration
}

// Remote reports whether a GPU service is configured.
func (h Handoff) Remote() bool { return h.Function != "" || h.URL != "" }

// Server configures the process's HTTP side.
type Server struct {
	// InLambda is true inside Lambda (AWS_LAMBDA_RUNTIME_API is set).
	InLambda bool
	// Listen is the address of the plain HTTP server outside Lambda.
	Listen string
}

// Client is what the CLI's client commands use.
type Client struct {
	APIKey string // `facelambda load` key
}

// Defaults of the settings that have one.
const (
	DefaultDataDir    = ".data"
	DefaultListen     = ":8080"
	DefaultSessionTTL = 5 * time.Minute
	DefaultMaxTTL     = 24 * time.Hour
	DefaultHandoff    = 12 * time.Second
)

// Load reads the process's environment.
func Load() (Config, error) { return Parse(os.LookupEnv) }

// LoadWith is Load with overrides in the place of the environment's values
// (the CLI's flags, such as `facelambda serve --data`).
func LoadWith(overrides map[string]string) (Config, error) {
	return Parse(func(name string) (string, bool) {
		if v, ok := overrides[name]; ok {
			return v, true
		}
		return os.LookupEnv(name)
	})
}

// Parse reads the configuration from lookup (os.LookupEnv in Load; a map
// in tests). Every bad value is reported, joined in one error.
func Parse(lookup func(string) (string, bool)) (Config, error) {
	r := &reader{lookup: lookup}
	var c Config
	c.Models = Models{
		Dir: r.str("FACELAMBDA_MODEL_DIR"), ORTLibrary: r.str("FACELAMBDA_ORT_LIBRARY"),
		Threads: r.count("FACELAMBDA_ORT_THREADS", 0), Spinning: r.flag("FACELAMBDA_ORT_SPINNING", false),
		OptimizeAll: r.flag("FACELAMBDA_ORT_OPT_ALL", false),
		Provider:    r.oneOf("FACELAMBDA_ORT_PROVIDER", "cpu", "cuda", "auto"),
		CUDADevice:  r.str("FACELAMBDA_CUDA_DEVICE"), PureGoDecode: r.flag("FACELAMBDA_PURE_GO_DECODE", false),
	}
	c.Store = Store{
		Backend: r.oneOf("FACELAMBDA_STORE", StoreAWS, StoreEmbedded), DataDir: r.strOr("FACELAMBDA_DATA_DIR", DefaultDataDir),
		Table: r.str("FACELAMBDA_TABLE"), Bucket: r.str("FACELAMBDA_BUCKET"),
		DynamoDBEndpoint: r.str("FACELAMBDA_DYNAMODB_ENDPOINT"), S3Endpoint: r.str("FACELAMBDA_S3_ENDPOINT"),
		BlobKMSKey: r.str("FACELAMBDA_BLOB_KMS_KEY"), Thumbnails: r.flag("FACELAMBDA_STORE_THUMBNAILS", true),
	}
	c.Events = Events{QueueURL: r.str("FACELAMBDA_EVENTS_QUEUE_URL"), DLQURL: r.str("FACELAMBDA_EVENTS_DLQ_URL"),
		SQSEndpoint: r.str("FACELAMBDA_SQS_ENDPOINT")}
	c.Keys = Keys{
		TemplateKMSKey: r.str("FACELAMBDA_TEMPLATE_KMS_KEY"), TemplateKeyFile: r.str("FACELAMBDA_TEMPLATE_KEY_FILE"),
		WebhookKMSKey: r.str("FACELAMBDA_WEBHOOK_KMS_KEY"), WebhookKeyFile: r.str("FACELAMBDA_WEBHOOK_KEY_FILE"),
		SigningSecret: r.str("FACELAMBDA_SIGNING_KEY_SECRET"), SigningParam: r.str("FACELAMBDA_SIGNING_KEY_PARAM"),
		SigningKeyFile: r.str("FACELAMBDA_SIGNING_KEY_FILE"),
	}
	c.Webhooks = Webhooks{AllowHTTP: r.flag("FACELAMBDA_WEBHOOK_ALLOW_HTTP", c.Store.Embedded()),
		Allow: r.prefixes("FACELAMBDA_WEBHOOK_ALLOW")}
	c.Sessions = Sessions{DefaultTTL: r.seconds("FACELAMBDA_SESSION_TTL", DefaultSessionTTL),
		MaxTTL: r.seconds("FACELAMBDA_SESSION_MAX_TTL", DefaultMaxTTL)}
	c.Liveness = Liveness{ExposeMeasures: r.flag("FACELAMBDA_LIVENESS_MEASURES", false)}
	c.Handoff = Handoff{Function: r.str("FACELAMBDA_HEAVY_LIVENESS_FUNCTION"), URL: r.str("FACELAMBDA_HEAVY_LIVENESS_URL"),
		Timeout: r.duration("FACELAMBDA_HEAVY_LIVENESS_TIMEOUT", DefaultHandoff)}
	c.Server = Server{InLambda: r.str("AWS_LAMBDA_RUNTIME_API") != "", Listen: r.strOr("FACELAMBDA_LISTEN", DefaultListen)}
	c.Client = Client{APIKey: r.str("FACELAMBDA_API_KEY")}

	if c.Sessions.DefaultTTL > c.Sessions.MaxTTL {
		r.fail("FACELAMBDA_SESSION_TTL", "is longer than FACELAMBDA_SESSION_MAX_TTL")
	}
	if c.Handoff.Function != "" && c.Handoff.URL != "" {
		r.fail("FACELAMBDA_HEAVY_LIVENESS_URL", "set FACELAMBDA_HEAVY_LIVENESS_FUNCTION or _URL, not both")
	}
	if c.Keys.SigningSecret == "" && c.Keys.SigningParam == "" && c.Keys.SigningKeyFile == "" {
		c.Keys.SigningKeyFile = filepath.Join(c.Store.DataDir, "signing-key.pem")
	}
	c.Keys = c.Keys.inDataDir(c.Store)
	return c, errors.Join(r.errs...)
}

// inDataDir gives the embedded store the key files of its data folder
// unless a KMS key or a file is named.
func (k Keys) inDataDir(s Store) Keys {
	if !s.Embedded() {
		return k
	}
	local := func(kms, file *string, name string) {
		if *kms == "" && *file == "" {
			*file = filepath.Join(s.DataDir, name)
		}
	}
	local(&k.TemplateKMSKey, &k.TemplateKeyFile, "template-master.key")
	local(&k.WebhookKMSKey, &k.WebhookKeyFile, "webhook.key")
	return k
}
