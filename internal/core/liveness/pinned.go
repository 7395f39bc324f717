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
func Pin(req ParametersRequest) (json.RawMessage, error) {
	if _, err := settings(req); err != nil {
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
// them: a field it sets to another effective value (defaults resolved, a
// security level by the passive level it names) is TOKEN_SCOPE, so a page
// cannot lower the security level, the number of challenges or the timeout
// its backend chose.
func PinnedRequest(pin json.RawMessage, req ParametersRequest) (ParametersRequest, error) {
	var p pinned
	if len(pin) > 0 {
		dec := json.NewDecoder(bytes.NewReader(pin))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return ParametersRequest{}, fault.New(fault.CodeTokenInvalid, "the client token's liveness parameters are malformed")
		}
	}
	fixed := ParametersRequest{Type: p.Type, Timeout: p.Timeout, SecurityLevel: p.SecurityLevel, NbChallenge: p.NbChallenge}
	want, err := settings(fixed)
	if err != nil {
		return ParametersRequest{}, fault.New(fault.CodeTokenInvalid, "the client token's liveness parameters are invalid")
	}
	for _, f := range []struct {
		field string
		set   bool
		one   ParametersRequest
		same  func(a, b Parameters) bool
	}{
		{"type", req.Type != "", ParametersRequest{Type: req.Type},
			func(a, b Parameters) bool { return a.Type == b.Type }},
		{"timeout", req.Timeout != nil, ParametersRequest{Timeout: req.Timeout},
			func(a, b Parameters) bool { return a.Timeout == b.Timeout }},
		{"securityLevel", req.SecurityLevel != "", ParametersRequest{SecurityLevel: req.SecurityLevel},
			func(a, b Parameters) bool { return a.PassiveLevel == b.PassiveLevel }},
		{"nbChallenge", req.NbChallenge != nil, ParametersRequest{NbChallenge: req.NbChallenge},
			func(a, b Parameters) bool { return a.NbChallenge == b.NbChallenge }},
	} {
		if !f.set {
			continue
		}
		if got, err := settings(f.one); err != nil || !f.same(got, want) {
			return ParametersRequest{}, fault.OnField(fault.CodeTokenScope, f.field,
				"%s is set by the backend that issued the client token; leave it out", f.field)
		}
	}
	return fixed, nil
}
