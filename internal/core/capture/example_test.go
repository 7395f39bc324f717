package capture_test

import (
	"fmt"
	"log"

	"github.com/facelambda/facelambda/internal/core/capture"
)

// A client seals a capture for its bio-session; the server opens and
// parses it.
func Example() {
	// Server: the session's key pair; the public key goes to the client.
	priv, err := capture.NewSessionKey()
	if err != nil {
		log.Fatal(err)
	}
	const sessionID, serverRandom = "sess-42", "b64-server-random"

	// Client: build the container and seal it.
	m := capture.Manifest{
		Version:      capture.Version,
		SessionID:    sessionID,
		ServerRandom: serverRandom,
		Frames:       []capture.FrameRef{{File: "000.jpg", T: 0}, {File: "001.jpg", T: 66}},
	}
	jpeg := []byte{0xFF, 0xD8, 0xFF, 0xD9}
	container, err := capture.Build(m, [][]byte{jpeg, jpeg})
	if err != nil {
		log.Fatal(err)
	}
	encMeta, encSecret, err := capture.Seal(&priv.PublicKey, sessionID, serverRandom, container)
	if err != nil {
		log.Fatal(err)
	}

	// Server: open with the session's values, then parse.
	plain, err := capture.Open(priv, sessionID, serverRandom, encMeta, encSecret)
	if err != nil {
		log.Fatal(err)
	}
	c, err := capture.Parse(plain, capture.DefaultLimits())
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range c.Frames {
		fmt.Println(f.Time, len(f.Data))
	}
	// Output:
	// 0s 4
	// 66ms 4
}
