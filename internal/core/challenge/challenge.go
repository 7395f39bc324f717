// Package challenge is the domain logic of active liveness: the server draws
// a random sequence of actions for a bio-session (Draw), the client films the
// user performing it, and the per-frame measurements made elsewhere (face
// count, head pose, eye openness, 68 landmarks, embedding, passive liveness)
// are judged here (Analyze).
//
// # Verdict
//
// Analyze returns one Status. The first rule that applies wins:
//
//  1. ERROR: no frames, no actions or an unknown action ("no frames",
//     "no challenge", "unknown action X"), or no frame has a face ("no face").
//  2. TIMEOUT: Config.Timeout > 0 and the capture (last frame's time minus
//     the first's) lasted longer ("timeout").
//  3. SPOOF: the landmarks moved like a plane ("planar motion", see below),
//     or at least one frame was scored by the passive model and the median
//     of the scores is below Config.LiveThreshold ("passive liveness").
//  4. FAILED, in this order: timestamps not strictly increasing ("timestamps
//     not increasing"); fewer than Config.MinFrames frames ("too few
//     frames"); two consecutive frames further apart than Config.MaxGap
//     ("frames too far apart"); a frame with more than one face ("multiple
//     faces"); more than the fraction Config.MaxMissing of the frames without
//     a face ("face not visible"); two consecutive face frames (near-profile
//     frames left out), or more than one in ten of them, whose embeddings
//     have a cosine below Config.SameCosine to the best frame's ("face
//     changed"); a pose
//     action performed out of turn while Config.StrictOrder is set ("wrong
//     challenge order"); a challenge not met ("challenge X not performed",
//     the first one missing).
//  5. SUCCESS.
//
// # Challenges
//
// Every angle and landmark cue below is measured from the subject's resting
// pose (Rest: the median of the first RestFrames steady face frames,
// clamped to RestMaxYaw and RestMaxPitch), not from frontal. Eyes are read
// from the landmarks' eye aspect ratio against the subject's own open eye
// (EyeBaseline), the eye model counting only where it agrees (see
// judgeEyes); without landmarks the eye model decides alone.
//
// The frames with a face are read in order. Nothing is recognised before a
// neutral frame: the subject faces the camera (|yaw| and |pitch| below
// Config.Neutral) with the eyes open when their state is known. Then:
//
//   - A pose action (TurnLeft, TurnRight, LookUp, LookDown) is met on a frame
//     where the pose model and the landmark geometry agree: TurnLeft needs
//     Yaw >= Turn and GeometryYaw >= GeomTurn, TurnRight Yaw <= -Turn and
//     GeometryYaw <= -GeomTurn, LookUp Pitch >= Tilt and GeometryPitch -
//     GeomPitchZero >= GeomTilt, LookDown the opposite. Without a pose
//     (PoseAvailable false) the geometry decides alone, and so it does for
//     a turn beyond Config.GeomProfile (near profile, where the pose model
//     reads yaw at random); without landmarks a pose action cannot be met.
//   - Blink is met by a sequence of frames where both eyes are open, then
//     both closed, then both open again, all
//     while the subject roughly faces the camera (|yaw| and |pitch| below
//     Turn). A frame with an unknown eye or turned away restarts the sequence.
//   - After an action is met, the subject must come back to a neutral frame
//     before the next one can be recognised, so one turn cannot satisfy two
//     steps; before another pose action, coming back within Neutral on the
//     met action's own axis is enough (a look down straight into a turn).
//   - While waiting for an action, a different pose action clearly performed
//     (the same agreement test, and the frame's main movement: its
//     landmark cue, in units of its threshold, at least the other axis') on
//     Config.OutOfTurnFrames consecutive face frames is a wrong order when
//     StrictOrder is set;
//     the subject must then come back to neutral. Blinks are never out of
//     turn.
//
// When only geometry is available, an angle threshold of d degrees becomes
// GeomTurn*d/Turn for the yaw cue and GeomTilt*d/Tilt for the pitch cue.
//
// # Best frame, identity, passive liveness
//
// The best frame is, among the frames with exactly one face, a neutral one
// first, then the one of highest Quality, then the one closest to frontal
// (smallest |yaw|+|pitch|), then the earliest. Every face frame's embedding
// but those near profile is compared with the best frame's; MinCosine is
// the lowest cosine held by two consecutive such frames, so an odd frame
// (a hand crossing the face, motion blur) does not fail the capture, unless
// more than one in ten are odd. The
// passive score is the median of the frames' Live log-odds, NaN excluded.
//
// # Planar motion
//
// A photograph or a screen moved in front of the camera is a plane: its
// landmarks in two frames are related by a homography, whereas a real head
// turning shows parallax (the nose moves across the cheeks). The best
// frame's landmarks are the reference; they are compared with the frame of
// largest deviation of each pose step met, or, when no pose step was met,
// with the (up to 3) frames furthest from a similarity of the reference. A
// pair counts only when its similarity residual is at least PlanarMinMotion
// (the head really moved out of the image plane), or PlanarStillMotion when
// no head move was asked (blinks only: the small motion of a still head is
// expression and landmark noise, which a homography fits on a real face
// too; a blink is itself the proof against a photograph). The motion is planar when
// at least one pair counts and every counted pair's homography residual is
// at most PlanarMaxResidual. See PlanarResiduals.
package challenge

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Action is one thing the subject is asked to do.
type Action string

// The actions. Turns and looks are from the subject's point of view.
const (
	TurnLeft  Action = "TURN_LEFT"
	TurnRight Action = "TURN_RIGHT"
	LookUp    Action = "LOOK_UP"
	LookDown  Action = "LOOK_DOWN"
	Blink     Action = "BLINK"
)

// Actions lists every action, in a fixed order.
var Actions = []Action{TurnLeft, TurnRight, LookUp, LookDown, Blink}

// MaxChallenges is the longest sequence Draw returns.
const MaxChallenges = 8

// ErrUnknownAction is returned (wrapped) by ParseAction for a name that is
// not an action.
var ErrUnknownAction = errors.New("unknown action")

// ErrCount is returned (wrapped) by Draw for a length out of range.
var ErrCount = errors.New("challenge count out of range")

// ParseAction reads an action's name, ignoring case and surrounding space.
func ParseAction(s string) (Action, error) {
	a := Action(strings.ToUpper(strings.TrimSpace(s)))
	if a.valid() {
		return a, nil
	}
	return "", fmt.Errorf("challenge: %w %q", ErrUnknownAction, s)
}

func (a Action) valid() bool {
	for _, b := range Actions {
		if a == b {
			return true
		}
	}
	return false
}

// pose reports whether a is a head movement (every action but Blink).
func (a Action) pose() bool { return a != Blink && a.valid() }

// Draw returns n actions drawn deterministically from seed: the same seed
// and n always give the same list. No action follows itself, and when n <=
// len(Actions) no action appears twice. n must be in 1..MaxChallenges.
func Draw(seed uint64, n int) ([]Action, error) {
	if n < 1 || n > MaxChallenges {
		return nil, fmt.Errorf("challenge: draw %d actions: %w (1..%d)", n, ErrCount, MaxChallenges)
	}
	r := rand.New(rand.NewPCG(seed, 0x6a09e667f3bcc909))
	pool := append([]Action(nil), Actions...)
	out := make([]Action, n)
	for i := range out {
		if i < len(pool) {
			// Partial Fisher-Yates: the first len(pool) draws are a
			// uniformly random arrangement, so nothing repeats.
			j := i + r.IntN(len(pool)-i)
			pool[i], pool[j] = pool[j], pool[i]
			out[i] = pool[i]
			continue
		}
		// Past the pool: any action but the previous one.
		k := r.IntN(len(Actions) - 1)
		for _, a := range Actions {
			if a == out[i-1] {
				continue
			}
			if k == 0 {
				out[i] = a
				break
			}
			k--
		}
	}
	return out, nil
}
