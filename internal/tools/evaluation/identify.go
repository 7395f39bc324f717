package evaluation

import (
	"errors"
	"path/filepath"
	"slices"
	"sort"

	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/core/gallery"
)

// IdentifyResult is the JSON report of `eval identify`.
type IdentifyResult struct {
	Encoder    string `json:"encoder"`
	Images     int    `json:"images"`
	Failures   int    `json:"failures_to_embed"`
	Identities int    `json:"identities_enrolled"`
	Distractor int    `json:"distractor_images"`
	Mated      int    `json:"mated_searches"`
	NonMated   int    `json:"nonmated_searches"`
	// Closed set, gallery = one image of each identity with 2+ images.
	Rank1 float64 `json:"rank1"`
	Rank5 float64 `json:"rank5"`
	// The same with every distractor enrolled too (a larger gallery).
	Rank1WithDistractors float64 `json:"rank1_with_distractors_enrolled"`
	Rank5WithDistractors float64 `json:"rank5_with_distractors_enrolled"`
	GalleryWithDistract  int     `json:"gallery_with_distractors"`
	// Open set at each level's cut-off (HIGH is the headline).
	Levels []IdentifyLevel `json:"levels"`
	// Agreement of each encoding with the exact search on these embeddings
	// (gallery with distractors, every mated and distractor probe).
	Encodings []IdentifyAgreement `json:"encodings"`
	Failed    []string            `json:"failed_images,omitempty"`
}

// IdentifyLevel is the open-set result at one cut-off.
type IdentifyLevel struct {
	Level  string  `json:"level"`
	FAR    float64 `json:"far"`
	Cosine float64 `json:"cosine"`
	// FPIR: fraction of non-mated searches returning any candidate at or
	// above the cut-off; split by kind.
	FPIR            float64 `json:"fpir"`
	FPIRDistractors float64 `json:"fpir_distractor_probes"`
	FPIRMateRemoved float64 `json:"fpir_mate_removed"`
	// FNIR: fraction of mated searches whose mate is not returned at or
	// above the cut-off (candidate list of 10); FNIRRank1 asks for the
	// mate as the top candidate.
	FNIR      float64 `json:"fnir"`
	FNIRRank1 float64 `json:"fnir_rank1"`
}

// IdentifyAgreement compares one encoding with the exact search.
type IdentifyAgreement struct {
	Encoding     string  `json:"encoding"`
	Rescore      int     `json:"rescore"`
	Top1         float64 `json:"top1_agreement"`
	Top10Overlap float64 `json:"top10_overlap"`
	Rank1        float64 `json:"rank1_with_distractors_enrolled"`
}

// Identify runs the LFW 1:N protocol on embeddings (paths relative to the
// root, identity = the image's folder; an embedding error is a failure):
//
//   - gallery: the first image (in path order) that embeds of every
//     identity with two or more images; mated searches: its other images;
//     distractors: the images of identities with exactly one image.
//   - rank-1/rank-5: mated searches whose mate is the top candidate / among
//     the top five, against the gallery, then against the gallery with
//     every distractor enrolled too. A probe that failed to embed is a miss.
//   - open set (ISO/IEC 19795-1 style) at the cut-off of each level, the
//     cosine where the calibration table's FAR is the level's selfie
//     bound (HIGH: 1e-4): FPIR = fraction of non-mated searches returning
//     any candidate at or above the cut-off, the non-mated searches being
//     every distractor image searched against the gallery, and every mated
//     probe searched against the gallery without its mate; FNIR = fraction
//     of mated searches whose mate is not among the candidates at or above
//     the cut-off (and, rank 1, not the top candidate at or above it). A
//     probe that failed to embed returns nothing: a miss when mated, a
//     true negative when not.
//
// Searches use the default index (encoding and re-scoring of
// [gallery.DefaultEncoding]); the agreement of every encoding with the
// exact search is reported too.
func Identify(encoder string, paths []string, embs Embeddings) (*IdentifyResult, error) {
	table, err := calibration.Default(encoder)
	if err != nil {
		return nil, err
	}
	sorted := slices.Clone(paths)
	sort.Strings(sorted)
	byID := map[string][]string{}
	var idents []string
	res := &IdentifyResult{Encoder: encoder}
	for _, p := range sorted {
		id := filepath.Dir(p)
		if _, ok := byID[id]; !ok {
			idents = append(idents, id)
		}
		byID[id] = append(byID[id], p)
		res.Images++
		if r, ok := embs[p]; !ok || r.Err != nil {
			res.Failures++
			res.Failed = append(res.Failed, p)
		}
	}
	vec := func(p string) []float32 {
		if r, ok := embs[p]; ok && r.Err == nil {
			return r.Value
		}
		return nil
	}
	type probe struct {
		vec  []float32
		mate uint64 // 0: non-mated (distractor)
	}
	var dims int
	var galleryIDs []uint64
	var galleryVecs []float32
	var distractors []probe
	var mated []probe
	classOf := map[string]uint64{}
	for _, id := range idents {
		imgs := byID[id]
		if len(imgs) == 1 {
			distractors = append(distractors, probe{vec: vec(imgs[0])})
			continue
		}
		enrolled := -1
		for i, p := range imgs {
			if v := vec(p); v != nil {
				enrolled = i
				if dims == 0 {
					dims = len(v)
				}
				classOf[id] = uint64(len(galleryIDs) + 1)
				galleryIDs = append(galleryIDs, classOf[id])
				galleryVecs = append(galleryVecs, v...)
				break
			}
		}
		for i, p := range imgs {
			if i != enrolled {
				mated = append(mated, probe{vec: vec(p), mate: classOf[id]}) // mate 0 if none enrolled
			}
		}
	}
	if len(galleryIDs) == 0 {
		return nil, errors.New("eval identify: no identity with two or more embedded images")
	}
	res.Identities, res.Mated, res.Distractor = len(galleryIDs), len(mated), len(distractors)
	res.NonMated = len(mated) + len(distractors)

	g, err := gallery.FromVectors(dims, galleryIDs, slices.Clone(galleryVecs), gallery.Options{})
	if err != nil {
		return nil, err
	}
	// The larger gallery: distractors enrolled as classes of their own.
	bigIDs := slices.Clone(galleryIDs)
	bigVecs := slices.Clone(galleryVecs)
	for i, d := range distractors {
		if d.vec != nil {
			bigIDs = append(bigIDs, uint64(1_000_000+i))
			bigVecs = append(bigVecs, d.vec...)
		}
	}
	res.GalleryWithDistract = len(bigIDs)
	big, err := gallery.FromVectors(dims, bigIDs, slices.Clone(bigVecs), gallery.Options{})
	if err != nil {
		return nil, err
	}

	rankOf := func(c []gallery.Candidate, mate uint64) int {
		for i, x := range c {
			if x.ClassID == mate {
				return i + 1
			}
		}
		return 0
	}
	type matedOut struct {
		rank      int     // in the gallery, 0: not in the top 10
		mateScore float64 // -2 if not returned
		top       float64 // best candidate's score
		nonMate   float64 // best non-mate score (the search without the mate)
	}
	mo := make([]matedOut, len(mated))
	var r1, r5, r1b, r5b int
	for i, p := range mated {
		o := matedOut{mateScore: -2, top: -2, nonMate: -2}
		if p.vec != nil {
			c := g.Search(p.vec, 10, -1)
			o.rank = rankOf(c, p.mate)
			if len(c) > 0 {
				o.top = float64(c[0].Score)
			}
			for _, x := range c {
				if x.ClassID == p.mate {
					o.mateScore = float64(x.Score)
				} else if o.nonMate == -2 {
					o.nonMate = float64(x.Score)
				}
			}
			if rb := rankOf(big.Search(p.vec, 5, -1), p.mate); rb > 0 {
				r5b++
				if rb == 1 {
					r1b++
				}
			}
		}
		if o.rank == 1 {
			r1++
		}
		if o.rank >= 1 && o.rank <= 5 {
			r5++
		}
		mo[i] = o
	}
	res.Rank1 = float64(r1) / float64(len(mated))
	res.Rank5 = float64(r5) / float64(len(mated))
	res.Rank1WithDistractors = float64(r1b) / float64(len(mated))
	res.Rank5WithDistractors = float64(r5b) / float64(len(mated))
	distTop := make([]float64, len(distractors))
	for i, d := range distractors {
		distTop[i] = -2
		if d.vec != nil {
			if c := g.Search(d.vec, 1, -1); len(c) > 0 {
				distTop[i] = float64(c[0].Score)
			}
		}
	}
	for _, lv := range calibration.Levels() {
		far := calibration.Selfie.FARAt(lv)
		cut := table.CosineAt(far)
		// Candidates come back as float32: compare as the service would.
		at := func(s float64) bool { return s > -2 && float32(s) >= float32(cut) }
		var fpD, fpM, fn, fn1 int
		for _, s := range distTop {
			if at(s) {
				fpD++
			}
		}
		for _, o := range mo {
			if at(o.nonMate) {
				fpM++
			}
			if !at(o.mateScore) {
				fn++
			}
			if !(o.rank == 1 && at(o.mateScore)) {
				fn1++
			}
		}
		res.Levels = append(res.Levels, IdentifyLevel{Level: string(lv), FAR: far, Cosine: Round3(cut),
			FPIR:            float64(fpD+fpM) / float64(res.NonMated),
			FPIRDistractors: ratio(fpD, len(distractors)), FPIRMateRemoved: ratio(fpM, len(mated)),
			FNIR: ratio(fn, len(mated)), FNIRRank1: ratio(fn1, len(mated))})
	}

	// Agreement of each encoding with the exact search, on the big gallery.
	var probes []probe
	for _, p := range append(slices.Clone(mated), distractors...) {
		if p.vec != nil {
			probes = append(probes, p)
		}
	}
	exact := make([][]gallery.Candidate, len(probes))
	for i, p := range probes {
		if exact[i], err = big.SearchExact(p.vec, 10, -1); err != nil {
			return nil, err
		}
	}
	// Each encoding alone (-1), re-scoring its default number of rows (0),
	// and the integer ones re-scoring 0.4% of the gallery (RescoreDivisor),
	// the share the default re-scores in a large gallery.
	share := max(10, len(bigIDs)/gallery.RescoreDivisor)
	for _, enc := range gallery.Encodings() {
		for _, rescore := range []int{-1, 0, share} {
			switch {
			case enc == gallery.Float32 && rescore != 0, enc == gallery.Float16 && rescore >= 0:
				continue // Float32 is exact; Float16 keeps no float32 by default
			}
			x, err := gallery.FromVectors(dims, bigIDs, slices.Clone(bigVecs), gallery.Options{Encoding: enc, Rescore: rescore})
			if err != nil {
				return nil, err
			}
			a := IdentifyAgreement{Encoding: enc.String(), Rescore: x.Rescore()}
			var top1, overlap, rank1, matedN int
			for i, p := range probes {
				c := x.Search(p.vec, 10, -1)
				if len(c) > 0 && c[0].ClassID == exact[i][0].ClassID {
					top1++
				}
				overlap += sharedClasses(c, exact[i])
				if p.mate != 0 {
					matedN++
					if len(c) > 0 && c[0].ClassID == p.mate {
						rank1++
					}
				}
			}
			a.Top1 = ratio(top1, len(probes))
			a.Top10Overlap = float64(overlap) / float64(10*len(probes))
			a.Rank1 = ratio(rank1, len(mated))
			res.Encodings = append(res.Encodings, a)
		}
	}
	return res, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// sharedClasses counts the candidates of a whose class is among b's.
func sharedClasses(a, b []gallery.Candidate) int {
	in := map[uint64]bool{}
	for _, c := range b {
		in[c.ClassID] = true
	}
	n := 0
	for _, c := range a {
		if in[c.ClassID] {
			n++
		}
	}
	return n
}
