package config_test

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/config"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, c config.Config)
		wantErr []string
	}{
		{name: "defaults", env: nil, check: func(t *testing.T, c config.Config) {
			assert.Equal(t, config.StoreAWS, c.Store.Backend)
			assert.Equal(t, ".data", c.Store.DataDir)
			assert.Equal(t, "cpu", c.Models.Provider)
			assert.Zero(t, c.Models.Threads)
			assert.True(t, c.Store.Thumbnails)
			assert.False(t, c.Liveness.ExposeMeasures)
			assert.False(t, c.Webhooks.AllowHTTP)
			assert.Empty(t, c.Webhooks.Allow)
			assert.Equal(t, 5*time.Minute, c.Sessions.DefaultTTL)
			assert.Equal(t, 24*time.Hour, c.Sessions.MaxTTL)
			assert.Equal(t, 12*time.Second, c.Handoff.Timeout)
			assert.False(t, c.Handoff.Remote())
			assert.Equal(t, ":8080", c.Server.Listen)
			assert.False(t, c.Server.InLambda)
			assert.Equal(t, ".data/signing-key.pem", c.Keys.SigningKeyFile)
			assert.Empty(t, c.Keys.TemplateKeyFile, "no template key is made up outside the embedded store")
		}},
		{name: "embedded store keeps its keys in its folder", env: map[string]string{"FACELAMBDA_STORE": "Embedded", "FACELAMBDA_DATA_DIR": "/srv/fl"},
			check: func(t *testing.T, c config.Config) {
				assert.True(t, c.Store.Embedded())
				assert.Equal(t, "/srv/fl/template-master.key", c.Keys.TemplateKeyFile)
				assert.Equal(t, "/srv/fl/webhook.key", c.Keys.WebhookKeyFile)
				assert.Equal(t, "/srv/fl/signing-key.pem", c.Keys.SigningKeyFile)
				assert.True(t, c.Webhooks.AllowHTTP, "local development accepts http callbacks by default")
			}},
		{name: "named keys win over the data folder", env: map[string]string{"FACELAMBDA_STORE": "embedded",
			"FACELAMBDA_TEMPLATE_KMS_KEY": "alias/t", "FACELAMBDA_WEBHOOK_KEY_FILE": "/k/w", "FACELAMBDA_SIGNING_KEY_SECRET": "s",
			"FACELAMBDA_WEBHOOK_ALLOW_HTTP": "0"},
			check: func(t *testing.T, c config.Config) {
				assert.Empty(t, c.Keys.TemplateKeyFile)
				assert.Equal(t, "/k/w", c.Keys.WebhookKeyFile)
				assert.Empty(t, c.Keys.SigningKeyFile)
				assert.False(t, c.Webhooks.AllowHTTP)
			}},
		{name: "values", env: map[string]string{"FACELAMBDA_ORT_THREADS": "2", "FACELAMBDA_ORT_PROVIDER": " Auto ",
			"FACELAMBDA_CUDA_DEVICE": "1", "FACELAMBDA_ORT_SPINNING": "1", "FACELAMBDA_PURE_GO_DECODE": "true",
			"FACELAMBDA_STORE_THUMBNAILS": "0", "FACELAMBDA_LIVENESS_MEASURES": "1", "FACELAMBDA_SESSION_TTL": "60",
			"FACELAMBDA_SESSION_MAX_TTL": "3600", "FACELAMBDA_WEBHOOK_ALLOW": "127.0.0.1, 10.1.2.3/8 ,,::1",
			"FACELAMBDA_HEAVY_LIVENESS_URL": "https://gpu.example", "FACELAMBDA_HEAVY_LIVENESS_TIMEOUT": "5s",
			"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "FACELAMBDA_LISTEN": ":9000", "FACELAMBDA_TABLE": "t"},
			check: func(t *testing.T, c config.Config) {
				assert.Equal(t, config.Models{Threads: 2, Provider: "auto", CUDADevice: "1", Spinning: true, PureGoDecode: true}, c.Models)
				assert.False(t, c.Store.Thumbnails)
				assert.True(t, c.Liveness.ExposeMeasures)
				assert.Equal(t, config.Sessions{DefaultTTL: time.Minute, MaxTTL: time.Hour}, c.Sessions)
				assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"),
					netip.MustParsePrefix("::1/128")}, c.Webhooks.Allow)
				assert.Equal(t, config.Handoff{URL: "https://gpu.example", Timeout: 5 * time.Second}, c.Handoff)
				assert.Equal(t, config.Server{InLambda: true, Listen: ":9000"}, c.Server)
				assert.Equal(t, "t", c.Store.Table)
			}},
		{name: "zero session times mean the defaults", env: map[string]string{"FACELAMBDA_SESSION_TTL": "0", "FACELAMBDA_SESSION_MAX_TTL": ""},
			check: func(t *testing.T, c config.Config) {
				assert.Equal(t, config.Sessions{DefaultTTL: 5 * time.Minute, MaxTTL: 24 * time.Hour}, c.Sessions)
			}},
		{name: "bad webhook allow-list", env: map[string]string{"FACELAMBDA_WEBHOOK_ALLOW": "10.0.0.0/8,intranet"},
			wantErr: []string{`FACELAMBDA_WEBHOOK_ALLOW entry "intranet"`}},
		{name: "bad numbers and flags, all reported", env: map[string]string{"FACELAMBDA_ORT_THREADS": "-1",
			"FACELAMBDA_SESSION_TTL": "5m", "FACELAMBDA_LIVENESS_MEASURES": "yes", "FACELAMBDA_ORT_PROVIDER": "tpu"},
			wantErr: []string{"FACELAMBDA_ORT_THREADS", "FACELAMBDA_SESSION_TTL", "FACELAMBDA_LIVENESS_MEASURES", "FACELAMBDA_ORT_PROVIDER"}},
		{name: "unknown store", env: map[string]string{"FACELAMBDA_STORE": "sqlite"}, wantErr: []string{"FACELAMBDA_STORE"}},
		{name: "ttl above the maximum", env: map[string]string{"FACELAMBDA_SESSION_TTL": "7200", "FACELAMBDA_SESSION_MAX_TTL": "3600"},
			wantErr: []string{"longer than FACELAMBDA_SESSION_MAX_TTL"}},
		{name: "both hand-off targets", env: map[string]string{"FACELAMBDA_HEAVY_LIVENESS_FUNCTION": "gpu", "FACELAMBDA_HEAVY_LIVENESS_URL": "https://gpu.example"},
			wantErr: []string{"not both"}},
		{name: "bad hand-off timeout", env: map[string]string{"FACELAMBDA_HEAVY_LIVENESS_TIMEOUT": "0s"}, wantErr: []string{"positive duration"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Parse(env(tc.env))
			if len(tc.wantErr) > 0 {
				require.Error(t, err)
				for _, w := range tc.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			tc.check(t, c)
		})
	}
}

// TestVariablesAreWhatParseReads: the documented list is exactly the
// variables Parse looks up.
func TestVariablesAreWhatParseReads(t *testing.T) {
	var read []string
	_, err := config.Parse(func(k string) (string, bool) { read = append(read, k); return "", false })
	require.NoError(t, err)
	var listed []string
	for _, v := range config.Variables() {
		listed = append(listed, v.Name)
		assert.NotEmpty(t, v.Type, v.Name)
		assert.NotEmpty(t, v.Default, v.Name)
		assert.NotEmpty(t, v.Used, v.Name)
		assert.NotEmpty(t, v.Meaning, v.Name)
	}
	slices.Sort(read)
	read = slices.Compact(read)
	slices.Sort(listed)
	assert.Equal(t, read, listed)
}

func TestLoadWith(t *testing.T) {
	t.Setenv("FACELAMBDA_STORE", "aws")
	t.Setenv("FACELAMBDA_DATA_DIR", "/from/env")
	t.Setenv("FACELAMBDA_LIVENESS_MEASURES", "1")
	c, err := config.LoadWith(map[string]string{"FACELAMBDA_STORE": "embedded"})
	require.NoError(t, err)
	assert.True(t, c.Store.Embedded(), "the override wins")
	assert.Equal(t, "/from/env/template-master.key", c.Keys.TemplateKeyFile, "defaults follow the override")
	assert.True(t, c.Liveness.ExposeMeasures, "the rest comes from the environment")

	t.Setenv("FACELAMBDA_WEBHOOK_ALLOW", "not-an-address")
	_, err = config.Load()
	assert.ErrorContains(t, err, "FACELAMBDA_WEBHOOK_ALLOW")
}
