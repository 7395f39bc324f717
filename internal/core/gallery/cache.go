package gallery

import (
	"context"
	"sync"
)

// Key names one gallery of one tenant.
type Key struct {
	Tenant  string
	Gallery string
}

// Loader reads a gallery's index, for [Cache]. version is the gallery
// version the caller wants (what it just read from the store); the loader
// builds the index of that version (from shards, or from the templates)
// and sets [Options].Version to the version it actually read.
type Loader interface {
	Load(ctx context.Context, key Key, version int64) (*Index, error)
}

// LoaderFunc adapts a function to [Loader].
type LoaderFunc func(ctx context.Context, key Key, version int64) (*Index, error)

// Load calls f.
func (f LoaderFunc) Load(ctx context.Context, key Key, version int64) (*Index, error) {
	return f(ctx, key, version)
}

// Cache keeps gallery indexes in memory across requests (a warm Lambda
// container keeps its matrices) and reloads one when the gallery's version
// changes. It holds at most maxBytes of indexes ([Index.Bytes]), evicting
// the least recently used, but always the one just loaded. It is safe for
// concurrent use; concurrent requests for a gallery that must be loaded
// share one load.
type Cache struct {
	loader   Loader
	maxBytes int64

	mu    sync.Mutex
	items map[Key]*cacheItem
	tick  uint64
	stats CacheStats
}

type cacheItem struct {
	idx     *Index
	asked   int64 // the version it was loaded for
	used    uint64
	loading *cacheLoad
}

type cacheLoad struct {
	done    chan struct{}
	version int64
	idx     *Index
	err     error
}

// CacheStats counts what a cache did.
type CacheStats struct {
	Hits, Loads, Errors, Evictions int
	Entries                        int
	Bytes                          int64
}

// NewCache returns a cache over loader holding at most maxBytes of indexes
// (<= 0: no bound).
func NewCache(loader Loader, maxBytes int64) *Cache {
	return &Cache{loader: loader, maxBytes: maxBytes, items: map[Key]*cacheItem{}}
}

// Get returns the index of the gallery at version: the cached one when it
// was loaded for that version or has it, otherwise a new one from the
// loader (which replaces the old one). Errors of the loader are returned
// and not cached; the previous index stays cached.
func (c *Cache) Get(ctx context.Context, key Key, version int64) (*Index, error) {
	for {
		c.mu.Lock()
		it := c.items[key]
		if it != nil && it.idx != nil && (it.asked == version || it.idx.Version() == version) {
			c.tick++
			it.used = c.tick
			c.stats.Hits++
			idx := it.idx
			c.mu.Unlock()
			return idx, nil
		}
		if it != nil && it.loading != nil {
			l := it.loading
			c.mu.Unlock()
			select {
			case <-l.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if l.version == version {
				return l.idx, l.err
			}
			continue // loaded another version: look again
		}
		if it == nil {
			it = &cacheItem{}
			c.items[key] = it
		}
		l := &cacheLoad{done: make(chan struct{}), version: version}
		it.loading = l
		c.stats.Loads++
		c.mu.Unlock()

		l.idx, l.err = c.loader.Load(ctx, key, version)

		c.mu.Lock()
		it.loading = nil
		if l.err != nil {
			c.stats.Errors++
			if it.idx == nil {
				delete(c.items, key)
			}
		} else {
			if it.idx != nil {
				c.stats.Bytes -= it.idx.Bytes()
			}
			it.idx, it.asked = l.idx, version
			c.tick++
			it.used = c.tick
			c.stats.Bytes += l.idx.Bytes()
			c.evict(key)
		}
		c.mu.Unlock()
		close(l.done)
		return l.idx, l.err
	}
}

// evict drops least recently used indexes, never keep, while over the
// bound. c.mu is held.
func (c *Cache) evict(keep Key) {
	for c.maxBytes > 0 && c.stats.Bytes > c.maxBytes {
		var victim Key
		var oldest *cacheItem
		for k, it := range c.items {
			if k == keep || it.idx == nil || it.loading != nil {
				continue
			}
			if oldest == nil || it.used < oldest.used {
				victim, oldest = k, it
			}
		}
		if oldest == nil {
			return
		}
		c.stats.Bytes -= oldest.idx.Bytes()
		c.stats.Evictions++
		delete(c.items, victim)
	}
}

// Remove forgets a gallery (after it is deleted, say).
func (c *Cache) Remove(key Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if it := c.items[key]; it != nil && it.loading == nil {
		if it.idx != nil {
			c.stats.Bytes -= it.idx.Bytes()
		}
		delete(c.items, key)
	}
}

// Stats returns the counters and the current size.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries = 0
	for _, it := range c.items {
		if it.idx != nil {
			s.Entries++
		}
	}
	return s
}
