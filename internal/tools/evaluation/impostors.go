package evaluation

import (
	"context"
	"io"
	"path/filepath"
	"sort"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/ml/face"
	"github.com/facelambda/facelambda/internal/tools/dataset"
)

// Impostors are the cross-identity scores of a folder of images, what the
// score/FAR calibration table is built from.
type Impostors struct {
	Images   int // embedded
	Failures int // not embedded
	// Scores are the cosines of every pair of embedded images of
	// different identities (identity = the image's folder).
	Scores []float32
	// Top are the highest-scoring pairs, best first (a label-noise check).
	Top []TopPair
}

// TopPair is one cross-identity pair and its cosine.
type TopPair struct {
	A, B   string
	Cosine float64
}

// ImpostorScores embeds every image under root and scores all
// cross-identity pairs, keeping the top highest. Progress goes to log.
func ImpostorScores(ctx context.Context, svc *biometric.Service, root string, workers, top int, log io.Writer) (*Impostors, error) {
	paths, err := dataset.Images(root)
	if err != nil {
		return nil, err
	}
	embs := EmbedAll(ctx, svc, root, paths, workers, log)
	type item struct {
		id, path string
		vec      []float32
	}
	var items []item
	res := &Impostors{}
	for _, p := range paths {
		r := embs[p]
		if r.Err != nil {
			res.Failures++
			continue
		}
		items = append(items, item{filepath.Dir(p), p, r.Value})
	}
	res.Images = len(items)
	sort.SliceStable(items, func(i, j int) bool { return items[i].id < items[j].id })
	for i := range items {
		for j := i + 1; j < len(items); j++ {
			if items[i].id != items[j].id {
				c := face.Cosine(items[i].vec, items[j].vec)
				res.Scores = append(res.Scores, float32(c))
				if top > 0 && (len(res.Top) < top || c > res.Top[len(res.Top)-1].Cosine) {
					res.Top = insertTop(res.Top, TopPair{items[i].path, items[j].path, c}, top)
				}
			}
		}
	}
	return res, nil
}

// insertTop keeps the n highest pairs, best first.
func insertTop(s []TopPair, p TopPair, n int) []TopPair {
	i := sort.Search(len(s), func(i int) bool { return s[i].Cosine < p.Cosine })
	s = append(s, TopPair{})
	copy(s[i+1:], s[i:])
	s[i] = p
	if len(s) > n {
		s = s[:n]
	}
	return s
}
