package storetest

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/store"
)

// Blobs runs the conformance suite of store.Blobs. newBlobs returns an
// empty store for one subtest (clean it up with t.Cleanup). PresignPut is
// exercised with a real HTTP PUT, so the store's URLs must reach a server
// that honours them.
func Blobs(t *testing.T, newBlobs func(t *testing.T) store.Blobs) {
	tests := []struct {
		name string
		run  func(t *testing.T, b store.Blobs)
	}{
		{"PutGet", testBlobPutGet},
		{"Overwrite", testBlobOverwrite},
		{"GetMissing", testBlobGetMissing},
		{"Delete", testBlobDelete},
		{"DeletePrefix", testBlobDeletePrefix},
		{"DeletePrefixManyPages", testBlobDeletePrefixMany},
		{"PresignPut", testBlobPresignPut},
		{"PresignGet", testBlobPresignGet},
		{"Large", testBlobLarge},
		{"Ping", testBlobPing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newBlobs(t))
		})
	}
}

// blobKey returns a fresh key under a fresh tenant: "<tenant>/<session>/<name>".
func blobKey(name string) string {
	return uid("tenant") + "/" + uid("sess") + "/" + name
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func requireBlob(t *testing.T, b store.Blobs, key string, data []byte, contentType string) {
	t.Helper()
	got, ct, err := b.Get(ctx(t), key)
	require.NoErrorf(t, err, "Get %s", key)
	require.Truef(t, bytes.Equal(data, got), "Get %s: %d bytes, want %d", key, len(got), len(data))
	assert.Equalf(t, contentType, ct, "content type of %s", key)
}

func requireNoBlob(t *testing.T, b store.Blobs, key string) {
	t.Helper()
	_, _, err := b.Get(ctx(t), key)
	requireNotFound(t, err, "Get "+key)
}

func testBlobPutGet(t *testing.T, b store.Blobs) {
	tests := []struct {
		name, file, contentType string
		data                    []byte
	}{
		{"jpeg", "face-1.jpg", "image/jpeg", randomBytes(4096)},
		{"png", "face-2.png", "image/png", randomBytes(10)},
		{"json", "meta.json", "application/json", []byte(`{"a":1}`)},
		{"empty", "empty.bin", "application/octet-stream", []byte{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := blobKey(tc.file)
			require.NoError(t, b.Put(ctx(t), key, tc.data, tc.contentType))
			requireBlob(t, b, key, tc.data, tc.contentType)
		})
	}
}

func testBlobOverwrite(t *testing.T, b store.Blobs) {
	key := blobKey("face.jpg")
	require.NoError(t, b.Put(ctx(t), key, []byte("first"), "image/jpeg"))
	require.NoError(t, b.Put(ctx(t), key, []byte("second, longer"), "image/png"))
	requireBlob(t, b, key, []byte("second, longer"), "image/png")
}

func testBlobGetMissing(t *testing.T, b store.Blobs) {
	requireNoBlob(t, b, blobKey("missing.jpg"))
}

func testBlobDelete(t *testing.T, b store.Blobs) {
	key := blobKey("face.jpg")
	other := key + ".bak"
	require.NoError(t, b.Put(ctx(t), key, []byte("x"), "image/jpeg"))
	require.NoError(t, b.Put(ctx(t), other, []byte("y"), "image/jpeg"))
	require.NoError(t, b.Delete(ctx(t), key))
	requireNoBlob(t, b, key)
	requireBlob(t, b, other, []byte("y"), "image/jpeg")
	// Deleting an absent key is not an error (S3 cannot tell).
	require.NoError(t, b.Delete(ctx(t), key))
	// A key can be written again after its delete.
	require.NoError(t, b.Put(ctx(t), key, []byte("z"), "image/jpeg"))
	requireBlob(t, b, key, []byte("z"), "image/jpeg")
}

func testBlobDeletePrefix(t *testing.T, b store.Blobs) {
	t1, t2 := uid("tenant"), uid("tenant")
	gone := []string{t1 + "/s1/a.jpg", t1 + "/s1/b.jpg", t1 + "/s1/sub/c.jpg"}
	kept := []string{t1 + "/s10/d.jpg", t1 + "/s2/e.jpg", t1 + "/s1.jpg", t2 + "/s1/f.jpg"}
	for _, k := range append(append([]string{}, gone...), kept...) {
		require.NoError(t, b.Put(ctx(t), k, []byte(k), "image/jpeg"))
	}

	require.NoError(t, b.DeletePrefix(ctx(t), t1+"/s1/"))
	for _, k := range gone {
		requireNoBlob(t, b, k)
	}
	for _, k := range kept {
		requireBlob(t, b, k, []byte(k), "image/jpeg")
	}

	// A prefix matching nothing is fine.
	require.NoError(t, b.DeletePrefix(ctx(t), uid("tenant")+"/"))
	// A prefix is a string prefix, not only a directory.
	require.NoError(t, b.DeletePrefix(ctx(t), t1+"/s1"))
	requireNoBlob(t, b, t1+"/s10/d.jpg")
	requireNoBlob(t, b, t1+"/s1.jpg")
	requireBlob(t, b, t1+"/s2/e.jpg", []byte(t1+"/s2/e.jpg"), "image/jpeg")
}

// testBlobDeletePrefixMany deletes more objects than one S3 listing page
// (and one DeleteObjects call) holds.
func testBlobDeletePrefixMany(t *testing.T, b store.Blobs) {
	if testing.Short() {
		t.Skip("slow: puts 1,010 objects")
	}
	const n = 1010
	prefix := uid("tenant") + "/" + uid("sess") + "/"
	keys := make(chan string)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				errs <- b.Put(ctx(t), k, []byte("x"), "image/jpeg")
			}
		}()
	}
	for i := range n {
		keys <- fmt.Sprintf("%sface-%04d.jpg", prefix, i)
	}
	close(keys)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	neighbour := prefix[:len(prefix)-1] + "x/face.jpg"
	require.NoError(t, b.Put(ctx(t), neighbour, []byte("y"), "image/jpeg"))

	require.NoError(t, b.DeletePrefix(ctx(t), prefix))
	for _, i := range []int{0, 999, 1000, n - 1} {
		requireNoBlob(t, b, fmt.Sprintf("%sface-%04d.jpg", prefix, i))
	}
	requireBlob(t, b, neighbour, []byte("y"), "image/jpeg")
}

func testBlobPresignPut(t *testing.T, b store.Blobs) {
	key := blobKey("upload.jpg")
	data := randomBytes(64 << 10)
	u, err := b.PresignPut(ctx(t), key, "image/jpeg", 1<<20, 5*time.Minute)
	require.NoError(t, err)
	require.NotEmpty(t, u)

	req, err := http.NewRequestWithContext(ctx(t), http.MethodPut, u, bytes.NewReader(data))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "image/jpeg")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Truef(t, resp.StatusCode >= 200 && resp.StatusCode < 300,
		"PUT to the presigned URL: %s: %s", resp.Status, body)

	requireBlob(t, b, key, data, "image/jpeg")
}

func testBlobLarge(t *testing.T, b store.Blobs) {
	key := blobKey("large.bin")
	data := randomBytes(5 << 20)
	require.NoError(t, b.Put(ctx(t), key, data, "application/octet-stream"))
	requireBlob(t, b, key, data, "application/octet-stream")
}

func testBlobPing(t *testing.T, b store.Blobs) {
	require.NoError(t, b.Ping(ctx(t)))
}

func testBlobPresignGet(t *testing.T, b store.Blobs) {
	key := blobKey("recording.zip")
	data := randomBytes(32 << 10)
	require.NoError(t, b.Put(ctx(t), key, data, "application/zip"))
	u, err := b.PresignGet(ctx(t), key, 5*time.Minute)
	require.NoError(t, err)

	get := func(u string) (int, []byte) {
		req, err := http.NewRequestWithContext(ctx(t), http.MethodGet, u, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, body
	}
	code, body := get(u)
	require.Equal(t, http.StatusOK, code, "GET of the presigned URL: %s", body)
	require.True(t, bytes.Equal(data, body), "the presigned URL returns the object")

	_, err = b.PresignGet(ctx(t), "../escape", time.Minute)
	require.Error(t, err, "an invalid key")
}
