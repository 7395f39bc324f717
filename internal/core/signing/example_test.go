package signing_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"reflect"

	"github.com/facelambda/facelambda/internal/core/signing"
)

// An integrator verifies a signed result: it fetches the service's JWK Set,
// verifies the JWS of the result's "signature" member and checks that the
// signed payload says what the response body says.
func ExampleVerify() {
	// The service side: a signed match result and the JWKS endpoint.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	signer, err := signing.NewSigner(key)
	if err != nil {
		log.Fatal(err)
	}
	result := map[string]any{"id": "5f0c6e1a", "decision": "match", "score": 0.93}
	jws, err := signer.SignResource(result)
	if err != nil {
		log.Fatal(err)
	}
	result["signature"] = jws
	body, _ := json.Marshal(result)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(signer.JWKS())
	}))
	defer srv.Close()

	// The integrator side: fetch the keys (and cache them; fetch again
	// when a kid is unknown, after a key rotation).
	resp, err := http.Get(srv.URL + "/v2/.well-known/jwks.json")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var keys signing.JWKS
	if err := json.NewDecoder(resp.Body).Decode(&keys); err != nil {
		log.Fatal(err)
	}

	// Verify the signature of the response body.
	var got map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		log.Fatal(err)
	}
	sig, _ := got["signature"].(string)
	payload, err := signing.Verify(sig, keys)
	if err != nil {
		log.Fatal("forged or altered result: ", err)
	}
	fmt.Printf("signed payload: %s\n", payload)

	// The payload is the body minus "signature", compared as JSON values.
	var signed map[string]any
	dec = json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&signed); err != nil {
		log.Fatal(err)
	}
	delete(got, "signature")
	fmt.Println("body matches payload:", reflect.DeepEqual(got, signed))
	// Output:
	// signed payload: {"decision":"match","id":"5f0c6e1a","score":0.93}
	// body matches payload: true
}
