package webhook_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/webhook"
)

// sqsEndpointEnv names the moto server, which serves SQS at the S3
// endpoint's URL.
const sqsEndpointEnv = "FACELAMBDA_TEST_S3_ENDPOINT"

func sqsClient(t *testing.T) *sqs.Client {
	t.Helper()
	endpoint := os.Getenv(sqsEndpointEnv)
	if endpoint == "" {
		t.Skipf("%s is not set: run `make test`, or start the local servers with "+
			"`eval \"$(scripts/localaws/start.sh)\"` and run the tests again (moto serves SQS)", sqsEndpointEnv)
	}
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	})
}

// newQueue creates a uniquely named queue, deleted after the test.
func newQueue(t *testing.T, c *sqs.Client, name string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	out, err := c.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("facelambda-test-" + name + "-" + hex.EncodeToString(b[:]))})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl})
	})
	return aws.ToString(out.QueueUrl)
}

// receive returns the messages of a queue as the Lambda event source
// would hand them over.
func receive(t *testing.T, c *sqs.Client, queueURL string, want int) awsevents.SQSEvent {
	t.Helper()
	var e awsevents.SQSEvent
	deadline := time.Now().Add(10 * time.Second)
	for len(e.Records) < want && time.Now().Before(deadline) {
		out, err := c.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageAttributeNames: []string{"All"},
		})
		require.NoError(t, err)
		for _, m := range out.Messages {
			rec := awsevents.SQSMessage{
				MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
				MessageAttributes: map[string]awsevents.SQSMessageAttribute{},
			}
			for k, v := range m.MessageAttributes {
				rec.MessageAttributes[k] = awsevents.SQSMessageAttribute{StringValue: v.StringValue, DataType: aws.ToString(v.DataType)}
			}
			e.Records = append(e.Records, rec)
			_, err := c.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle})
			require.NoError(t, err)
		}
	}
	require.Len(t, e.Records, want, "messages in %s", queueURL)
	return e
}

// recordingSQS passes SendMessage on to SQS and keeps the inputs, or
// fails them.
type recordingSQS struct {
	next events.SQSSender
	mu   sync.Mutex
	in   []*sqs.SendMessageInput
	fail bool
}

func (r *recordingSQS) SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	r.mu.Lock()
	fail := r.fail
	if !fail {
		r.in = append(r.in, in)
	}
	r.mu.Unlock()
	if fail {
		return nil, errors.New("injected SQS failure")
	}
	return r.next.SendMessage(ctx, in, opts...)
}

// take returns and forgets the recorded inputs.
func (r *recordingSQS) take() []*sqs.SendMessageInput {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.in
	r.in = nil
	return out
}

func envelopeOf(t *testing.T, in *sqs.SendMessageInput) webhook.Envelope {
	t.Helper()
	var env webhook.Envelope
	require.NoError(t, json.Unmarshal([]byte(aws.ToString(in.MessageBody)), &env))
	return env
}

func sqsEventOf(bodies ...string) awsevents.SQSEvent {
	var e awsevents.SQSEvent
	for i, b := range bodies {
		e.Records = append(e.Records, awsevents.SQSMessage{MessageId: "m" + string(rune('0'+i)), Body: b})
	}
	return e
}

// TestHandleSQS runs the queue path against moto: an event published to
// the queue, received and handled; the retry of a failing endpoint
// re-enqueued with its delay (900 s hops for long waits, carrying the due
// time); the last failure dead-lettered; a failing queue reported as a
// batch item failure of that message only.
func TestHandleSQS(t *testing.T) {
	c := sqsClient(t)
	mainURL, dlqURL := newQueue(t, c, "events"), newQueue(t, c, "dlq")
	rec := &recordingSQS{next: c}

	failing := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusInternalServerError) })
	ok := newReceiver(t, nil)
	f := newFixture(t, testPolicy, func(o *webhook.Options) {
		o.Queue = webhook.NewSQSQueue(rec, mainURL)
		o.DeadLetter = webhook.NewSQSQueue(rec, dlqURL)
	})
	bad, _ := f.create(t, webhook.CreateInput{URL: failing.URL})
	f.create(t, webhook.CreateInput{URL: ok.URL, Events: []string{events.MatchCompleted}})
	ctx := t.Context()

	// 1. A fresh event: the healthy endpoint gets it, the failing one's
	// retry is queued 5 s later, and the message is not a failure.
	ev := event(t, "t1")
	require.NoError(t, events.NewSQS(c, mainURL).Publish(ctx, ev))
	msgs := receive(t, c, mainURL, 1)
	assert.Equal(t, events.MatchCompleted, aws.ToString(msgs.Records[0].MessageAttributes["type"].StringValue))
	assert.Equal(t, "t1", aws.ToString(msgs.Records[0].MessageAttributes["tenant"].StringValue))
	resp, err := f.d.HandleSQS(ctx, msgs)
	require.NoError(t, err)
	assert.Empty(t, resp.BatchItemFailures)
	assert.Len(t, ok.requests(), 1)
	assert.Len(t, failing.requests(), 1)
	sent := rec.take()
	require.Len(t, sent, 1)
	assert.Equal(t, mainURL, aws.ToString(sent[0].QueueUrl))
	assert.Equal(t, int32(5), sent[0].DelaySeconds)
	env := envelopeOf(t, sent[0])
	assert.Equal(t, 2, env.Attempt)
	assert.Equal(t, bad.ID, env.WebhookID)
	assert.Equal(t, ev.ID, env.Event.ID)

	// The retry arrives (moto honours the delay): received after 5 s, it
	// is handled as attempt 2.
	f.clk.Set(env.Due)
	retried := receive(t, c, mainURL, 1)
	resp, err = f.d.HandleSQS(ctx, retried)
	require.NoError(t, err)
	assert.Empty(t, resp.BatchItemFailures)
	assert.Len(t, failing.requests(), 2)
	assert.Len(t, ok.requests(), 1, "a retry goes to its webhook only")
	sent = rec.take()
	require.Len(t, sent, 1)
	assert.Equal(t, int32(300), sent[0].DelaySeconds, "5 minutes before attempt 3")
	assert.Equal(t, 3, envelopeOf(t, sent[0]).Attempt)

	// 2. A long wait: attempt 5 fails, attempt 6 is due in 5 hours: SQS
	// delays 900 s at most, so the envelope hops until it is due.
	env.Attempt, env.Due = 5, f.clk.Now()
	body, err := json.Marshal(env)
	require.NoError(t, err)
	resp, err = f.d.HandleSQS(ctx, sqsEventOf(string(body)))
	require.NoError(t, err)
	assert.Empty(t, resp.BatchItemFailures)
	sent = rec.take()
	require.Len(t, sent, 1)
	assert.Equal(t, int32(900), sent[0].DelaySeconds)
	hop := envelopeOf(t, sent[0])
	assert.Equal(t, 6, hop.Attempt)
	assert.Equal(t, f.clk.Now().Add(5*time.Hour), hop.Due)
	requests := len(failing.requests())
	for _, c := range []struct {
		at    time.Time
		delay int32
	}{
		{f.clk.Now().Add(15 * time.Minute), 900},
		{hop.Due.Add(-10 * time.Minute), 600},
		{hop.Due.Add(-1500 * time.Millisecond), 2},
	} {
		f.clk.Set(c.at)
		resp, err = f.d.HandleSQS(ctx, sqsEventOf(aws.ToString(sent[0].MessageBody)))
		require.NoError(t, err)
		assert.Empty(t, resp.BatchItemFailures)
		again := rec.take()
		require.Len(t, again, 1)
		assert.Equal(t, c.delay, again[0].DelaySeconds)
		assert.Equal(t, hop, envelopeOf(t, again[0]), "the same envelope, hop after hop")
		assert.Len(t, failing.requests(), requests, "no attempt before it is due")
	}
	f.clk.Set(hop.Due)
	resp, err = f.d.HandleSQS(ctx, sqsEventOf(aws.ToString(sent[0].MessageBody)))
	require.NoError(t, err)
	assert.Empty(t, resp.BatchItemFailures)
	assert.Len(t, failing.requests(), requests+1, "attempt 6")
	sent = rec.take()
	require.Len(t, sent, 1)
	assert.Equal(t, 7, envelopeOf(t, sent[0]).Attempt)
	assert.Equal(t, int32(900), sent[0].DelaySeconds, "10 hours, in hops")

	// 3. The last attempt fails: the envelope goes to the dead-letter
	// queue and the log says so.
	env.Attempt, env.Due = 8, f.clk.Now()
	body, err = json.Marshal(env)
	require.NoError(t, err)
	resp, err = f.d.HandleSQS(ctx, sqsEventOf(string(body)))
	require.NoError(t, err)
	assert.Empty(t, resp.BatchItemFailures)
	sent = rec.take()
	require.Len(t, sent, 1)
	assert.Equal(t, dlqURL, aws.ToString(sent[0].QueueUrl))
	deadMsgs := receive(t, c, dlqURL, 1)
	var dead webhook.Envelope
	require.NoError(t, json.Unmarshal([]byte(deadMsgs.Records[0].Body), &dead))
	assert.Equal(t, 8, dead.Attempt)
	assert.Equal(t, 500, dead.LastStatus)
	assert.Equal(t, ev.ID, dead.Event.ID)
	log, err := f.reg.Deliveries(ctx, "t1", bad.ID, 1)
	require.NoError(t, err)
	require.Len(t, log, 1)
	assert.True(t, log[0].Dead)
	assert.Equal(t, webhook.OutcomeDead, log[0].Outcome)

	// 4. The queue fails: only the messages that could not be handled
	// are reported (the failing endpoint's, whose retry could not be
	// queued, and an unreadable one, which could not be dead-lettered);
	// the other message of the batch is handled.
	rec.fail = true
	healthy, err := events.NewMatchCompleted("t2", events.MatchData{Score: 0.5})
	require.NoError(t, err)
	_, _, err = f.reg.Create(ctx, "t2", webhook.CreateInput{URL: ok.URL, Events: []string{"*"}})
	require.NoError(t, err)
	okBefore := len(ok.requests())
	batch := sqsEventOf(string(eventJSON(t, event(t, "t1"))), string(eventJSON(t, healthy)), "not a message")
	resp, err = f.d.HandleSQS(ctx, batch)
	require.NoError(t, err)
	assert.ElementsMatch(t, []awsevents.SQSBatchItemFailure{{ItemIdentifier: "m0"}, {ItemIdentifier: "m2"}}, resp.BatchItemFailures)
	assert.Len(t, ok.requests(), okBefore+2, "t1's healthy webhook and t2's got their events")

	// 5. With the queues back, an unreadable message is dead-lettered.
	rec.fail = false
	resp, err = f.d.HandleSQS(ctx, sqsEventOf("not a message"))
	require.NoError(t, err)
	assert.Empty(t, resp.BatchItemFailures)
	poison := receive(t, c, dlqURL, 1)
	assert.Equal(t, "not a message", poison.Records[0].Body)
}

// TestKMSKeyOnMoto wraps and unwraps data keys with moto's KMS through the
// SDK.
func TestKMSKeyOnMoto(t *testing.T) {
	endpoint := os.Getenv(sqsEndpointEnv)
	if endpoint == "" {
		t.Skipf("%s is not set: start the local servers with `eval \"$(scripts/localaws/start.sh)\"` (moto serves KMS)", sqsEndpointEnv)
	}
	c := kms.New(kms.Options{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	})
	k, err := c.CreateKey(t.Context(), &kms.CreateKeyInput{Description: aws.String("facelambda test")})
	require.NoError(t, err)
	key := webhook.NewKMSKey(c, aws.ToString(k.KeyMetadata.KeyId))
	key.CacheTTL = -1
	ctx := t.Context()
	dk, wrapped, err := key.NewDataKey(ctx, "t1", "w1")
	require.NoError(t, err)
	got, err := key.DataKey(ctx, "t1", "w1", wrapped)
	require.NoError(t, err)
	assert.Equal(t, dk, got)
	_, err = key.DataKey(ctx, "t2", "w1", wrapped)
	assert.Error(t, err, "another tenant's context")

	// A data key wrapped as before the shared KMS wrapper (a KMS Encrypt of
	// a locally drawn key) still opens.
	old := bytes.Repeat([]byte{9}, 32)
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyMetadata.KeyId, Plaintext: old,
		EncryptionContext: map[string]string{"tenant": "t1", "webhookId": "w1"}})
	require.NoError(t, err)
	got, err = key.DataKey(ctx, "t1", "w1", enc.CiphertextBlob)
	require.NoError(t, err)
	assert.Equal(t, old, got)

	reg := webhook.NewRegistry(newItems(t), key, testPolicy)
	rc := newReceiver(t, nil)
	w, secret, err := reg.Create(ctx, "t1", webhook.CreateInput{URL: rc.URL, Events: []string{"*"}})
	require.NoError(t, err)
	d, err := webhook.NewDispatcher(webhook.Options{Registry: reg, Queue: &recordQueue{}, Logger: quietLogger(t)})
	require.NoError(t, err)
	del, err := d.Test(ctx, "t1", w.ID)
	require.NoError(t, err)
	assert.Equal(t, webhook.OutcomeDelivered, del.Outcome)
	reqs := rc.requests()
	require.Len(t, reqs, 1)
	require.NoError(t, webhook.Verify(secret, reqs[0].Header, reqs[0].Body))
}
