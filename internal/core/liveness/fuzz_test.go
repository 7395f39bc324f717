package liveness

import (
	"encoding/json"
	"testing"
)

// FuzzLivenessInputs feeds arbitrary input to the small parsers of active
// liveness: upload keys (from S3 events), security levels and parameter
// requests. None may panic; a parsed upload key rebuilds the same key;
// valid parameters draw as many challenges as asked.
func FuzzLivenessInputs(f *testing.F) {
	f.Add("liveness-uploads/t/s/r.zip", "VERY_HIGH2", []byte(`{"type":"HIGH","timeout":30000,"nbChallenge":3}`))
	f.Add("liveness-uploads//s/.zip", "highest", []byte(`[{"nbChallenge":-1}]`))
	f.Add("liveness-uploads/a/b/c/d.zip", "", []byte(`{"threshold":"HIGHEST"}`))
	s := New(Deps{Active: &Active{}})
	f.Fuzz(func(t *testing.T, key, level string, body []byte) {
		if tn, sid, sr, ok := parseUploadKey(key); ok && UploadKey(tn, sid, sr) != key {
			t.Fatalf("upload key %q parsed to %q %q %q", key, tn, sid, sr)
		}
		_, _ = ParseSecurityLevel(level)
		var req ParametersRequest
		if json.Unmarshal(body, &req) == nil {
			if p, err := s.newParameters(req); err == nil && len(p.Challenges) != p.NbChallenge {
				t.Fatalf("%d challenges for nbChallenge %d", len(p.Challenges), p.NbChallenge)
			}
		}
	})
}
