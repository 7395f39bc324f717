package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQSSender is the one SQS call the publisher and the webhook queues make
// (*sqs.Client has it).
type SQSSender interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Message attributes set on every message.
const (
	AttrType   = "type"
	AttrTenant = "tenant"
)

// SQS publishes events to an SQS standard queue: the body is the event's
// JSON, with the message attributes "type" and "tenant" (String).
type SQS struct {
	client   SQSSender
	queueURL string
}

var _ Publisher = (*SQS)(nil)

// NewSQS returns a publisher to the queue at queueURL.
func NewSQS(client SQSSender, queueURL string) *SQS {
	return &SQS{client: client, queueURL: queueURL}
}

// Publish sends the event.
func (p *SQS) Publish(ctx context.Context, ev Event) error {
	if err := ev.Validate(); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("publish %s %s: %w", ev.Type, ev.ID, err)
	}
	_, err = p.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:          aws.String(p.queueURL),
		MessageBody:       aws.String(string(body)),
		MessageAttributes: Attributes(ev),
	})
	if err != nil {
		return fmt.Errorf("publish %s %s: send to SQS: %w", ev.Type, ev.ID, err)
	}
	return nil
}

// Attributes returns the message attributes of an event's messages.
func Attributes(ev Event) map[string]types.MessageAttributeValue {
	return map[string]types.MessageAttributeValue{
		AttrType:   {DataType: aws.String("String"), StringValue: aws.String(ev.Type)},
		AttrTenant: {DataType: aws.String("String"), StringValue: aws.String(ev.Tenant)},
	}
}
