package evaluation_test

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/biometric/biometrictest"
	"github.com/facelambda/facelambda/internal/testkit"
	"github.com/facelambda/facelambda/internal/tools/dataset"
	"github.com/facelambda/facelambda/internal/tools/evaluation"
)

// TestLFWVerification runs the LFW evaluation of docs/accuracy.md on the
// official pairs and holds the pipeline to the targets.
func TestLFWVerification(t *testing.T) {
	root := testkit.Shared(t, "data", "lfw")
	if testing.Short() {
		t.Skip("LFW evaluation takes a minute or two")
	}
	pairs, err := dataset.ReadPairs(filepath.Join(root, "pairs.tsv"))
	require.NoError(t, err)
	svc := biometrictest.Real(t)
	res := evaluation.VerifyDataset(context.Background(), svc, root, pairs, 0, io.Discard)
	t.Logf("LFW: accuracy %.4f, folds %.4f, AUC %.4f, EER %.4f, TAR %v, failures %d",
		res.Accuracy, res.FoldAccuracy.Mean, res.AUC, res.EER, res.TARAtFAR, res.Failures)
	assert.Equal(t, 3000, res.Pairs)
	assert.Zero(t, res.Failures, "every LFW image has a detectable face")
	assert.GreaterOrEqual(t, res.FoldAccuracy.Mean, 0.992)
	assert.GreaterOrEqual(t, res.TARAtFAR["0.001"], 0.985)
	assert.Greater(t, res.AUC, 0.99)
}

func TestDetectDataset(t *testing.T) {
	root := testkit.Shared(t, "data", "detection")
	rows, err := dataset.ReadTSV(filepath.Join(root, "labels.tsv"))
	require.NoError(t, err)
	boxes, err := dataset.ReadTSV(filepath.Join(root, "boxes_dlib.tsv"))
	require.NoError(t, err)
	svc := biometrictest.Real(t)
	res := evaluation.DetectDataset(context.Background(), svc, root, rows, evaluation.TruthBoxes(boxes))
	t.Logf("detection: %+v", res)
	assert.Empty(t, res.Errors)
	assert.GreaterOrEqual(t, res.ExactCountRate, 0.9)
	assert.LessOrEqual(t, res.FalseFaces, 2)
	assert.GreaterOrEqual(t, res.BoxRecall, 0.8)
}
