package gallery

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeStore is a gallery store whose versions the test moves.
type fakeStore struct {
	mu       sync.Mutex
	versions map[Key]int64
	loads    atomic.Int32
	fail     error
	delay    time.Duration
	rows     int
}

func (s *fakeStore) Load(ctx context.Context, key Key, version int64) (*Index, error) {
	s.loads.Add(1)
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	s.mu.Lock()
	v, fail := s.versions[key], s.fail
	s.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	// The store has moved on: the loader reads what is there.
	b, _ := NewBuilder(4)
	for i := 0; i < max(1, s.rows); i++ {
		_ = b.Add(uint64(v*1000+int64(i)), []float32{1, float32(i), 0, 0})
	}
	return b.Build(Options{Encoding: Float32, Version: v})
}

func TestCacheRefresh(t *testing.T) {
	ctx := context.Background()
	a, b := Key{"t1", "g"}, Key{"t2", "g"} // same name, other tenant
	st := &fakeStore{versions: map[Key]int64{a: 1, b: 7}}
	c := NewCache(st, 0)
	x, err := c.Get(ctx, a, 1)
	if err != nil || x.Version() != 1 {
		t.Fatalf("first get: %v %v", x, err)
	}
	if y, _ := c.Get(ctx, a, 1); y != x || st.loads.Load() != 1 {
		t.Fatalf("second get reloaded (%d loads)", st.loads.Load())
	}
	if y, _ := c.Get(ctx, b, 7); y == x || y.Version() != 7 || st.loads.Load() != 2 {
		t.Fatal("tenants share an entry")
	}
	// The gallery changes: the next Get with the new version reloads.
	st.versions[a] = 2
	y, err := c.Get(ctx, a, 2)
	if err != nil || y == x || y.Version() != 2 || st.loads.Load() != 3 {
		t.Fatalf("after a version change: %v %v (%d loads)", y, err, st.loads.Load())
	}
	if z, _ := c.Get(ctx, a, 2); z != y {
		t.Fatal("reloaded again")
	}
	// A loader error is returned, not cached; the old index stays.
	st.fail = errors.New("s3 down")
	if _, err := c.Get(ctx, a, 3); err == nil || err.Error() != "s3 down" {
		t.Fatalf("loader error: %v", err)
	}
	if z, _ := c.Get(ctx, a, 2); z != y {
		t.Fatal("the old index was dropped by a failed load")
	}
	st.fail = nil
	// The loader read a newer version than asked (the store moved on):
	// both versions hit without reloading.
	st.versions[a] = 5
	loads := st.loads.Load()
	z, _ := c.Get(ctx, a, 4)
	if z.Version() != 5 {
		t.Fatalf("version %d", z.Version())
	}
	c.Get(ctx, a, 4)
	c.Get(ctx, a, 5)
	if st.loads.Load() != loads+1 {
		t.Fatalf("%d loads for one version change", st.loads.Load()-loads)
	}
	c.Remove(a)
	c.Get(ctx, a, 5)
	if st.loads.Load() != loads+2 {
		t.Fatal("Remove did not forget the gallery")
	}
	s := c.Stats()
	if s.Entries != 2 || s.Errors != 1 || s.Hits < 5 || s.Bytes <= 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCacheSharedLoad(t *testing.T) {
	k := Key{"t", "g"}
	st := &fakeStore{versions: map[Key]int64{k: 3}, delay: 50 * time.Millisecond}
	c := NewCache(LoaderFunc(st.Load), 0)
	var wg sync.WaitGroup
	got := make([]*Index, 16)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = c.Get(context.Background(), k, 3)
		}()
	}
	wg.Wait()
	if st.loads.Load() != 1 {
		t.Fatalf("%d loads for concurrent gets", st.loads.Load())
	}
	for _, x := range got {
		if x == nil || x != got[0] {
			t.Fatal("gets returned different indexes")
		}
	}
	// A waiter gives up with its context.
	st.versions[k] = 4
	st.delay = 200 * time.Millisecond
	go c.Get(context.Background(), k, 4)
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := c.Get(ctx, k, 4); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting get: %v", err)
	}
}

func TestCacheEviction(t *testing.T) {
	st := &fakeStore{versions: map[Key]int64{}, rows: 100}
	one, _ := st.Load(context.Background(), Key{}, 0)
	st.loads.Store(0)
	c := NewCache(st, 2*one.Bytes()+one.Bytes()/2) // room for two
	ctx := context.Background()
	keys := []Key{{"t", "a"}, {"t", "b"}, {"t", "c"}}
	c.Get(ctx, keys[0], 0)
	c.Get(ctx, keys[1], 0)
	c.Get(ctx, keys[0], 0) // a is now the most recent
	c.Get(ctx, keys[2], 0) // evicts b
	if s := c.Stats(); s.Entries != 2 || s.Evictions != 1 || s.Bytes != 2*one.Bytes() {
		t.Fatalf("stats %+v", s)
	}
	loads := st.loads.Load()
	c.Get(ctx, keys[0], 0)
	if st.loads.Load() != loads {
		t.Fatal("the recently used gallery was evicted")
	}
	c.Get(ctx, keys[1], 0)
	if st.loads.Load() != loads+1 {
		t.Fatal("the evicted gallery was still cached")
	}
	// An index larger than the bound is still returned and kept alone.
	small := NewCache(st, 1)
	if x, err := small.Get(ctx, keys[0], 0); err != nil || x == nil {
		t.Fatal(err)
	}
	small.Get(ctx, keys[1], 0)
	if s := small.Stats(); s.Entries != 1 {
		t.Fatalf("stats %+v", s)
	}
}
