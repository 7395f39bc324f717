package evaluation

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCountMatches(t *testing.T) {
	tests := []struct {
		want          string
		n             int
		ok, countable bool
	}{
		{"2", 2, true, true}, {"2", 3, false, true}, {">=20", 25, true, true}, {">=20", 3, false, true},
		{"1 (partial)", 1, true, true}, {"?", 1, false, false}, {"0", 0, true, true},
	}
	for _, tt := range tests {
		ok, c := countMatches(tt.want, tt.n)
		assert.Equal(t, tt.ok, ok, tt.want)
		assert.Equal(t, tt.countable, c, tt.want)
	}
}

func TestTruthBoxes(t *testing.T) {
	rows := []map[string]string{
		{"path": "a.jpg", "left": "1", "top": "2", "width": "3", "height": "4"},
		{"path": "a.jpg", "left": "5", "top": "6", "width": "7", "height": "8", "ignore": "0"},
		{"path": "b.jpg", "left": "1", "top": "1", "width": "1", "height": "1", "ignore": "1"},
	}
	assert.Equal(t, map[string][]Box{"a.jpg": {{X: 1, Y: 2, W: 3, H: 4}, {X: 5, Y: 6, W: 7, H: 8}}}, TruthBoxes(rows))
}
