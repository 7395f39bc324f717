package dynamo

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func canceled(codes ...string) error {
	reasons := make([]types.CancellationReason, len(codes))
	for i, c := range codes {
		reasons[i] = types.CancellationReason{Code: aws.String(c)}
	}
	return fmt.Errorf("wrapped: %w", &types.TransactionCanceledException{CancellationReasons: reasons})
}

func TestIsConflict(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"other", errors.New("boom"), false},
		{"conflict exception", fmt.Errorf("x: %w", &types.TransactionConflictException{}), true},
		{"canceled by conflict", canceled("None", "TransactionConflict"), true},
		{"canceled by condition", canceled("ConditionalCheckFailed", "None"), false},
		{"condition failed", &types.ConditionalCheckFailedException{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, isConflict(tc.err))
		})
	}
}

func TestRetryConflict(t *testing.T) {
	tests := []struct {
		name      string
		failures  int // conflicts before success
		wantCalls int
		wantErr   bool
	}{
		{"first try", 0, 1, false},
		{"after conflicts", 3, 4, false},
		{"gives up", maxAttempts + 5, maxAttempts, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			err := retryConflict(t.Context(), func() error {
				calls++
				if calls <= tc.failures {
					return canceled("TransactionConflict")
				}
				return nil
			})
			assert.Equal(t, tc.wantCalls, calls)
			if tc.wantErr {
				require.Error(t, err)
				assert.True(t, isConflict(err))
			} else {
				require.NoError(t, err)
			}
		})
	}

	t.Run("other errors are not retried", func(t *testing.T) {
		calls := 0
		boom := errors.New("boom")
		err := retryConflict(t.Context(), func() error { calls++; return boom })
		assert.ErrorIs(t, err, boom)
		assert.Equal(t, 1, calls)
	})

	t.Run("context ends the retries", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		calls := 0
		err := retryConflict(ctx, func() error {
			calls++
			cancel()
			return canceled("TransactionConflict")
		})
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 1, calls)
	})
}

func TestBackoff(t *testing.T) {
	for attempt := 1; attempt < 40; attempt++ {
		d := backoff(attempt)
		assert.Positive(t, d)
		assert.LessOrEqual(t, d, 501*time.Millisecond)
	}
}

func TestTTLSeconds(t *testing.T) {
	tests := []struct {
		in   time.Time
		want int64
	}{
		{time.Unix(100, 0), 100},
		{time.Unix(100, 1), 101},
		{time.Unix(100, 999_999_999), 101},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, ttlSeconds(tc.in), tc.in)
	}
}
