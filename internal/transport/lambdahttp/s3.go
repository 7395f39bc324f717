package lambdahttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// ObjectFunc handles one object created in a bucket, at created (the
// event's time).
type ObjectFunc func(ctx context.Context, bucket, key string, created time.Time) error

// WithS3 returns a Lambda handler for a function that serves h behind API
// Gateway and is also triggered when objects are created in a bucket, in
// either shape AWS delivers that:
//
//   - an S3 event notification: every record from aws:s3 calls onObject
//     (with the key URL-decoded, as S3 encodes it in notifications);
//   - an EventBridge "Object Created" event from aws.s3 (the key as is).
//
// Any other event is an API Gateway v2 HTTP request for h. Errors of an
// object event are joined and returned, so that Lambda retries the
// (asynchronous) invocation.
func WithS3(h http.Handler, onObject ObjectFunc) func(ctx context.Context, raw json.RawMessage) (any, error) {
	httpFn := Handler(h)
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			Records    []record  `json:"Records"`
			Source     string    `json:"source"`
			DetailType string    `json:"detail-type"`
			Time       time.Time `json:"time"`
			Detail     struct {
				Bucket struct {
					Name string `json:"name"`
				} `json:"bucket"`
				Object struct {
					Key string `json:"key"`
				} `json:"object"`
			} `json:"detail"`
		}
		perr := json.Unmarshal(raw, &probe)
		if perr == nil && probe.Source == "aws.s3" {
			if probe.DetailType != "Object Created" {
				return nil, nil // not an event this function acts on
			}
			return nil, onObject(ctx, probe.Detail.Bucket.Name, probe.Detail.Object.Key, probe.Time)
		}
		if perr == nil && len(probe.Records) > 0 && allS3(probe.Records) {
			var ev events.S3Event
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("s3 event: %w", err)
			}
			var errs []error
			for _, r := range ev.Records {
				key, err := url.QueryUnescape(r.S3.Object.Key)
				if err != nil {
					errs = append(errs, fmt.Errorf("s3 event: key %q: %w", r.S3.Object.Key, err))
					continue
				}
				if err := onObject(ctx, r.S3.Bucket.Name, key, r.EventTime); err != nil {
					errs = append(errs, err)
				}
			}
			return nil, errors.Join(errs...)
		}
		var req events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, fmt.Errorf("api gateway event: %w", err)
		}
		return httpFn(ctx, req)
	}
}

// record is what WithS3 reads of an event record to tell its source.
type record struct {
	EventSource string `json:"eventSource"`
}

func allS3(records []record) bool {
	for _, r := range records {
		if r.EventSource != "aws:s3" {
			return false
		}
	}
	return true
}

// StartWithS3 runs WithS3(h, onObject) as the Lambda function of this
// process (it does not return).
func StartWithS3(h http.Handler, onObject ObjectFunc) { lambda.Start(WithS3(h, onObject)) }
