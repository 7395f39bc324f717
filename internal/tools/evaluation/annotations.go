package evaluation

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/facelambda/facelambda/internal/core/challenge"
)

// Move is what an annotated stretch of a clip shows: one of the API's
// challenge actions, or one of the extra kinds below.
type Move string

// The annotation kinds that are not challenge actions.
const (
	// MoveWink is one eye closing and reopening while the other stays open.
	MoveWink Move = "WINK"
	// MoveNeutral is the resting pose: facing the camera, eyes open, steady.
	MoveNeutral Move = "NEUTRAL"
	// MoveOther marks a stretch worth a note that is none of the moves
	// (a gesture, a head tilt, the face out of view, ...).
	MoveOther Move = "OTHER"
)

// annotationHeader is the column header every annotation file starts with.
var annotationHeader = []string{"clip", "first_frame", "last_frame", "move", "note"}

// Annotation is one annotated stretch of a clip: frames First to Last
// inclusive, numbered as the clip's frame files are (00001.jpg is 1).
type Annotation struct {
	First, Last int
	Move        Move
	Note        string
}

// Annotations holds, per clip, its annotations ordered by first frame (then
// last frame).
type Annotations map[string][]Annotation

// ErrAnnotation is returned (wrapped) for a malformed annotation file.
var ErrAnnotation = errors.New("bad annotation")

// ParseAnnotations reads a tab-separated annotation file: lines starting
// with '#' and blank lines are ignored, the first other line is the header
// "clip first_frame last_frame move note", and every row after it is one
// stretch of one clip. It rejects malformed rows and, within a clip,
// overlapping stretches of contradictory moves.
func ParseAnnotations(r io.Reader) (Annotations, error) {
	sc := bufio.NewScanner(r)
	out := Annotations{}
	header := false
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, "\t")
		if !header {
			if !slices.Equal(fields, annotationHeader) {
				return nil, fmt.Errorf("line %d: %w: header is %q, want %q", line, ErrAnnotation, fields, annotationHeader)
			}
			header = true
			continue
		}
		clip, a, err := parseAnnotationRow(fields)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out[clip] = append(out[clip], a)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read annotations: %w", err)
	}
	if !header {
		return nil, fmt.Errorf("%w: no header line", ErrAnnotation)
	}
	for clip, as := range out {
		slices.SortStableFunc(as, func(a, b Annotation) int {
			if a.First != b.First {
				return a.First - b.First
			}
			return a.Last - b.Last
		})
		if err := checkContradictions(as); err != nil {
			return nil, fmt.Errorf("clip %s: %w", clip, err)
		}
	}
	return out, nil
}

func parseAnnotationRow(fields []string) (string, Annotation, error) {
	if len(fields) != len(annotationHeader) {
		return "", Annotation{}, fmt.Errorf("%w: %d columns, want %d", ErrAnnotation, len(fields), len(annotationHeader))
	}
	clip := strings.TrimSpace(fields[0])
	if clip == "" {
		return "", Annotation{}, fmt.Errorf("%w: empty clip name", ErrAnnotation)
	}
	first, err := strconv.Atoi(strings.TrimSpace(fields[1]))
	if err != nil {
		return "", Annotation{}, fmt.Errorf("%w: first_frame %q: %w", ErrAnnotation, fields[1], err)
	}
	last, err := strconv.Atoi(strings.TrimSpace(fields[2]))
	if err != nil {
		return "", Annotation{}, fmt.Errorf("%w: last_frame %q: %w", ErrAnnotation, fields[2], err)
	}
	if first < 1 || last < first {
		return "", Annotation{}, fmt.Errorf("%w: frames %d-%d: want 1 <= first <= last", ErrAnnotation, first, last)
	}
	m := Move(strings.TrimSpace(fields[3]))
	if !m.valid() {
		return "", Annotation{}, fmt.Errorf("%w: unknown move %q", ErrAnnotation, fields[3])
	}
	return clip, Annotation{First: first, Last: last, Move: m, Note: strings.TrimSpace(fields[4])}, nil
}

func (m Move) valid() bool {
	if _, ok := m.Challenge(); ok {
		return true
	}
	return m == MoveWink || m == MoveNeutral || m == MoveOther
}

// Challenge returns the API challenge action m is, if it is one.
func (m Move) Challenge() (challenge.Action, bool) {
	a, err := challenge.ParseAction(string(m))
	if err != nil || string(a) != string(m) {
		return "", false
	}
	return a, true
}

// contradicts reports whether stretches of moves m and n cannot share a
// frame: opposite turns or looks, a blink and a wink, the resting pose and
// any move, or the same move annotated twice. OTHER contradicts nothing, and
// a turn may overlap a look (a diagonal) or a blink.
func contradicts(m, n Move) bool {
	if m == MoveOther || n == MoveOther {
		return false
	}
	if m == n {
		return true
	}
	if m == MoveNeutral || n == MoveNeutral {
		return true
	}
	pair := map[Move]Move{
		Move(challenge.TurnLeft): Move(challenge.TurnRight), Move(challenge.TurnRight): Move(challenge.TurnLeft),
		Move(challenge.LookUp): Move(challenge.LookDown), Move(challenge.LookDown): Move(challenge.LookUp),
		Move(challenge.Blink): MoveWink, MoveWink: Move(challenge.Blink),
	}
	return pair[m] == n
}

// checkContradictions reports the first pair of overlapping stretches of
// contradictory moves in as (sorted by first frame).
func checkContradictions(as []Annotation) error {
	for i, a := range as {
		for _, b := range as[i+1:] {
			if b.First > a.Last {
				break
			}
			if contradicts(a.Move, b.Move) {
				return fmt.Errorf("%w: %s %d-%d overlaps %s %d-%d", ErrAnnotation, a.Move, a.First, a.Last, b.Move, b.First, b.Last)
			}
		}
	}
	return nil
}

// CheckFrames reports an annotation of clip that ends past the clip's last
// frame (frames are numbered 1 to frames).
func (an Annotations) CheckFrames(clip string, frames int) error {
	for _, a := range an[clip] {
		if a.Last > frames {
			return fmt.Errorf("clip %s: %w: %s %d-%d ends past the last frame %d", clip, ErrAnnotation, a.Move, a.First, a.Last, frames)
		}
	}
	return nil
}

// ChallengeSequence returns the challenge actions clip performs, in the
// order they start. A move annotated wholly inside another challenge move's
// stretch (a look up while holding a turn, a blink during a turn) is not a
// separate challenge and is left out (moves on identical stretches are
// all kept); WINK, NEUTRAL and OTHER are never
// challenges. A clip without annotations performs none.
func (an Annotations) ChallengeSequence(clip string) []challenge.Action {
	as := an[clip]
	var seq []challenge.Action
	for i, a := range as {
		act, ok := a.Move.Challenge()
		if !ok || nestedInChallenge(as, i) {
			continue
		}
		seq = append(seq, act)
	}
	return seq
}

// nestedInChallenge reports whether as[i] lies within a longer stretch of
// another challenge move in as.
func nestedInChallenge(as []Annotation, i int) bool {
	a := as[i]
	for j, b := range as {
		if _, ok := b.Move.Challenge(); !ok || j == i {
			continue
		}
		if b.First <= a.First && a.Last <= b.Last && b.Last-b.First > a.Last-a.First {
			return true
		}
	}
	return false
}
