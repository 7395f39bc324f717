package app_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/store/dynamo"
	"github.com/facelambda/facelambda/internal/adapters/store/embedded"
	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/testkit"
	"github.com/facelambda/facelambda/internal/transport/httpapi"
	"github.com/facelambda/facelambda/internal/transport/lambdahttp"
)

// TestLongFieldsOnLambdaWithDynamoDB: the face function in Lambda on
// DynamoDB answers a 450 KB friendlyName or correlationId with 400
// FIELD_TOO_LONG naming the field (it was a 500 when DynamoDB refused the
// item), and stores a face whose fields are within their limits.
func TestLongFieldsOnLambdaWithDynamoDB(t *testing.T) {
	endpoint := os.Getenv("FACELAMBDA_TEST_DYNAMODB_ENDPOINT")
	if endpoint == "" {
		t.Skip("FACELAMBDA_TEST_DYNAMODB_ENDPOINT is not set (make test starts DynamoDB Local)")
	}
	client := dynamodb.New(dynamodb.Options{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")},
		dynamo.WithEndpoint(endpoint))
	var b [6]byte
	_, _ = rand.Read(b[:])
	table := "facelambda-input-" + hex.EncodeToString(b[:])
	require.NoError(t, dynamo.CreateTable(t.Context(), client, table))
	t.Cleanup(func() { _ = dynamo.DeleteTable(context.Background(), client, table) })
	records := dynamo.New(client, table)
	blobs, err := embedded.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { blobs.Close() })
	bio, err := app.Service()
	require.NoError(t, err, "run `make layers`")
	d := &httpapi.Deps{Bio: bio, Records: records, Blobs: blobs, Keys: records}
	key, _, err := auth.Create(t.Context(), records, "acme", "test", []string{auth.ScopeAll}, time.Now())
	require.NoError(t, err)
	fns := app.Functions(d)
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
	img, err := os.ReadFile(testkit.Testdata(t, "faces", "obama.jpg"))
	require.NoError(t, err)
	b64 := base64.StdEncoding.EncodeToString(img)
	long := strings.Repeat("n", 450<<10)
	path := "/v2/bio-sessions/" + sess["id"].(string) + "/faces"
	for _, field := range []string{"friendlyName", "correlationId"} {
		status, m := call("face", path, map[string]any{"image": b64, field: long})
		assert.Equal(t, 400, status, m)
		assert.Equal(t, httpapi.CodeFieldTooLong, m["code"])
		assert.Equal(t, field, m["field"])
	}
	status, m := call("face", path, map[string]any{"image": b64, "friendlyName": strings.Repeat("n", 256), "correlationId": strings.Repeat("c", 256)})
	assert.Equal(t, 201, status, m)
}
