package liveness

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/facelambda/facelambda/internal/core/fault"
)

// pinned is the part of a ParametersRequest a backend fixes for a client
// token's attempt: what decides how hard the attempt is.
type pinned struct {
	Type          string `json:"type,omitempty"`
	Timeout       *int64 `json:"timeout,omitempty"`
	SecurityLevel string `json:"securityLevel,omitempty"`
	NbChallenge   *int   `json:"nbChallenge,omitempty"`
}

func pinOf(r ParametersRequest) pinned {
	return pinned{Type: strings.ToUpper(strings.TrimSpace(r.Type)), Timeout: r.Timeout,
		SecurityLevel: strings.ToUpper(strings.TrimSpace(r.SecurityLevel)), NbChallenge: r.NbChallenge}
}

// Pin checks the parameters a backend asks to fix for a client token's
// attempt (400 on values init-liveness-parameters would refuse) and returns
// them as the token carries them: a JSON object of the fields set, nil for
// the defaults.
func (s *Service) Pin(req ParametersRequest) (json.RawMessage, error) {
	if _, err := s.newParameters(req); err != nil {
		return nil, err
	}
	p := pinOf(req)
	if p == (pinned{}) {
		return nil, nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fault.Internal("encode pinned parameters", err)
	}
	return b, nil
}

// PinnedRequest is the request of an init-liveness-parameters made with a
// client token carrying the pinned parameters pin (Pin's output): those
// parameters. req, the page's own body, may repeat them but not change
// them: a field it sets to another value is TOKEN_SCOPE, so a page cannot
// lower the security level, the number of challenges or the timeout its
// backend chose.
func PinnedRequest(pin json.RawMessage, req ParametersRequest) (ParametersRequest, error) {
	var p pinned
	if len(pin) > 0 {
		dec := json.NewDecoder(bytes.NewReader(pin))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return ParametersRequest{}, fault.New(fault.CodeTokenInvalid, "the client token's liveness parameters are malformed")
		}
	}
	asked := pinOf(req)
	refuse := func(field string) (ParametersRequest, error) {
		return ParametersRequest{}, fault.OnField(fault.CodeTokenScope, field,
			"%s is set by the backend that issued the client token; leave it out", field)
	}
	switch {
	case asked.Type != "" && asked.Type != orDefault(p.Type, "HIGH"):
		return refuse("type")
	case asked.SecurityLevel != "" && asked.SecurityLevel != orDefault(p.SecurityLevel, securityLevels[5]):
		return refuse("securityLevel")
	case asked.Timeout != nil && *asked.Timeout != valueOr(p.Timeout, defaultTimeout.Milliseconds()):
		return refuse("timeout")
	case asked.NbChallenge != nil && *asked.NbChallenge != valueOr(p.NbChallenge, defaultNbChallenge):
		return refuse("nbChallenge")
	}
	return ParametersRequest{Type: p.Type, Timeout: p.Timeout, SecurityLevel: p.SecurityLevel, NbChallenge: p.NbChallenge}, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func valueOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
