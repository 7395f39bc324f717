package events_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/events"
)

func TestEventJSON(t *testing.T) {
	ev, err := events.NewSessionCreated("acme", events.SessionData{SessionID: "s1", CorrelationID: "c1"})
	require.NoError(t, err)
	assert.Regexp(t, `^evt_[0-9a-f]{32}$`, ev.ID)
	assert.WithinDuration(t, time.Now(), ev.Created, time.Second)
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.ElementsMatch(t, []string{"id", "type", "created", "tenant", "data"}, keys(m))
	assert.Equal(t, "session.created", m["type"])
	assert.Equal(t, map[string]any{"sessionId": "s1", "correlationId": "c1"}, m["data"])

	var back events.Event
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, ev.ID, back.ID)
	assert.True(t, ev.Created.Equal(back.Created))
	require.NoError(t, back.Validate())
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestConstructors(t *testing.T) {
	yes := true
	for typ, mk := range map[string]func() (events.Event, error){
		events.SessionCreated: func() (events.Event, error) { return events.NewSessionCreated("t", events.SessionData{SessionID: "s"}) },
		events.SessionDeleted: func() (events.Event, error) { return events.NewSessionDeleted("t", events.SessionData{SessionID: "s"}) },
		events.FaceCreated:    func() (events.Event, error) { return events.NewFaceCreated("t", events.FaceData{FaceID: "f"}) },
		events.MatchCompleted: func() (events.Event, error) {
			return events.NewMatchCompleted("t", events.MatchData{Score: 0.5, PossibleMatch: &yes})
		},
		events.LivenessCompleted: func() (events.Event, error) {
			return events.NewLivenessCompleted("t", events.LivenessData{SessionID: "s", Live: true})
		},
		events.EnrollmentCompleted: func() (events.Event, error) {
			return events.NewEnrollmentCompleted("t", events.EnrollmentData{ClassID: 7, Templates: 2})
		},
		events.EnrollmentFailed: func() (events.Event, error) {
			return events.NewEnrollmentFailed("t", events.EnrollmentData{ClassID: 7, ErrorCode: "FACE_NOT_FOUND"})
		},
		events.VerificationCompleted: func() (events.Event, error) {
			return events.NewVerificationCompleted("t", events.VerificationData{ClassID: 7, Score: 0.9})
		},
		events.IdentificationCompleted: func() (events.Event, error) {
			return events.NewIdentificationCompleted("t", events.IdentificationData{Gallery: "g"})
		},
		events.TemplateDeleted: func() (events.Event, error) { return events.NewTemplateDeleted("t", events.TemplateData{ClassID: 7}) },
		events.WebhookTest:     func() (events.Event, error) { return events.NewPing("t", "w") },
	} {
		ev, err := mk()
		require.NoError(t, err, typ)
		assert.Equal(t, typ, ev.Type)
		assert.True(t, events.Known(typ))
		assert.Equal(t, typ != events.WebhookTest, events.Subscribable(typ))
		require.NoError(t, ev.Validate())
	}
	ev, err := events.NewIdentificationCompleted("t", events.IdentificationData{Gallery: "g"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"gallery":"g","candidates":[]}`, string(ev.Data))
	_, err = events.NewMatchCompleted("t", events.MatchData{Score: math.NaN()})
	assert.Error(t, err)
	assert.Len(t, events.Types, 10)
}

// TestDataHasNoBinaryFields guards the rule that events never carry an
// image or a template: no data type has a []byte (or any) field.
func TestDataHasNoBinaryFields(t *testing.T) {
	for _, v := range []any{
		events.SessionData{}, events.FaceData{}, events.MatchData{}, events.LivenessData{},
		events.EnrollmentData{}, events.VerificationData{}, events.Candidate{}, events.IdentificationData{},
		events.TemplateData{}, events.PingData{},
	} {
		checkNoBinary(t, reflect.TypeOf(v))
	}
}

func checkNoBinary(t *testing.T, typ reflect.Type) {
	for i := range typ.NumField() {
		f := typ.Field(i)
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Uint8 {
				t.Errorf("%s.%s is binary", typ.Name(), f.Name)
			}
			ft = ft.Elem()
		}
		switch ft.Kind() {
		case reflect.Struct:
			checkNoBinary(t, ft)
		case reflect.Interface, reflect.Map:
			t.Errorf("%s.%s can hold anything", typ.Name(), f.Name)
		}
	}
}

func TestValidate(t *testing.T) {
	good := events.Event{ID: "evt_1", Type: events.FaceCreated, Created: time.Now(), Tenant: "t", Data: json.RawMessage(`{}`)}
	require.NoError(t, good.Validate())
	for name, mutate := range map[string]func(e *events.Event){
		"no id":        func(e *events.Event) { e.ID = "" },
		"bad id":       func(e *events.Event) { e.ID = "evt/1" },
		"long id":      func(e *events.Event) { e.ID = string(make([]byte, 65)) },
		"unknown type": func(e *events.Event) { e.Type = "face.exploded" },
		"no tenant":    func(e *events.Event) { e.Tenant = "" },
		"no time":      func(e *events.Event) { e.Created = time.Time{} },
		"bad data":     func(e *events.Event) { e.Data = json.RawMessage(`{`) },
	} {
		e := good
		mutate(&e)
		assert.ErrorIs(t, e.Validate(), events.ErrInvalid, name)
	}
}

func TestLocal(t *testing.T) {
	var mu sync.Mutex
	var got []string
	release := make(chan struct{})
	l := events.NewLocal(func(_ context.Context, ev events.Event) error {
		<-release
		mu.Lock()
		got = append(got, ev.ID)
		mu.Unlock()
		if ev.Type == events.SessionDeleted {
			panic("handler panic is recovered")
		}
		return errors.New("handler errors are logged")
	}, events.LocalOptions{Workers: 1, Buffer: 2})

	var ids []string
	for i := range 3 { // 1 in the worker, 2 in the buffer
		ev, err := events.NewSessionCreated("t", events.SessionData{SessionID: "s"})
		require.NoError(t, err)
		if i == 2 {
			ev.Type = events.SessionDeleted
		}
		require.NoError(t, l.Publish(t.Context(), ev))
		ids = append(ids, ev.ID)
	}
	// The queue is full: Publish waits until its context is done.
	full, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	require.Eventually(t, func() bool {
		ev, _ := events.NewSessionCreated("t", events.SessionData{SessionID: "x"})
		return errors.Is(l.Publish(full, ev), context.DeadlineExceeded)
	}, 2*time.Second, time.Millisecond)
	assert.Error(t, l.Publish(t.Context(), events.Event{}), "an invalid event")

	close(release)
	require.NoError(t, l.Close(t.Context()), "Close drains the queue")
	mu.Lock()
	assert.Equal(t, ids, got)
	mu.Unlock()
	ev, err := events.NewSessionCreated("t", events.SessionData{SessionID: "s"})
	require.NoError(t, err)
	assert.ErrorIs(t, l.Publish(t.Context(), ev), events.ErrClosed)
	require.NoError(t, l.Close(t.Context()), "Close twice")
}

func TestLocalCloseTimeout(t *testing.T) {
	var cancelled atomic.Bool
	l := events.NewLocal(func(ctx context.Context, _ events.Event) error {
		<-ctx.Done()
		cancelled.Store(true)
		return ctx.Err()
	}, events.LocalOptions{})
	ev, err := events.NewFaceCreated("t", events.FaceData{FaceID: "f"})
	require.NoError(t, err)
	require.NoError(t, l.Publish(t.Context(), ev))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, l.Close(ctx), context.DeadlineExceeded)
	assert.True(t, cancelled.Load(), "the handlers' context is cancelled")
}

// TestSQS publishes to a queue of the moto server.
func TestSQS(t *testing.T) {
	endpoint := os.Getenv("FACELAMBDA_TEST_S3_ENDPOINT")
	if endpoint == "" {
		t.Skip("FACELAMBDA_TEST_S3_ENDPOINT is not set: start the local servers with " +
			"`eval \"$(scripts/localaws/start.sh)\"` (moto serves SQS) and run the tests again")
	}
	c := sqs.New(sqs.Options{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	})
	var b [6]byte
	_, _ = rand.Read(b[:])
	q, err := c.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("facelambda-test-events-" + hex.EncodeToString(b[:]))})
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl}) })

	pub := events.NewSQS(c, aws.ToString(q.QueueUrl))
	ev, err := events.NewTemplateDeleted("acme", events.TemplateData{ClassID: 42})
	require.NoError(t, err)
	require.NoError(t, pub.Publish(t.Context(), ev))
	assert.ErrorIs(t, pub.Publish(t.Context(), events.Event{}), events.ErrInvalid)

	out, err := c.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
		QueueUrl: q.QueueUrl, WaitTimeSeconds: 2, MessageAttributeNames: []string{"All"},
	})
	require.NoError(t, err)
	require.Len(t, out.Messages, 1)
	m := out.Messages[0]
	var got events.Event
	require.NoError(t, json.Unmarshal([]byte(aws.ToString(m.Body)), &got))
	assert.Equal(t, ev.ID, got.ID)
	assert.JSONEq(t, `{"classId":42}`, string(got.Data))
	assert.Equal(t, events.TemplateDeleted, aws.ToString(m.MessageAttributes["type"].StringValue))
	assert.Equal(t, "acme", aws.ToString(m.MessageAttributes["tenant"].StringValue))
}
