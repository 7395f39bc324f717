package liveness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/store"
)

// Statuses of an active liveness attempt: seed 000's livenessStatus values
// and, before a result exists, INITIALIZED and IN_PROGRESS.
const (
	StatusInitialized = "INITIALIZED"
	StatusInProgress  = "IN_PROGRESS"
)

// state is the active liveness state kept in the session's Data.
type state struct {
	Params    Parameters       `json:"params"`
	Mode      string           `json:"mode"`
	SealedKey []byte           `json:"sealedKey"`
	Status    string           `json:"status"`
	Result    *ChallengeResult `json:"result,omitempty"`
	// Used lists every serverRandom a capture was submitted for: none can
	// be submitted twice.
	Used      []string `json:"used,omitempty"`
	Attempts  int      `json:"attempts"`
	Recording string   `json:"recording,omitempty"`
	// Started is when the current capture's analysis began (IN_PROGRESS);
	// an analysis older than analysisDeadline was interrupted (the function
	// timed out or died) and no longer holds the session.
	Started time.Time `json:"started,omitzero"`
	// BestImage is the best frame (JPEG as sent), kept for the replay status.
	BestImageKey string `json:"bestImageKey,omitempty"`
}

// sessionData is the JSON of a session's Data.
type sessionData struct {
	Liveness *state `json:"liveness,omitempty"`
}

func parseSessionData(b []byte) (sessionData, error) {
	var sd sessionData
	if len(b) == 0 {
		return sd, nil
	}
	if err := json.Unmarshal(b, &sd); err != nil {
		return sd, fmt.Errorf("session data: %w", err)
	}
	return sd, nil
}

var errSessionNotFound = fault.New(fault.CodeNotFound, "bio-session not found")

const noParameters = "the bio-session has no liveness parameters: POST init-liveness-parameters first"

var errNoParameters = fault.New(fault.CodeNotFound, noParameters)

func getSession(ctx context.Context, rs store.Records, tenant, id string) (store.Session, error) {
	sess, err := rs.GetSession(ctx, tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		return sess, errSessionNotFound
	}
	return sess, err
}

// update applies fn to the session's liveness state and stores it with
// compare-and-swap, retrying when another request changed it first. fn
// returns an error to abandon the update (returned as is).
func (s *Service) update(ctx context.Context, tenant, id string, fn func(sess *store.Session, st *state) (*state, error)) (*state, error) {
	for range 20 {
		sess, err := getSession(ctx, s.records, tenant, id)
		if err != nil {
			return nil, err
		}
		sd, err := parseSessionData(sess.Data)
		if err != nil {
			return nil, err
		}
		next, err := fn(&sess, sd.Liveness)
		if err != nil {
			return nil, err
		}
		sd.Liveness = next
		b, err := json.Marshal(sd)
		if err != nil {
			return nil, err
		}
		err = s.records.UpdateSessionData(ctx, tenant, id, sess.Data, b)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil, errSessionNotFound
		}
		if err != nil {
			return nil, err
		}
		return next, nil
	}
	return nil, fault.New(fault.CodeConflict, "the bio-session is being changed by other requests; try again")
}

// load returns the session and its liveness state (NotFound when the
// session has none).
func (s *Service) load(ctx context.Context, tenant, id string) (store.Session, *state, error) {
	sess, err := getSession(ctx, s.records, tenant, id)
	if err != nil {
		return sess, nil, err
	}
	sd, err := parseSessionData(sess.Data)
	if err != nil {
		return sess, nil, err
	}
	if sd.Liveness == nil {
		return sess, nil, errNoParameters
	}
	return sess, sd.Liveness, nil
}

// analysisDeadline is how long an analysis may hold a session IN_PROGRESS:
// more than any function's timeout.
const analysisDeadline = 5 * time.Minute

// interrupted reports whether st's analysis was abandoned.
func (s *Service) interrupted(st *state) bool {
	return st.Status == StatusInProgress && s.now().Sub(st.Started) > analysisDeadline
}

var errNothingToDo = errors.New("nothing to do")

// settle returns the current result; a TIMEOUT or an interrupted analysis
// seen for the first time is stored as the attempt's result and published
// (liveness.completed), since no process is left to do it.
func (s *Service) settle(ctx context.Context, t, sid string, st *state) ChallengeResult {
	res := s.currentResult(sid, st)
	if st.Result != nil || res.LivenessStatus == st.Status {
		return res
	}
	now := s.now()
	res.Completed = &now
	stored := res
	_, err := s.update(ctx, t, sid, func(_ *store.Session, cur *state) (*state, error) {
		if cur == nil || cur.Result != nil || cur.Params.ServerRandom != st.Params.ServerRandom || cur.Status != st.Status {
			return nil, errNothingToDo
		}
		next := *cur
		next.Status, next.Result = stored.LivenessStatus, &stored
		return &next, nil
	})
	if err == nil {
		s.emitCompleted(ctx, t, &stored)
	} else if !errors.Is(err, errNothingToDo) {
		slog.WarnContext(ctx, "liveness: settling the attempt", "session", sid, "err", err)
	}
	return res
}

// currentResult is the stored result, or the pending state (TIMEOUT once
// the parameters expired without a capture).
func (s *Service) currentResult(sid string, st *state) ChallengeResult {
	if st.Result != nil {
		return *st.Result
	}
	res := ChallengeResult{LivenessStatus: st.Status, LivenessMode: st.Mode, NumberOfChallenge: len(st.Params.Challenges),
		BioSessionID: sid, ServerRandom: st.Params.ServerRandom}
	if s.interrupted(st) {
		res.LivenessStatus = string(challenge.StatusError)
		diag := "the analysis was interrupted: init-liveness-parameters again"
		res.Diagnostic = &diag
	}
	if st.Status == StatusInitialized && s.now().After(st.Params.Expires) {
		res.LivenessStatus = string(challenge.StatusTimeout)
		diag := "no capture arrived before the liveness parameters expired"
		res.Diagnostic = &diag
	}
	return res
}

var errSessionGone = errors.New("session deleted during the analysis")

// finish stores the result of the attempt for serverRandom, unless another
// attempt has replaced it meanwhile.
func (s *Service) finish(ctx context.Context, t, sid, serverRandom string, res *ChallengeResult, recording, bestKey string) (*state, error) {
	st, err := s.update(ctx, t, sid, func(_ *store.Session, st *state) (*state, error) {
		if st == nil || st.Params.ServerRandom != serverRandom {
			return nil, fault.New(fault.CodeConflict, "the liveness parameters changed during the analysis")
		}
		next := *st
		next.Status, next.Result = res.LivenessStatus, res
		if recording != "" {
			next.Recording, next.BestImageKey = recording, bestKey
		}
		return &next, nil
	})
	if isNotFound(err) {
		return nil, fmt.Errorf("%w: %w", errSessionGone, err)
	}
	return st, err
}
