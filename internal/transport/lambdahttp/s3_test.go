package lambdahttp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithS3(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte(r.URL.Path))
	})
	var got []string
	fail := false
	var times []time.Time
	fn := WithS3(h, func(_ context.Context, bucket, key string, created time.Time) error {
		got = append(got, bucket+":"+key)
		times = append(times, created)
		if fail {
			return errors.New("transient")
		}
		return nil
	})
	s3ev := `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","eventTime":"2026-11-22T10:00:00.5Z","s3":{"bucket":{"name":"b"},"object":{"key":"liveness-uploads/t/s/a%2Bb+c.zip","size":10}}},
		{"eventSource":"aws:s3","s3":{"bucket":{"name":"b"},"object":{"key":"liveness-uploads/t/s/x.zip"}}}]}`
	out, err := fn(t.Context(), json.RawMessage(s3ev))
	require.NoError(t, err)
	assert.Nil(t, out)
	assert.Equal(t, []string{"b:liveness-uploads/t/s/a+b c.zip", "b:liveness-uploads/t/s/x.zip"}, got, "keys are URL-decoded")
	assert.Equal(t, time.Date(2026, 11, 22, 10, 0, 0, 5e8, time.UTC), times[0].UTC(), "the event's time")

	fail, got = true, nil
	_, err = fn(t.Context(), json.RawMessage(s3ev))
	require.Error(t, err, "errors are returned so that Lambda retries")
	assert.Len(t, got, 2, "every record is tried")

	fail, got = false, nil
	times = nil
	eb := `{"version":"0","source":"aws.s3","detail-type":"Object Created","time":"2026-11-22T11:00:00Z","detail":{"bucket":{"name":"b"},"object":{"key":"liveness-uploads/t/s/r.zip","size":3}}}`
	_, err = fn(t.Context(), json.RawMessage(eb))
	require.NoError(t, err)
	assert.Equal(t, []string{"b:liveness-uploads/t/s/r.zip"}, got, "EventBridge's Object Created event")
	assert.Equal(t, time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC), times[0].UTC())
	got = nil
	_, err = fn(t.Context(), json.RawMessage(`{"source":"aws.s3","detail-type":"Object Deleted","detail":{}}`))
	require.NoError(t, err)
	assert.Empty(t, got, "other S3 events are ignored")

	req, err := json.Marshal(events.APIGatewayV2HTTPRequest{RawPath: "/v2/liveness", RequestContext: events.APIGatewayV2HTTPRequestContext{
		HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/v2/liveness"}}})
	require.NoError(t, err)
	out, err = fn(t.Context(), req)
	require.NoError(t, err)
	res, ok := out.(events.APIGatewayV2HTTPResponse)
	require.True(t, ok, "an HTTP event gets an HTTP response: %T", out)
	assert.Equal(t, http.StatusTeapot, res.StatusCode)
	assert.Equal(t, "/v2/liveness", res.Body)

	sqs := `{"Records":[{"eventSource":"aws:sqs","body":"{}"}]}`
	out, err = fn(t.Context(), json.RawMessage(sqs))
	require.NoError(t, err, "not an S3 event: handled as HTTP (and answered 404 by the handler's routing)")
	_, ok = out.(events.APIGatewayV2HTTPResponse)
	assert.True(t, ok)
}
