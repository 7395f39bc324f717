package config

// Var documents one variable Parse reads: docs/configuration.md has a row
// for each (a test holds the two lists equal).
type Var struct {
	Name, Type, Default string
	// Used lists the functions and commands that read it.
	Used    string
	Meaning string
}

const (
	modelUsers = "face, match, enroll, liveness, liveness-gpu, serve, CLI"
	awsUsers   = "session, face, match, enroll, liveness, liveness-gpu"
	allFns     = "every function, serve"
)

// Variables lists every variable Parse reads, in the order of the table.
func Variables() []Var {
	return []Var{
		{"FACELAMBDA_MODEL_DIR", "path", "/opt/models when present, else layers/models of the repository", modelUsers, "folder of the ONNX models and manifest.json"},
		{"FACELAMBDA_ORT_LIBRARY", "path", "/opt/lib/libonnxruntime.so.1 when present, else layers/runtime/lib of the repository", modelUsers, "ONNX Runtime shared library"},
		{"FACELAMBDA_ORT_THREADS", "int >= 0", "0 (ONNX Runtime chooses)", modelUsers, "intra-op threads of each model session"},
		{"FACELAMBDA_ORT_SPINNING", "bool", "0", modelUsers, "let ONNX Runtime's threads spin between runs"},
		{"FACELAMBDA_ORT_OPT_ALL", "bool", "0", modelUsers, "ORT_ENABLE_ALL graph optimisation"},
		{"FACELAMBDA_ORT_PROVIDER", "cpu, cuda or auto", "cpu", modelUsers, "execution provider (auto: CUDA when it works, else the CPU)"},
		{"FACELAMBDA_CUDA_DEVICE", "string", "0", modelUsers, "CUDA device ordinal for cuda and auto"},
		{"FACELAMBDA_PURE_GO_DECODE", "bool", "0", modelUsers, "decode JPEGs with the Go decoder instead of libjpeg-turbo"},
		{"FACELAMBDA_STORE", "aws or embedded", "aws (serve: embedded)", allFns, "where records and objects live: DynamoDB + S3, or the embedded store in FACELAMBDA_DATA_DIR"},
		{"FACELAMBDA_DATA_DIR", "path", ".data", "serve, keys, every function (signing key file)", "folder of the embedded store and of its local key files"},
		{"FACELAMBDA_TABLE", "string", "none (required with aws)", awsUsers + ", webhook, keys --store aws", "DynamoDB table"},
		{"FACELAMBDA_BUCKET", "string", "none (required with aws)", awsUsers, "S3 bucket of images and captures"},
		{"FACELAMBDA_DYNAMODB_ENDPOINT", "URL", "the AWS endpoint", awsUsers + ", webhook, keys, setup-local", "DynamoDB endpoint (DynamoDB Local)"},
		{"FACELAMBDA_S3_ENDPOINT", "URL", "the AWS endpoint", awsUsers + ", setup-local", "S3 endpoint (a local S3 server)"},
		{"FACELAMBDA_SQS_ENDPOINT", "URL", "the AWS endpoint", awsUsers + ", webhook", "SQS endpoint"},
		{"FACELAMBDA_BLOB_KMS_KEY", "KMS key id", "none (bucket default encryption)", awsUsers, "SSE-KMS key of every object the service puts"},
		{"FACELAMBDA_STORE_THUMBNAILS", "bool", "1", "enroll, serve", "keep a thumbnail of each enrolled image"},
		{"FACELAMBDA_EVENTS_QUEUE_URL", "URL", "none (no events published)", awsUsers + ", webhook", "SQS queue of domain events and webhook retries (required by webhook)"},
		{"FACELAMBDA_EVENTS_DLQ_URL", "URL", "none", "webhook", "dead-letter queue of exhausted deliveries (required by webhook)"},
		{"FACELAMBDA_TEMPLATE_KMS_KEY", "KMS key id", "none", "face, match, enroll, liveness, liveness-gpu, serve", "KMS key sealing templates and capture keys"},
		{"FACELAMBDA_TEMPLATE_KEY_FILE", "path", "none; embedded: <data dir>/template-master.key", "face, match, enroll, liveness, liveness-gpu, serve", "local key file used when no KMS key is set"},
		{"FACELAMBDA_WEBHOOK_KMS_KEY", "KMS key id", "none", "session, webhook, serve", "KMS key sealing webhook secrets"},
		{"FACELAMBDA_WEBHOOK_KEY_FILE", "path", "none; embedded: <data dir>/webhook.key", "session, webhook, serve", "local key file used when no KMS key is set"},
		{"FACELAMBDA_SIGNING_KEY_SECRET", "secret id", "none", awsUsers + ", serve", "Secrets Manager secret holding the result-signing PEM key"},
		{"FACELAMBDA_SIGNING_KEY_PARAM", "parameter name", "none", awsUsers + ", serve", "SSM SecureString holding the signing key (when no secret is set)"},
		{"FACELAMBDA_SIGNING_KEY_FILE", "path", "<data dir>/signing-key.pem", awsUsers + ", serve", "local signing key file, created when missing (when neither secret nor parameter is set)"},
		{"FACELAMBDA_WEBHOOK_ALLOW_HTTP", "bool", "0; embedded: 1", "session, webhook, serve", "accept http:// webhook and callback URLs"},
		{"FACELAMBDA_WEBHOOK_ALLOW", "CIDRs/addresses, comma-separated", "none", "session, webhook, serve", "addresses exempt from the private-address rules (tests); a bad entry stops start-up"},
		{"FACELAMBDA_SESSION_TTL", "seconds", "300", awsUsers + ", serve", "bio-session lifetime when the request asks none (0 = default)"},
		{"FACELAMBDA_SESSION_MAX_TTL", "seconds", "86400", awsUsers + ", serve", "largest ttlSeconds accepted (0 = default)"},
		{"FACELAMBDA_LIVENESS_MEASURES", "bool", "0", "liveness, liveness-gpu, serve", "answer the measures behind active liveness results"},
		{"FACELAMBDA_HEAVY_LIVENESS_FUNCTION", "function name or ARN", "none", "liveness", "GPU Lambda function heavy liveness requests are handed to"},
		{"FACELAMBDA_HEAVY_LIVENESS_URL", "https URL", "none", "liveness", "GPU service URL heavy liveness requests are handed to (not with _FUNCTION)"},
		{"FACELAMBDA_HEAVY_LIVENESS_TIMEOUT", "duration", "12s", "liveness", "bound of one hand-off"},
		{"AWS_LAMBDA_RUNTIME_API", "host:port", "set by Lambda", "liveness-gpu", "present: serve as a Lambda function; absent: plain HTTP server"},
		{"FACELAMBDA_LISTEN", "host:port", ":8080", "liveness-gpu", "address of the plain HTTP server outside Lambda"},
		{"FACELAMBDA_API_KEY", "string", "none", "load", "API key of `facelambda load` (its --key flag's default)"},
	}
}
