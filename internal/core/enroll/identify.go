package enroll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/facelambda/facelambda/internal/core/gallery"
	"github.com/facelambda/facelambda/internal/core/store"
)

// Hit is a class found by identification.
type Hit struct {
	ClassID uint64
	Cosine  float64
}

// Galleries identifies probes in a tenant's galleries. Each gallery's
// matrix is held in memory (a warm Lambda container keeps it) and reloaded
// when the gallery's version changes; galleries of ShardThreshold members
// or more are also written to the blob store as packed shards, so a cold
// container reads a few objects instead of one item per template.
type Galleries struct {
	svc   *Service
	cache *gallery.Cache
	// ShardThreshold is the member count from which a loaded gallery is
	// saved as shards (default 1000).
	ShardThreshold int
}

// NewGalleries returns an identifier over the service's stores holding at
// most maxBytes of matrices.
func NewGalleries(s *Service, maxBytes int64) *Galleries {
	g := &Galleries{svc: s, ShardThreshold: 1000}
	g.cache = gallery.NewCache(gallery.LoaderFunc(g.load), maxBytes)
	return g
}

// Identify returns the k classes most similar to probe with a cosine of at
// least minCosine, best first. A class scores its best vector.
func (g *Galleries) Identify(ctx context.Context, tenant, name string, probe []float32, k int, minCosine float64) ([]Hit, error) {
	gal, err := g.svc.Classes.GetGallery(ctx, tenant, name)
	if err != nil {
		return nil, err
	}
	key := gallery.Key{Tenant: tenant, Gallery: name}
	idx, err := g.cache.Get(ctx, key, gal.Version)
	if err != nil {
		return nil, fmt.Errorf("load gallery %s: %w", name, err)
	}
	if idx == nil || idx.Len() == 0 {
		return []Hit{}, nil
	}
	cands := idx.Search(probe, k, float32(minCosine))
	out := make([]Hit, 0, len(cands))
	for _, c := range cands {
		out = append(out, Hit{ClassID: c.ClassID, Cosine: float64(c.Score)})
	}
	return out, nil
}

// Changed makes every container reload the galleries a class belongs to
// after its vectors changed: the class is taken out of each gallery and put
// back, which moves the gallery's version on (the store has no other
// version bump); between the two writes a search may miss that one class.
func (g *Galleries) Changed(ctx context.Context, tenant string, classID uint64) {
	names, err := g.svc.Classes.GalleriesOf(ctx, tenant, classID)
	if err != nil {
		slog.WarnContext(ctx, "galleries of a changed class unknown", "class", classID, "err", err)
		return
	}
	for _, n := range names {
		_, err := g.svc.Classes.RemoveMembers(ctx, tenant, n, []uint64{classID})
		if err == nil {
			_, err = g.svc.Classes.AddMembers(ctx, tenant, n, []uint64{classID})
		}
		if err != nil {
			slog.WarnContext(ctx, "gallery not refreshed", "gallery", n, "err", err)
		}
		g.cache.Remove(gallery.Key{Tenant: tenant, Gallery: n})
	}
}

// Drop deletes a gallery's stored shards and cached matrix (after the
// gallery is deleted, or a member class erased: shards hold its vectors).
func (g *Galleries) Drop(ctx context.Context, tenant string, names ...string) error {
	for _, n := range names {
		key := gallery.Key{Tenant: tenant, Gallery: n}
		g.cache.Remove(key)
		if err := g.svc.Blobs.DeletePrefix(ctx, galleryPrefix(key)); err != nil {
			return fmt.Errorf("delete shards of gallery %s: %w", n, err)
		}
	}
	return nil
}

func galleryPrefix(k gallery.Key) string { return fmt.Sprintf("galleries/%s/%s/", k.Tenant, k.Gallery) }

// shardPrefix names a version's shards; the encoder is part of the key, so
// a new encoder never reads vectors of an old one.
func (g *Galleries) shardPrefix(k gallery.Key, version int64) string {
	return fmt.Sprintf("%s%s/v%d/", galleryPrefix(k), g.svc.Bio.Encoder(), version)
}

// load builds a gallery's index: from its shards when a previous load saved
// them for this version, else from the templates (then saving shards for a
// large gallery).
func (g *Galleries) load(ctx context.Context, key gallery.Key, version int64) (*gallery.Index, error) {
	if idx, err := g.loadShards(ctx, key, version); err == nil {
		return idx, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		slog.WarnContext(ctx, "gallery shards unreadable; rebuilding from templates", "gallery", key.Gallery, "err", err)
	}
	b, err := gallery.NewBuilder(512)
	if err != nil {
		return nil, err
	}
	members := 0
	var after uint64
	for {
		ids, next, err := g.svc.Classes.Members(ctx, key.Tenant, key.Gallery, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			members++
			c, err := g.svc.Classes.GetClass(ctx, key.Tenant, id)
			if errors.Is(err, store.ErrNotFound) {
				continue // a member not enrolled (yet)
			}
			if err != nil {
				return nil, err
			}
			vecs, err := g.svc.Vectors(ctx, c)
			if err != nil {
				slog.WarnContext(ctx, "class left out of gallery", "class", id, "err", err)
				continue
			}
			for _, v := range vecs {
				if err := b.Add(id, v); err != nil {
					return nil, err
				}
			}
		}
		if next == 0 {
			break
		}
		after = next
	}
	idx, err := b.Build(gallery.Options{Version: version})
	if err != nil {
		return nil, err
	}
	if members >= g.ShardThreshold {
		if err := g.saveShards(ctx, key, version, idx); err != nil {
			slog.WarnContext(ctx, "gallery shards not saved", "gallery", key.Gallery, "err", err)
		}
	}
	return idx, nil
}

func (g *Galleries) saveShards(ctx context.Context, key gallery.Key, version int64, idx *gallery.Index) error {
	enc := idx.Encoding()
	if enc != gallery.Float32 && enc != gallery.Float16 && enc != gallery.Int8 && enc != gallery.Int7 {
		enc = gallery.Float16
	}
	shards, err := gallery.NewShards(idx, enc, 0)
	if err != nil {
		return err
	}
	// Older versions (which may hold erased or replaced vectors) go first.
	if err := g.svc.Blobs.DeletePrefix(ctx, galleryPrefix(key)); err != nil {
		return err
	}
	prefix := g.shardPrefix(key, version)
	for _, s := range shards {
		b, err := gallery.MarshalShard(s)
		if err != nil {
			return err
		}
		// Shards hold face vectors: sealed like templates (class id 0, which
		// no template has, binds them to the tenant's shards).
		sealed, err := g.svc.Sealer.SealTemplate(ctx, key.Tenant, 0, b)
		if err != nil {
			return err
		}
		if err := g.svc.Blobs.Put(ctx, prefix+strconv.Itoa(s.Index)+".shard", sealed, "application/octet-stream"); err != nil {
			return err
		}
	}
	// The count object is written last: its presence means all shards are there.
	return g.svc.Blobs.Put(ctx, prefix+"count", []byte(strconv.Itoa(len(shards))), "text/plain")
}

func (g *Galleries) loadShards(ctx context.Context, key gallery.Key, version int64) (*gallery.Index, error) {
	prefix := g.shardPrefix(key, version)
	raw, _, err := g.svc.Blobs.Get(ctx, prefix+"count")
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 1 || n > 65536 {
		return nil, fmt.Errorf("gallery %s: bad shard count %q", key.Gallery, raw)
	}
	shards := make([]*gallery.Shard, 0, n)
	for i := 0; i < n; i++ {
		sealed, _, err := g.svc.Blobs.Get(ctx, prefix+strconv.Itoa(i)+".shard")
		if err != nil {
			return nil, fmt.Errorf("gallery %s shard %d: %w", key.Gallery, i, err)
		}
		b, err := g.svc.Sealer.OpenTemplate(ctx, key.Tenant, 0, sealed)
		if err != nil {
			return nil, fmt.Errorf("gallery %s shard %d: %w", key.Gallery, i, err)
		}
		s, err := gallery.ParseShard(b)
		if err != nil {
			return nil, err
		}
		shards = append(shards, s)
	}
	return gallery.FromShards(shards, gallery.Options{Version: version})
}
