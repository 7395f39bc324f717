package evaluation

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/testkit"

	"github.com/facelambda/facelambda/internal/core/challenge"
)

const annotationHead = "# comment\nclip\tfirst_frame\tlast_frame\tmove\tnote\n"

func TestParseAnnotations(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Annotations
		err  string
	}{
		{
			name: "rows sorted per clip, comments and blank lines skipped",
			body: annotationHead + "a\t10\t20\tTURN_LEFT\tslow\n\n# note\nb\t1\t5\tNEUTRAL\t\na\t1\t9\tNEUTRAL\tsmiles\n",
			want: Annotations{
				"a": {{First: 1, Last: 9, Move: MoveNeutral, Note: "smiles"}, {First: 10, Last: 20, Move: "TURN_LEFT", Note: "slow"}},
				"b": {{First: 1, Last: 5, Move: MoveNeutral}},
			},
		},
		{
			name: "compatible overlaps: turn with look, blink in turn, other with neutral",
			body: annotationHead + "a\t1\t20\tTURN_RIGHT\t\na\t5\t15\tLOOK_UP\t\na\t6\t7\tBLINK\t\na\t21\t30\tNEUTRAL\t\na\t25\t40\tOTHER\thand\n",
			want: Annotations{"a": {
				{First: 1, Last: 20, Move: "TURN_RIGHT"}, {First: 5, Last: 15, Move: "LOOK_UP"}, {First: 6, Last: 7, Move: "BLINK"},
				{First: 21, Last: 30, Move: MoveNeutral}, {First: 25, Last: 40, Move: MoveOther, Note: "hand"},
			}},
		},
		{name: "CRLF line ends", body: strings.ReplaceAll(annotationHead+"a\t1\t2\tWINK\tleft eye\n", "\n", "\r\n"),
			want: Annotations{"a": {{First: 1, Last: 2, Move: MoveWink, Note: "left eye"}}}},
		{name: "header only", body: annotationHead, want: Annotations{}},
		{name: "no header", body: "# only comments\n", err: "no header"},
		{name: "wrong header", body: "clip\tfirst\tlast\tmove\tnote\n", err: "header"},
		{name: "missing note column", body: annotationHead + "a\t1\t2\tBLINK\n", err: "4 columns"},
		{name: "empty clip", body: annotationHead + "\t1\t2\tBLINK\t\n", err: "empty clip"},
		{name: "frame not a number", body: annotationHead + "a\tx\t2\tBLINK\t\n", err: "first_frame"},
		{name: "last frame not a number", body: annotationHead + "a\t1\t2.5\tBLINK\t\n", err: "last_frame"},
		{name: "frame zero", body: annotationHead + "a\t0\t2\tBLINK\t\n", err: "1 <= first <= last"},
		{name: "range reversed", body: annotationHead + "a\t5\t2\tBLINK\t\n", err: "1 <= first <= last"},
		{name: "unknown move", body: annotationHead + "a\t1\t2\tNOD\t\n", err: "unknown move"},
		{name: "lower-case move", body: annotationHead + "a\t1\t2\tblink\t\n", err: "unknown move"},
		{name: "opposite turns overlap", body: annotationHead + "a\t1\t10\tTURN_LEFT\t\na\t10\t12\tTURN_RIGHT\t\n", err: "overlaps"},
		{name: "opposite looks overlap", body: annotationHead + "a\t3\t9\tLOOK_DOWN\t\na\t1\t4\tLOOK_UP\t\n", err: "overlaps"},
		{name: "blink and wink overlap", body: annotationHead + "a\t3\t4\tBLINK\t\na\t4\t5\tWINK\t\n", err: "overlaps"},
		{name: "neutral during a move", body: annotationHead + "a\t1\t10\tNEUTRAL\t\na\t8\t12\tLOOK_UP\t\n", err: "overlaps"},
		{name: "same move twice", body: annotationHead + "a\t1\t10\tBLINK\t\na\t2\t3\tBLINK\t\n", err: "overlaps"},
		{name: "contradiction after a long stretch", body: annotationHead + "a\t1\t50\tOTHER\t\na\t2\t3\tTURN_LEFT\t\na\t40\t45\tTURN_RIGHT\t\na\t44\t46\tTURN_LEFT\t\n", err: "TURN_RIGHT 40-45 overlaps TURN_LEFT 44-46"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAnnotations(strings.NewReader(tt.body))
			if tt.err != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrAnnotation)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestChallengeSequence(t *testing.T) {
	tests := []struct {
		name string
		rows string
		want []challenge.Action
	}{
		{name: "unannotated clip", rows: "", want: nil},
		{name: "only non-challenge moves", rows: "c\t1\t5\tNEUTRAL\t\nc\t6\t7\tWINK\t\nc\t8\t9\tOTHER\t\n", want: nil},
		{
			name: "in order of first frame, whatever the file order",
			rows: "c\t40\t50\tLOOK_UP\t\nc\t10\t20\tTURN_RIGHT\t\nc\t30\t31\tBLINK\t\nc\t1\t5\tNEUTRAL\t\nc\t60\t61\tBLINK\t\n",
			want: []challenge.Action{challenge.TurnRight, challenge.Blink, challenge.LookUp, challenge.Blink},
		},
		{
			name: "moves nested in a longer challenge move are left out",
			rows: "c\t10\t30\tTURN_LEFT\t\nc\t20\t25\tLOOK_UP\t\nc\t12\t13\tBLINK\t\nc\t40\t45\tLOOK_DOWN\t\n",
			want: []challenge.Action{challenge.TurnLeft, challenge.LookDown},
		},
		{
			name: "a move inside OTHER counts; partly overlapping moves both count",
			rows: "c\t1\t50\tOTHER\tgesture\nc\t5\t20\tTURN_LEFT\t\nc\t15\t30\tLOOK_DOWN\t\n",
			want: []challenge.Action{challenge.TurnLeft, challenge.LookDown},
		},
		{
			name: "identical stretches both count",
			rows: "c\t5\t9\tTURN_LEFT\t\nc\t5\t9\tLOOK_UP\t\n",
			want: []challenge.Action{challenge.TurnLeft, challenge.LookUp},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			an, err := ParseAnnotations(strings.NewReader(annotationHead + tt.rows + "other\t1\t9\tTURN_RIGHT\t\n"))
			require.NoError(t, err)
			assert.Equal(t, tt.want, an.ChallengeSequence("c"))
		})
	}
}

func TestAnnotationsCheckFrames(t *testing.T) {
	an, err := ParseAnnotations(strings.NewReader(annotationHead + "c\t1\t10\tNEUTRAL\t\nc\t11\t20\tTURN_LEFT\t\n"))
	require.NoError(t, err)
	tests := []struct {
		clip   string
		frames int
		err    string
	}{
		{"c", 20, ""}, {"c", 25, ""}, {"c", 19, "TURN_LEFT 11-20 ends past the last frame 19"}, {"unknown", 1, ""},
	}
	for _, tt := range tests {
		err := an.CheckFrames(tt.clip, tt.frames)
		if tt.err == "" {
			assert.NoError(t, err, "%s %d", tt.clip, tt.frames)
			continue
		}
		assert.ErrorIs(t, err, ErrAnnotation)
		assert.ErrorContains(t, err, tt.err)
	}
}

// TestCommittedAnnotations loads the annotations committed beside the eval
// code and, where ../shared holds the clips, checks every clip is annotated
// within its frames.
func TestCommittedAnnotations(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "active", "annotations.tsv"))
	require.NoError(t, err)
	defer f.Close()
	an, err := ParseAnnotations(f)
	require.NoError(t, err)
	require.NotEmpty(t, an)
	for clip, as := range an {
		for _, a := range as {
			if a.Move == MoveOther {
				assert.NotEmpty(t, a.Note, "%s %d-%d: OTHER needs a note saying what it is", clip, a.First, a.Last)
			}
		}
	}

	dir := testkit.Shared(t, "data", "active")
	labels, err := os.Open(filepath.Join(dir, "labels.tsv"))
	require.NoError(t, err)
	defer labels.Close()
	sc := bufio.NewScanner(labels)
	require.True(t, sc.Scan(), "labels.tsv header")
	listed := map[string]bool{}
	for sc.Scan() {
		clip := strings.Split(sc.Text(), "\t")[0]
		if clip == "" {
			continue
		}
		listed[clip] = true
		frames, err := filepath.Glob(filepath.Join(dir, clip, "*.jpg"))
		require.NoError(t, err)
		require.NotEmpty(t, frames, clip)
		assert.NotEmpty(t, an[clip], "clip %s has no annotations", clip)
		assert.NoError(t, an.CheckFrames(clip, len(frames)))
	}
	require.NoError(t, sc.Err())
	for clip := range an {
		assert.True(t, listed[clip], "annotated clip %s is not in labels.tsv", clip)
	}
}
