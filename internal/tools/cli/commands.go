package cli

// commands is the command tree of facelambda: every command and
// subcommand, its arguments, its one-line help and the function it runs.
// Run dispatches every level from it and prints every usage from it.
func commands() *Command {
	return &Command{Name: "facelambda", Help: "serverless face biometrics, local tools", Subs: []*Command{
		{Name: "serve", Args: "[--addr :3000] [--data .data]", Help: "serve every function's API locally (embedded store)", Run: serve},
		{Name: "eval", Help: "accuracy of the models and of the liveness checks on labelled data", Subs: []*Command{
			{Name: "verify", Args: "--root DIR --pairs FILE", Help: "verification accuracy on a pairs file", Run: evalVerify},
			{Name: "detect", Args: "--root DIR --labels FILE", Help: "detection counts and box recall", Run: evalDetect},
			{Name: "identify", Args: "--root DIR [--json]", Help: "1:N identification on LFW: rank-1/5, FPIR and FNIR at the HIGH cut-off", Run: evalIdentify},
			{Name: "liveness", Args: "--root DIR --labels FILE [--level L]", Help: "passive liveness (PAD) metrics, pooled and per group", Run: evalLiveness},
			{Name: "passive-loso", Args: "--data DIR [--level L] [--fusions A,B] [--json]", Help: "passive liveness, leave-one-source-out: calibrate without each source, measure on it", Run: evalPassiveLOSO},
			{Name: "active", Args: "--root DIR [--identities N] | --clips DIR --labels FILE [--annotations FILE] [--trace OUTDIR] [--json]", Help: "active liveness challenges: LFW pose sequences vs a turned photo, or real clips through the API's analysis", Run: evalActive},
			{Name: "planarity", Args: "--root DIR [--identities N]", Help: "active liveness planar motion test: real head poses vs turned photos (LFW)", Run: evalPlanarity},
			{Name: "template-fusion", Args: "--root DIR [--enrol N]", Help: "how a multi-vector template scores a probe (max, mean, centroid) on LFW", Run: evalFusion},
		}},
		{Name: "calibrate", Args: "--root DIR [--out FILE]", Help: "build the score/FAR table from impostor pairs", Run: calibrate, Subs: []*Command{
			{Name: "liveness", Args: "--data DIR | --root DIR --labels FILE", Help: "liveness level thresholds from every passive source (--data) or one labels file", Run: calibrateLiveness},
		}},
		{Name: "bench", Args: "[--json]", Help: "model and end-to-end latency", Run: bench, Subs: []*Command{
			{Name: "identify", Args: "[--size N] [--encoding E|all] [--queries Q] [--json]", Help: "1:N search: latency on one core, memory, agreement with exact search (synthetic)", Run: benchIdentify},
		}},
		{Name: "invoke", Args: "--function NAME --event FILE", Help: "run a function binary on an event, as sam local invoke does", Run: invoke},
		{Name: "keys", Help: "API keys", Subs: []*Command{
			{Name: "create", Args: "--tenant T [--scopes a,b]", Help: "create an API key (local store, or --store aws)", Run: keysCreate},
		}},
		{Name: "load", Args: "--key K [--url U]", Help: "load-test a running server with bio-session flows", Run: load},
		{Name: "setup-local", Args: "--dynamodb URL --s3 URL", Help: "table, bucket and events fixture on local AWS servers", Run: setupLocal},
		{Name: "capture", Args: "--params FILE --frames DIR [--fps N] --out FILE [--seal]", Help: "build (and encrypt) an active liveness capture from JPEG frames", Run: buildCapture},
	}}
}
