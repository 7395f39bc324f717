package sealed_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/store/dynamo"
	"github.com/facelambda/facelambda/internal/adapters/store/embedded"
	"github.com/facelambda/facelambda/internal/adapters/store/storetest"
	"github.com/facelambda/facelambda/internal/core/envelope"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/sealed"
)

func sealer(t *testing.T) *envelope.Sealer {
	t.Helper()
	k, err := envelope.NewLocalKey(bytes.Repeat([]byte{9}, 32))
	require.NoError(t, err)
	return envelope.NewSealer(k, envelope.Options{})
}

// adapters returns the raw stores the wrapper is tested over: the embedded
// store, and DynamoDB Local when FACELAMBDA_TEST_DYNAMODB_ENDPOINT is set.
func adapters(t *testing.T) map[string]func(t *testing.T) store.Records {
	out := map[string]func(t *testing.T) store.Records{
		"embedded": func(t *testing.T) store.Records {
			s, err := embedded.Open(t.TempDir())
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	if ep := os.Getenv("FACELAMBDA_TEST_DYNAMODB_ENDPOINT"); ep != "" {
		client := dynamodb.New(dynamodb.Options{Region: "us-east-1",
			Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}, dynamo.WithEndpoint(ep))
		out["dynamodb"] = func(t *testing.T) store.Records {
			var b [6]byte
			_, _ = rand.Read(b[:])
			table := "facelambda-test-" + hex.EncodeToString(b[:])
			require.NoError(t, dynamo.CreateTable(t.Context(), client, table))
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_ = dynamo.DeleteTable(ctx, client, table)
			})
			return dynamo.New(client, table)
		}
	} else {
		t.Log("FACELAMBDA_TEST_DYNAMODB_ENDPOINT not set: the DynamoDB adapter is not tested")
	}
	return out
}

// The wrapped store keeps the store.Records semantics.
func TestConformance(t *testing.T) {
	for name, raw := range adapters(t) {
		t.Run(name, func(t *testing.T) {
			storetest.Records(t, func(t *testing.T) store.Records { return sealed.New(raw(t), sealer(t)) })
		})
	}
}

// Templates are sealed in the adapter's records, bound to their face;
// clear records written before sealing are read as they are.
func TestTemplatesSealed(t *testing.T) {
	tpl := append([]byte("FLTP"), bytes.Repeat([]byte{0x3d, 0xcc, 0xcc, 0xcd}, 128)...)
	for name, newRaw := range adapters(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			raw := newRaw(t)
			s := sealed.New(raw, sealer(t))
			require.NoError(t, raw.CreateSession(ctx, store.Session{Tenant: "t", ID: "s", Expires: time.Now().Add(time.Hour)}))
			saved, err := s.PutFace(ctx, store.Face{Tenant: "t", SessionID: "s", ID: "f1", Template: tpl, Data: []byte(`{}`)})
			require.NoError(t, err)
			assert.Equal(t, tpl, saved.Template)

			stored, err := raw.GetFace(ctx, "t", "s", "f1")
			require.NoError(t, err)
			assert.True(t, bytes.HasPrefix(stored.Template, []byte(envelope.Magic)), "sealed in the store")
			assert.False(t, bytes.Contains(stored.Template, tpl[4:64]), "template bytes readable")
			assert.NotContains(t, string(stored.Template), base64.StdEncoding.EncodeToString(tpl)[:40])

			got, err := s.GetFace(ctx, "t", "s", "f1")
			require.NoError(t, err)
			assert.Equal(t, tpl, got.Template)

			// Legacy: a clear template, and a face without one.
			_, err = raw.PutFace(ctx, store.Face{Tenant: "t", SessionID: "s", ID: "f2", Template: tpl, Data: []byte(`{}`)})
			require.NoError(t, err)
			_, err = s.PutFace(ctx, store.Face{Tenant: "t", SessionID: "s", ID: "f3", Data: []byte(`{}`)})
			require.NoError(t, err)
			list, err := s.ListFaces(ctx, "t", "s")
			require.NoError(t, err)
			require.Len(t, list, 3)
			for _, f := range list {
				if f.ID == "f3" {
					assert.Empty(t, f.Template)
					continue
				}
				assert.Equal(t, tpl, f.Template, f.ID)
			}

			// A sealed template moved to another face does not open.
			_, err = raw.PutFace(ctx, store.Face{Tenant: "t", SessionID: "s", ID: "f4", Template: stored.Template, Data: []byte(`{}`)})
			require.NoError(t, err)
			_, err = s.GetFace(ctx, "t", "s", "f4")
			assert.ErrorIs(t, err, envelope.ErrAuthentication)
			_, err = s.ListFaces(ctx, "t", "s")
			assert.ErrorIs(t, err, envelope.ErrAuthentication)
		})
	}
}
