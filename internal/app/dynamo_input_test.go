package app_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/store/dynamo"
	"github.com/facelambda/facelambda/internal/adapters/store/s3blob"
	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/app/apptest"
	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/biometric/biometrictest"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/transport/lambdahttp"
)

// TestLongFieldsOnLambdaWithDynamoDB: the face function in Lambda on
// DynamoDB answers a 450 KB friendlyName or correlationId with 400
// FIELD_TOO_LONG naming the field (it was a 500 when DynamoDB refused the
// item), and stores a face whose fields are within their limits. It runs
// on DynamoDB Local and the S3 server, with the fake face engine.
func TestLongFieldsOnLambdaWithDynamoDB(t *testing.T) {
	endpoint, s3ep := os.Getenv("FACELAMBDA_TEST_DYNAMODB_ENDPOINT"), os.Getenv("FACELAMBDA_TEST_S3_ENDPOINT")
	if endpoint == "" || s3ep == "" {
		t.Skip("FACELAMBDA_TEST_DYNAMODB_ENDPOINT and FACELAMBDA_TEST_S3_ENDPOINT are not set (make test starts DynamoDB Local and moto)")
	}
	for k, v := range map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"} {
		t.Setenv(k, v)
	}
	awsCfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	client := dynamodb.NewFromConfig(awsCfg, dynamo.WithEndpoint(endpoint))
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "facelambda-input-" + hex.EncodeToString(b[:])
	require.NoError(t, dynamo.CreateTable(t.Context(), client, name))
	t.Cleanup(func() { _ = dynamo.DeleteTable(context.Background(), client, name) })
	require.NoError(t, s3blob.CreateBucket(t.Context(), s3.NewFromConfig(awsCfg, s3blob.WithEndpoint(s3ep)), name))
	g := apptest.Graph(t, apptest.Fake(app.Need{Models: true}), map[string]string{"FACELAMBDA_STORE": config.StoreAWS,
		"FACELAMBDA_TABLE": name, "FACELAMBDA_BUCKET": name, "FACELAMBDA_DYNAMODB_ENDPOINT": endpoint, "FACELAMBDA_S3_ENDPOINT": s3ep,
		"FACELAMBDA_TEMPLATE_KEY_FILE": filepath.Join(t.TempDir(), "template.key")})
	records := g.Deps.Records
	key, _, err := auth.Create(t.Context(), records, "acme", "test", []string{auth.ScopeAll}, time.Now())
	require.NoError(t, err)
	fns := app.Functions(g.Deps)
	call := func(fn, path string, body any) (int, map[string]any) {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		res, err := lambdahttp.Handler(fns[fn])(t.Context(), events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: path,
			Headers: map[string]string{"content-type": "application/json", "apikey": key}, Body: string(raw),
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: path}}})
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(res.Body), &m), res.Body)
		return res.StatusCode, m
	}
	status, sess := call("session", "/v2/bio-sessions", map[string]any{"correlationId": "c-1"})
	require.Equal(t, 201, status, sess)
	b64 := base64.StdEncoding.EncodeToString(biometrictest.Portrait(1))
	long := strings.Repeat("n", 450<<10)
	path := "/v2/bio-sessions/" + sess["id"].(string) + "/faces"
	for _, field := range []string{"friendlyName", "correlationId"} {
		status, m := call("face", path, map[string]any{"image": b64, field: long})
		assert.Equal(t, 400, status, m)
		assert.Equal(t, fault.CodeFieldTooLong, m["code"])
		assert.Equal(t, field, m["field"])
	}
	status, m := call("face", path, map[string]any{"image": b64, "friendlyName": strings.Repeat("n", 256), "correlationId": strings.Repeat("c", 256)})
	assert.Equal(t, 201, status, m)
}
