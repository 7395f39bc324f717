package envelope

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

var ctx = context.Background()

func localSealer(t *testing.T, opt Options) (*Sealer, *LocalKey) {
	t.Helper()
	k, err := OpenLocalKey(filepath.Join(t.TempDir(), LocalKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	return NewSealer(k, opt), k
}

func TestRoundTrip(t *testing.T) {
	s, _ := localSealer(t, Options{})
	aad := AAD{Tenant: "acme", ClassID: 42, Purpose: "template"}
	for _, msg := range [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte("template"), 1000)} {
		blob, err := s.Seal(ctx, msg, aad)
		if err != nil {
			t.Fatal(err)
		}
		if len(msg) > 4 && bytes.Contains(blob, msg[:len(msg)/2]) {
			t.Fatal("plaintext visible in the blob")
		}
		got, err := s.Open(ctx, blob, aad)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("open: %q %v", got, err)
		}
		id, err := KeyID(blob)
		if err != nil || id[:6] != "local:" {
			t.Fatalf("key id %q %v", id, err)
		}
	}
	// Two seals of the same plaintext differ (random nonces).
	a, _ := s.Seal(ctx, []byte("same"), aad)
	b, _ := s.Seal(ctx, []byte("same"), aad)
	if bytes.Equal(a, b) {
		t.Fatal("identical blobs")
	}
	if _, err := s.Seal(ctx, nil, AAD{Purpose: "template"}); err == nil {
		t.Fatal("empty tenant accepted")
	}
	if _, err := s.Seal(ctx, nil, AAD{Tenant: "t"}); err == nil {
		t.Fatal("empty purpose accepted")
	}
}

func TestTamperingFails(t *testing.T) {
	for _, uses := range []int{0, 1} { // shared data key, and a key per seal
		s, _ := localSealer(t, Options{KeyUses: uses})
		aad := AAD{Tenant: "acme", ClassID: 7, Purpose: "template"}
		blob, err := s.Seal(ctx, []byte("a face template"), aad)
		if err != nil {
			t.Fatal(err)
		}
		for i := range blob {
			for _, bit := range []byte{0x01, 0x80} {
				c := bytes.Clone(blob)
				c[i] ^= bit
				if got, err := s.Open(ctx, c, aad); err == nil {
					t.Fatalf("uses %d: byte %d bit %#x changed, opened %q", uses, i, bit, got)
				}
			}
		}
		for n := 0; n < len(blob); n++ {
			if _, err := s.Open(ctx, blob[:n], aad); err == nil {
				t.Fatalf("truncated to %d opened", n)
			}
		}
		if _, err := s.Open(ctx, append(bytes.Clone(blob), 0), aad); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("trailing byte: %v", err)
		}
		// The ciphertext part gives the authentication error by name.
		c := bytes.Clone(blob)
		c[len(c)-1] ^= 1
		if _, err := s.Open(ctx, c, aad); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("tag changed: %v", err)
		}
		if _, err := s.Open(ctx, []byte("FLTPnot a blob"), aad); !errors.Is(err, ErrMalformed) {
			t.Fatalf("not a blob: %v", err)
		}
	}
}

func TestOtherAADFails(t *testing.T) {
	for _, uses := range []int{0, 1} {
		s, _ := localSealer(t, Options{KeyUses: uses})
		aad := AAD{Tenant: "acme", ClassID: 7, Purpose: "template"}
		blob, _ := s.Seal(ctx, []byte("vector"), aad)
		// Also seal for the others, so that their data keys are cached too.
		for _, other := range []AAD{
			{Tenant: "acme2", ClassID: 7, Purpose: "template"},
			{Tenant: "acm", ClassID: 7, Purpose: "template"},
			{Tenant: "acme", ClassID: 8, Purpose: "template"},
			{Tenant: "acme", ClassID: 7 + 1<<32, Purpose: "template"},
			{Tenant: "acme", ClassID: 7, Purpose: "thumbnail"},
			{Tenant: "acme", ClassID: 7, Purpose: "templat"},
		} {
			if _, err := s.Seal(ctx, []byte("other"), other); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Open(ctx, blob, other); !errors.Is(err, ErrAuthentication) {
				t.Errorf("uses %d: opened with %+v: %q %v", uses, other, got, err)
			}
		}
		if got, err := s.Open(ctx, blob, aad); err != nil || string(got) != "vector" {
			t.Fatalf("the right AAD no longer opens: %v", err)
		}
		// A fresh sealer (cold container, no cached key) refuses too.
		fresh := NewSealer(s.p, Options{})
		if _, err := fresh.Open(ctx, blob, AAD{Tenant: "evil", ClassID: 7, Purpose: "template"}); !errors.Is(err, ErrAuthentication) {
			t.Errorf("cold open with another tenant: %v", err)
		}
		if _, err := fresh.Open(ctx, blob, AAD{Tenant: "acme", ClassID: 9, Purpose: "template"}); !errors.Is(err, ErrAuthentication) {
			t.Errorf("cold open with another class: %v", err)
		}
	}
}

func TestWrongMasterKey(t *testing.T) {
	s, _ := localSealer(t, Options{})
	aad := AAD{Tenant: "t", ClassID: 1, Purpose: "template"}
	blob, _ := s.Seal(ctx, []byte("v"), aad)
	other, _ := localSealer(t, Options{})
	if _, err := other.Open(ctx, blob, aad); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("other master key: %v", err)
	}
	// A different key claiming the same id still fails authentication.
	k2, _ := NewLocalKey(bytes.Repeat([]byte{1}, 32))
	k2.id = s.p.(*LocalKey).id
	if _, err := NewSealer(k2, Options{}).Open(ctx, blob, aad); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("same id, other key: %v", err)
	}
	if _, err := NewLocalKey(make([]byte, 16)); err == nil {
		t.Fatal("16-byte master key accepted")
	}
}

func TestLocalKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	path := filepath.Join(dir, LocalKeyFile)
	// Concurrent first runs agree on one key.
	keys := make([]*LocalKey, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := OpenLocalKey(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for _, k := range keys {
		if k == nil || k.ID() != keys[0].ID() {
			t.Fatal("concurrent first runs made different keys")
		}
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 || st.Size() != 32 {
		t.Fatalf("key file: %v %v", st.Mode(), err)
	}
	before, _ := os.ReadFile(path)
	// Reused, not re-created: what one process sealed, the next opens.
	aad := AAD{Tenant: "t", ClassID: 1, Purpose: "template"}
	blob, _ := NewSealer(keys[0], Options{}).Seal(ctx, []byte("v"), aad)
	again, err := OpenLocalKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := NewSealer(again, Options{}).Open(ctx, blob, aad); err != nil || string(got) != "v" {
		t.Fatalf("reopened key: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("key file rewritten")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
	// Refused: readable by others, or not 32 bytes.
	os.Chmod(path, 0o644)
	if _, err := OpenLocalKey(path); err == nil {
		t.Fatal("world-readable key accepted")
	}
	os.Chmod(path, 0o600)
	os.WriteFile(path, []byte("short"), 0o600)
	if _, err := OpenLocalKey(path); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestKeyReuseAndCache(t *testing.T) {
	now := time.Unix(1e9, 0)
	fake := newFakeKMS()
	s := NewSealer(NewKMS(fake, "alias/templates"), Options{KeyUses: 3, KeyAge: time.Minute, CacheKeys: 4, CacheAge: time.Hour,
		Now: func() time.Time { return now }})
	var blobs [][]byte
	for i := 0; i < 7; i++ {
		b, err := s.Seal(ctx, []byte{byte(i)}, AAD{Tenant: "t", ClassID: uint64(i), Purpose: "template"})
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, b)
	}
	if g := fake.calls("generate"); g != 3 { // 3 + 3 + 1 seals
		t.Fatalf("%d data keys for 7 seals of 3 uses", g)
	}
	now = now.Add(2 * time.Minute) // the current key is too old
	s.Seal(ctx, nil, AAD{Tenant: "t", ClassID: 1, Purpose: "template"})
	if g := fake.calls("generate"); g != 4 {
		t.Fatalf("old key reused (%d generated)", g)
	}
	// Opening what this sealer sealed needs no KMS call.
	for i, b := range blobs {
		if got, err := s.Open(ctx, b, AAD{Tenant: "t", ClassID: uint64(i), Purpose: "template"}); err != nil || got[0] != byte(i) {
			t.Fatal(err)
		}
	}
	if d := fake.calls("decrypt"); d != 0 {
		t.Fatalf("%d decrypt calls", d)
	}
	// A cold sealer unwraps each data key once.
	cold := NewSealer(NewKMS(fake, "alias/templates"), Options{CacheKeys: 2})
	for round := 0; round < 2; round++ {
		for i, b := range blobs[:6] {
			if _, err := cold.Open(ctx, b, AAD{Tenant: "t", ClassID: uint64(i), Purpose: "template"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if d := fake.calls("decrypt"); d != 2 {
		t.Fatalf("%d decrypt calls for 2 data keys", d)
	}
	if st := cold.Stats(); st.CachedKeys > 2 || st.Unwrapped != 2 || st.CacheHits != 10 {
		t.Fatalf("stats %+v", st)
	}
}

func TestKMSEncryptionContext(t *testing.T) {
	fake := newFakeKMS()
	for _, uses := range []int{0, 1} {
		s := NewSealer(NewKMS(fake, "alias/templates"), Options{KeyUses: uses})
		aad := AAD{Tenant: "acme", ClassID: 12345, Purpose: "template"}
		blob, err := s.Seal(ctx, []byte("v"), aad)
		if err != nil {
			t.Fatal(err)
		}
		in := fake.lastGenerate
		want := map[string]string{"tenant": "acme", "purpose": "template"}
		if uses == 1 {
			want["classId"] = "12345"
		}
		if aws.ToString(in.KeyId) != "alias/templates" || in.KeySpec != types.DataKeySpecAes256 || !maps.Equal(in.EncryptionContext, want) {
			t.Fatalf("GenerateDataKey input: key %q spec %v context %v, want %v", aws.ToString(in.KeyId), in.KeySpec, in.EncryptionContext, want)
		}
		if id, _ := KeyID(blob); id != fakeKeyARN {
			t.Fatalf("blob key id %q, want the ARN KMS returned", id)
		}
		cold := NewSealer(NewKMS(fake, "alias/templates"), Options{})
		if _, err := cold.Open(ctx, blob, aad); err != nil {
			t.Fatal(err)
		}
		d := fake.lastDecrypt
		if aws.ToString(d.KeyId) != fakeKeyARN || !maps.Equal(d.EncryptionContext, want) {
			t.Fatalf("Decrypt input: key %q context %v, want %v", aws.ToString(d.KeyId), d.EncryptionContext, want)
		}
		// KMS refuses another tenant's context: an authentication error.
		cold = NewSealer(NewKMS(fake, "alias/templates"), Options{})
		if _, err := cold.Open(ctx, blob, AAD{Tenant: "other", ClassID: 12345, Purpose: "template"}); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("other tenant: %v", err)
		}
	}
	// Other KMS errors come through as they are.
	fake.fail = errors.New("AccessDeniedException")
	s := NewSealer(NewKMS(fake, "k"), Options{})
	if _, err := s.Seal(ctx, nil, AAD{Tenant: "t", Purpose: "p"}); err == nil || errors.Is(err, ErrAuthentication) {
		t.Fatalf("generate failure: %v", err)
	}
}

const fakeKeyARN = "arn:aws:kms:eu-west-1:111122223333:key/fake"

// fakeKMS wraps keys with a local key, the encryption context bound, and
// records its inputs.
type fakeKMS struct {
	mu           sync.Mutex
	wrap         *LocalKey
	n            map[string]int
	lastGenerate kms.GenerateDataKeyInput
	lastDecrypt  kms.DecryptInput
	fail         error
}

func newFakeKMS() *fakeKMS {
	k, _ := NewLocalKey(bytes.Repeat([]byte{7}, 32))
	return &fakeKMS{wrap: k, n: map[string]int{}}
}

func (f *fakeKMS) calls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n[op]
}

func (f *fakeKMS) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	f.n["generate"]++
	f.lastGenerate = *in
	plain, wrapped, _, err := f.wrap.GenerateDataKey(ctx, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return &kms.GenerateDataKeyOutput{KeyId: aws.String(fakeKeyARN), Plaintext: plain, CiphertextBlob: wrapped}, nil
}

func (f *fakeKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n["decrypt"]++
	f.lastDecrypt = *in
	if aws.ToString(in.KeyId) != fakeKeyARN {
		return nil, &types.IncorrectKeyException{Message: aws.String("wrong key")}
	}
	plain, err := f.wrap.Decrypt(ctx, in.CiphertextBlob, f.wrap.ID(), in.EncryptionContext)
	if err != nil {
		return nil, &types.InvalidCiphertextException{Message: aws.String("invalid ciphertext")}
	}
	return &kms.DecryptOutput{KeyId: aws.String(fakeKeyARN), Plaintext: plain}, nil
}
