package evaluation

import (
	"cmp"
	"slices"
)

// Box is an axis-aligned rectangle with top-left corner (X, Y), width W and
// height H. A box with W <= 0 or H <= 0 is empty.
type Box struct {
	X, Y, W, H float64
}

func (b Box) area() float64 {
	if b.W <= 0 || b.H <= 0 {
		return 0
	}
	return b.W * b.H
}

// IoU returns the intersection over union of a and b, in [0, 1]; it is 0
// when the union is empty.
func IoU(a, b Box) float64 {
	iw := min(a.X+a.W, b.X+b.W) - max(a.X, b.X)
	ih := min(a.Y+a.H, b.Y+b.H) - max(a.Y, b.Y)
	inter := 0.0
	if iw > 0 && ih > 0 && a.area() > 0 && b.area() > 0 {
		inter = iw * ih
	}
	union := a.area() + b.area() - inter
	if !(union > 0) {
		return 0
	}
	return min(inter/union, 1)
}

// MatchBoxes matches detected boxes to ground-truth boxes greedily: pairs
// are taken in order of decreasing IoU (ties by truth index, then found
// index), and a pair is matched when neither box is matched yet and its IoU
// is >= minIoU and > 0. Each box is matched at most once. It returns the
// number of matched pairs (true positives) and of unmatched found boxes
// (false positives); len(truth) - matched are the misses.
func MatchBoxes(truth, found []Box, minIoU float64) (matched int, falsePos int) {
	type candidate struct {
		iou  float64
		t, f int
	}
	var cands []candidate
	for ti, t := range truth {
		for fi, f := range found {
			if iou := IoU(t, f); iou > 0 && iou >= minIoU {
				cands = append(cands, candidate{iou, ti, fi})
			}
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(b.iou, a.iou), cmp.Compare(a.t, b.t), cmp.Compare(a.f, b.f))
	})
	usedT := make([]bool, len(truth))
	usedF := make([]bool, len(found))
	for _, c := range cands {
		if usedT[c.t] || usedF[c.f] {
			continue
		}
		usedT[c.t], usedF[c.f] = true, true
		matched++
	}
	return matched, len(found) - matched
}
