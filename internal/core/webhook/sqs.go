package webhook

import (
	"context"
	"fmt"
	"sync"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/facelambda/facelambda/internal/core/events"
)

// MaxSQSDelay is the longest delay SQS gives a message.
const MaxSQSDelay = 900 * time.Second

// SQSQueue is a Queue on SQS: a delay over MaxSQSDelay is cut to it (the
// envelope carries its due time, and the dispatcher sends it on again
// until it is due).
type SQSQueue struct {
	client   events.SQSSender
	queueURL string
}

var _ Queue = (*SQSQueue)(nil)

// NewSQSQueue returns the Queue of an SQS queue URL.
func NewSQSQueue(client events.SQSSender, queueURL string) *SQSQueue {
	return &SQSQueue{client: client, queueURL: queueURL}
}

// sqsDelaySeconds is the DelaySeconds of a wait: rounded up, at most 900.
func sqsDelaySeconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	d = min(d, MaxSQSDelay)
	return int32((d + time.Second - 1) / time.Second)
}

// Send sends body with DelaySeconds = min(delay, 900 s), rounded up.
func (q *SQSQueue) Send(ctx context.Context, body []byte, delay time.Duration) error {
	_, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:     aws.String(q.queueURL),
		MessageBody:  aws.String(string(body)),
		DelaySeconds: sqsDelaySeconds(delay),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"kind": {DataType: aws.String("String"), StringValue: aws.String("webhook-retry")},
		},
	})
	if err != nil {
		return fmt.Errorf("send to SQS: %w", err)
	}
	return nil
}

// HandleSQS is the handler of the webhook function, triggered by the
// events queue (with ReportBatchItemFailures): it handles every message
// concurrently (HandleMessage) and reports as failed only the messages
// whose handling failed (a retry that could not be queued, the webhooks
// that could not be read): a failing endpoint is not a failed message,
// its retries are queued on their own.
func (d *Dispatcher) HandleSQS(ctx context.Context, e awsevents.SQSEvent) (awsevents.SQSEventResponse, error) {
	resp := awsevents.SQSEventResponse{BatchItemFailures: []awsevents.SQSBatchItemFailure{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, m := range e.Records {
		wg.Go(func() {
			if err := d.HandleMessage(ctx, []byte(m.Body)); err != nil {
				d.log.ErrorContext(ctx, "webhook: queue message failed, SQS will deliver it again", "message_id", m.MessageId, "err", err)
				mu.Lock()
				resp.BatchItemFailures = append(resp.BatchItemFailures, awsevents.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return resp, nil
}
