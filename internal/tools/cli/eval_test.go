package cli

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/facelambda/facelambda/internal/tools/evaluation"
)

func TestPrintFARCheck(t *testing.T) {
	tests := []struct {
		name string
		in   *evaluation.FARCheckReport
		want []string
	}{
		{name: "no table", in: nil, want: nil},
		{
			name: "one point",
			in: &evaluation.FARCheckReport{Encoder: "enc", TableSource: "src", TableImpostors: 1000, Interval: evaluation.IntervalMethod,
				Points: []evaluation.FARCheck{{
					FAR: 1e-6, Cosine: 0.55, PredictedFAR: 1e-6, Extrapolated: true, Impostor: 1500, Accepted: 0, High: 0.00246,
					Genuine: 1500, GenuineAccepted: 1400, TAR: 1400.0 / 1500, Verdict: evaluation.TooFew, Note: "1500 impostor pairs are too few",
				}},
			},
			want: []string{
				"calibration check: table enc (src, 1000 impostor pairs)", "Clopper-Pearson",
				"predicted FAR", "0.550 (extrapolated)", "[0, 0.00246]", "0.9333 (1400/1500)", "too few pairs",
				"FAR 1e-06: 1500 impostor pairs are too few\n",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			printFARCheck(&b, tt.in)
			if tt.want == nil {
				assert.Empty(t, b.String())
			}
			for _, w := range tt.want {
				assert.Contains(t, b.String(), w)
			}
		})
	}
}
