package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func reasonCode(r types.CancellationReason) string { return aws.ToString(r.Code) }

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// isConflict reports whether err lost a race with a transaction on the
// same item, so that the operation can be tried again.
func isConflict(err error) bool {
	var tc *types.TransactionConflictException
	if errors.As(err, &tc) {
		return true
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			if reasonCode(r) == "TransactionConflict" {
				return true
			}
		}
	}
	return false
}

// retryConflict runs op until it does not fail with a transaction
// conflict, at most maxAttempts times, with jittered exponential backoff.
func retryConflict(ctx context.Context, op func() error) error {
	var err error
	for attempt := range maxAttempts {
		if attempt > 0 {
			if serr := sleep(ctx, backoff(attempt)); serr != nil {
				return errors.Join(err, serr)
			}
		}
		if err = op(); !isConflict(err) {
			return err
		}
	}
	return fmt.Errorf("gave up after %d transaction conflicts: %w", maxAttempts, err)
}

// backoff returns a full-jitter delay for a retry: up to 10 ms doubling
// per attempt, capped at 500 ms.
func backoff(attempt int) time.Duration {
	ceiling := min(10*time.Millisecond<<min(attempt, 16), 500*time.Millisecond)
	return time.Duration(rand.Int64N(int64(ceiling))) + time.Millisecond
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// canceledBy reports whether err is a transaction cancelled because of
// code on any of its items.
func canceledBy(err error, code string) bool {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return false
	}
	for _, r := range tce.CancellationReasons {
		if reasonCode(r) == code {
			return true
		}
	}
	return false
}

// canceledAt reports whether err is a transaction cancelled because of
// code on its item i.
func canceledAt(err error, i int, code string) bool {
	var tce *types.TransactionCanceledException
	return errors.As(err, &tce) && i < len(tce.CancellationReasons) && reasonCode(tce.CancellationReasons[i]) == code
}

const conditionFailed = "ConditionalCheckFailed"

// deleteOld deletes the item under k, retrying transaction conflicts, and
// returns its attributes (nil when there was no item).
func (s *Store) deleteOld(ctx context.Context, k map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	var old map[string]types.AttributeValue
	err := retryConflict(ctx, func() error {
		out, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:    aws.String(s.table),
			Key:          k,
			ReturnValues: types.ReturnValueAllOld,
		})
		if err == nil {
			old = out.Attributes
		}
		return err
	})
	return old, err
}
