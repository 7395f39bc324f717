package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// batchGet reads the items of at most batchGetLimit keys (consistent,
// projected), retrying unprocessed keys with backoff.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue, projection string) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	req := map[string]types.KeysAndAttributes{s.table: {
		Keys:                 keys,
		ConsistentRead:       aws.Bool(true),
		ProjectionExpression: aws.String(projection),
	}}
	for attempt := 0; len(req) > 0 && len(req[s.table].Keys) > 0; attempt++ {
		if attempt > 0 {
			if attempt >= 2*maxAttempts {
				return nil, fmt.Errorf("batch get: %d keys still unprocessed after %d attempts", len(req[s.table].Keys), attempt)
			}
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return nil, err
			}
		}
		out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, fmt.Errorf("batch get: %w", err)
		}
		items = append(items, out.Responses[s.table]...)
		req = out.UnprocessedKeys
	}
	return items, nil
}

// queryAll runs a query to its end.
func (s *Store) queryAll(ctx context.Context, in *dynamodb.QueryInput) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		items = append(items, page.Items...)
	}
	return items, nil
}

// batchWrite runs reqs in batches of 25, retrying unprocessed items with
// backoff.
func (s *Store) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	for len(reqs) > 0 {
		n := min(len(reqs), batchLimit)
		batch := reqs[:n]
		reqs = reqs[n:]
		for attempt := 0; len(batch) > 0; attempt++ {
			if attempt > 0 {
				if err := sleep(ctx, backoff(attempt)); err != nil {
					return err
				}
			}
			out, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
				RequestItems: map[string][]types.WriteRequest{s.table: batch},
			})
			if err != nil {
				return fmt.Errorf("batch write: %w", err)
			}
			batch = out.UnprocessedItems[s.table]
			if len(batch) > 0 && attempt+1 >= 2*maxAttempts {
				return fmt.Errorf("batch write: %d items still unprocessed after %d attempts", len(batch), attempt+1)
			}
		}
	}
	return nil
}
