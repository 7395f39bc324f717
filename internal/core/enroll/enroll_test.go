package enroll_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/store/embedded"
	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/biometric/biometrictest"
	"github.com/facelambda/facelambda/internal/core/enroll"
	"github.com/facelambda/facelambda/internal/core/envelope"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/testkit"
)

// service returns the biometric service on the real engine (the layers), or skips.
func service(t *testing.T) *biometric.Service { return biometrictest.Real(t) }

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testkit.Testdata(t, "faces", name))
	require.NoError(t, err)
	return b
}

// thumbnailFiles lists the thumbnail blobs of a class in the store's
// directory.
func thumbnailFiles(t *testing.T, st *embedded.Store, tenant string, id uint64) []string {
	t.Helper()
	root := filepath.Join(st.Dir(), "blobs")
	dir := filepath.Join(root, filepath.FromSlash(store.ThumbnailPrefix(tenant, id)))
	var keys []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			keys = append(keys, filepath.ToSlash(rel))
		}
		return nil
	})
	require.NoError(t, err)
	sort.Strings(keys)
	return keys
}

// Enrolments racing deletes of the same class lose nothing: when the class
// exists afterwards, every thumbnail it names is stored, and no thumbnail
// outlives the templates that named it. (Delete used to remove every blob
// under the class's prefix after removing the class, taking the
// thumbnails of a template written in between.)
func TestEnrolRacingDelete(t *testing.T) {
	svc := service(t)
	st, err := embedded.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	keys, err := envelope.NewLocalKey(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	es := &enroll.Service{Bio: svc, Classes: st, Blobs: st, Thumbnails: true,
		Sealer: enroll.EnvelopeSealer{Sealer: envelope.NewSealer(keys, envelope.Options{})}}
	imgs := [][]byte{fixture(t, "obama.jpg"), fixture(t, "obama2.jpg")}
	const tenant = "acme"
	ctx := t.Context()
	for round := range 3 {
		id := uint64(round + 1)
		var enrolments, deletes sync.WaitGroup
		done := make(chan struct{})
		errs := make(chan error, 40)
		for i := range 10 {
			enrolments.Add(1)
			go func() {
				defer enrolments.Done()
				if _, err := es.Enroll(ctx, tenant, id, [][]byte{imgs[i%2]}); err != nil {
					errs <- err
				}
			}()
			deletes.Add(1)
			go func() {
				defer deletes.Done()
				for {
					if err := es.Delete(ctx, tenant, id); err != nil && !strings.Contains(err.Error(), "no template") {
						var be *fault.Error
						if !errors.As(err, &be) || be.Code != fault.CodeTemplateNotFound {
							errs <- err
						}
					}
					select {
					case <-done:
						return
					default:
					}
				}
			}()
		}
		enrolments.Wait()
		close(done)
		deletes.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		var named []string
		c, err := st.GetClass(ctx, tenant, id)
		if err == nil {
			named = append(named, c.Thumbnails...)
			sort.Strings(named)
			assert.Len(t, named, c.Vectors, "round %d: a thumbnail per vector", round)
		} else {
			require.ErrorIs(t, err, store.ErrNotFound)
		}
		assert.Equal(t, named, thumbnailFiles(t, st, tenant, id), "round %d: stored thumbnails are those the class names", round)
	}
}

// failingClasses fails the gallery membership writes.
type failingClasses struct {
	store.Classes
}

func (failingClasses) GalleriesOf(context.Context, string, uint64) ([]string, error) {
	return []string{"staff"}, nil
}

func (failingClasses) RemoveMembers(context.Context, string, string, []uint64) (store.Gallery, error) {
	return store.Gallery{}, errors.New("members: throttled")
}

func (failingClasses) AddMembers(context.Context, string, string, []uint64) (store.Gallery, error) {
	return store.Gallery{}, errors.New("members: throttled")
}

// A gallery refresh that fails is logged (the error used to be shadowed).
func TestChangedLogsFailedRefresh(t *testing.T) {
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	g := enroll.NewGalleries(&enroll.Service{Classes: failingClasses{}}, 1<<20)
	g.Changed(t.Context(), "acme", 7)
	assert.Contains(t, buf.String(), "gallery not refreshed")
	assert.Contains(t, buf.String(), "gallery=staff")
	assert.Contains(t, buf.String(), "throttled")
}
