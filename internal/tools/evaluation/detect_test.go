package evaluation

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIoU(t *testing.T) {
	tests := []struct {
		name string
		a, b Box
		want float64
	}{
		{"identical", Box{1, 2, 3, 4}, Box{1, 2, 3, 4}, 1},
		{"disjoint", Box{0, 0, 1, 1}, Box{5, 5, 1, 1}, 0},
		{"touching edges", Box{0, 0, 1, 1}, Box{1, 0, 1, 1}, 0},
		{"half overlapping", Box{0, 0, 2, 2}, Box{1, 0, 2, 2}, 2.0 / 6},
		{"contained", Box{0, 0, 4, 4}, Box{1, 1, 2, 2}, 4.0 / 16},
		{"corner overlap", Box{0, 0, 2, 2}, Box{1, 1, 2, 2}, 1.0 / 7},
		{"empty box", Box{0, 0, 0, 0}, Box{0, 0, 1, 1}, 0},
		{"both empty", Box{}, Box{}, 0},
		{"negative size", Box{0, 0, -2, 2}, Box{-1, 0, 2, 2}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, IoU(tt.a, tt.b), 1e-12)
			assert.InDelta(t, tt.want, IoU(tt.b, tt.a), 1e-12, "symmetric")
		})
	}
}

func TestMatchBoxes(t *testing.T) {
	t1 := Box{0, 0, 10, 10}
	t2 := Box{20, 0, 10, 10}
	tests := []struct {
		name             string
		truth, found     []Box
		minIoU           float64
		matched, falsePo int
	}{
		{"nothing", nil, nil, 0.5, 0, 0},
		{"no detections", []Box{t1, t2}, nil, 0.5, 0, 0},
		{"only false positives", nil, []Box{t1}, 0.5, 0, 1},
		{"exact", []Box{t1, t2}, []Box{t2, t1}, 0.5, 2, 0},
		{
			// Both detections overlap t1; the better one takes it, the other
			// is a false positive.
			"duplicate detection", []Box{t1, t2}, []Box{{1, 0, 10, 10}, t1}, 0.5, 1, 1,
		},
		{
			"below minimum IoU", []Box{t1}, []Box{{5, 0, 10, 10}}, 0.5, 0, 1, // IoU 1/3
		},
		{
			"at minimum IoU", []Box{t1}, []Box{{5, 0, 10, 10}}, 1.0 / 3, 1, 0,
		},
		{
			// Greedy, not optimal: f1 overlaps t1 best (IoU 8/12), so f2,
			// which only overlaps t1 (IoU 6/14), is left over although f1
			// could have gone to t2 (IoU 6/14) and f2 to t1.
			"greedy", []Box{t1, {6, 0, 10, 10}}, []Box{{2, 0, 10, 10}, {-4, 0, 10, 10}}, 0.4, 1, 1,
		},
		{"zero minimum needs overlap", []Box{t1}, []Box{{50, 50, 1, 1}}, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, fp := MatchBoxes(tt.truth, tt.found, tt.minIoU)
			assert.Equal(t, tt.matched, m, "matched")
			assert.Equal(t, tt.falsePo, fp, "false positives")
		})
	}
}
