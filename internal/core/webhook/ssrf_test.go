package webhook_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/webhook"
)

func TestCheckURL(t *testing.T) {
	strict := webhook.Policy{}
	ok := []string{
		"https://example.com/hooks",
		"https://example.com:8443/a?b=c",
		"https://hooks.example.com./x",
		"https://8.8.8.8/x",
		"https://[2606:4700:4700::1111]/x",
		"https://xn--bcher-kva.example/x",
	}
	for _, u := range ok {
		_, err := strict.CheckURL(u)
		assert.NoError(t, err, u)
	}
	bad := []string{
		"",
		"http://example.com/x",            // https only
		"ftp://example.com/x",             // scheme
		"gopher://example.com/x",          // scheme
		"file:///etc/passwd",              // scheme
		"javascript:alert(1)",             // opaque
		"https:example.com",               // opaque
		"//example.com/x",                 // no scheme
		"/relative",                       // relative
		"https://user:pass@example.com/x", // user info
		"https://user@example.com/x",      // user info
		"https://example.com/x#frag",      // fragment
		"https://example.com/x#",          // empty fragment
		"https://exa mple.com/x",          // whitespace
		"https://example.com/\x00",        // control
		"https://example.com\\@evil.com/", // backslash
		"https://example.com:0/x",         // port
		"https://example.com:99999/x",     // port
		"https://example.com:/x",          // empty port
		"https://127.0.0.1/x",             // loopback literal
		"https://[::1]/x",                 // loopback literal
		"https://169.254.169.254/latest/meta-data/",
		"https://10.0.0.1/x",
		"https://[::ffff:10.0.0.1]/x", // mapped
		"https://[fe80::1%25eth0]/x",  // zone
		"https://localhost/x",
		"https://foo.localhost/x",
		"https://2130706433/x", // 127.0.0.1 as a number
		"https://0x7f.1/x",
		"https://127.1/x",
		"https://bücher.example/x",
		"https://-bad.example.com/x",
		"https://example.com/" + strings.Repeat("a", webhook.MaxURLLen),
	}
	for _, u := range bad {
		_, err := strict.CheckURL(u)
		assert.ErrorIs(t, err, webhook.ErrInvalid, "%q", u)
	}
	local := webhook.Policy{AllowHTTP: true, Allow: loopback}
	for _, u := range []string{"http://127.0.0.1:3000/x", "http://localhost:8080/x", "https://127.0.0.1/x"} {
		_, err := local.CheckURL(u)
		assert.NoError(t, err, u)
	}
	for _, u := range []string{"http://10.0.0.1/x", "ws://127.0.0.1/x"} {
		_, err := local.CheckURL(u)
		assert.ErrorIs(t, err, webhook.ErrInvalid, u)
	}
}

func TestCheckAddr(t *testing.T) {
	var p webhook.Policy
	blocked := []string{
		"0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.254",
		"127.0.0.1", "127.255.0.1", "169.254.169.254", "169.254.0.1", "172.16.0.1", "172.31.255.1",
		"192.0.0.192", "192.168.1.1", "198.18.0.1", "224.0.0.1", "239.255.255.250", "240.0.0.1",
		"255.255.255.255", "192.0.2.1",
		"::", "::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1", "64:ff9b::a00:1",
		"fc00::1", "fd00:ec2::254", "fe80::1", "ff02::1", "2001:db8::1", "2002:a00:1::1", "2001::1",
	}
	for _, s := range blocked {
		assert.ErrorIs(t, p.CheckAddr(netip.MustParseAddr(s)), webhook.ErrBlockedAddress, s)
	}
	public := []string{"8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.1", "172.32.0.1", "93.184.216.34",
		"2606:4700:4700::1111", "64:ff9b::808:808", "::ffff:8.8.8.8"}
	for _, s := range public {
		assert.NoError(t, p.CheckAddr(netip.MustParseAddr(s)), s)
	}
	allow := webhook.Policy{Allow: loopback}
	assert.NoError(t, allow.CheckAddr(netip.MustParseAddr("127.0.0.1")))
	assert.NoError(t, allow.CheckAddr(netip.MustParseAddr("::ffff:127.0.0.1")))
	assert.Error(t, allow.CheckAddr(netip.MustParseAddr("10.0.0.1")))

	got, err := webhook.ParsePrefixes(" 127.0.0.0/8, ::1 ,10.1.2.3/16")
	require.NoError(t, err)
	assert.Equal(t, []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("10.1.0.0/16"),
	}, got)
	_, err = webhook.ParsePrefixes("nope")
	assert.Error(t, err)
}

// TestClientRefusesPrivateAddresses connects, with an empty allow-list,
// to addresses and names resolving to forbidden addresses: every
// connection is refused by the dialer, and the local receiver (on
// 127.0.0.1) never sees a request.
func TestClientRefusesPrivateAddresses(t *testing.T) {
	rc := newReceiver(t, nil)
	port := must(url.Parse(rc.URL)).Port()
	resolver := fakeResolver(map[string][]netip.Addr{
		"loop.test":     {netip.MustParseAddr("127.0.0.1")},
		"metadata.test": {netip.MustParseAddr("169.254.169.254")},
		"internal.test": {netip.MustParseAddr("10.0.0.1")},
		"v6loop.test":   {netip.MustParseAddr("::1")},
		"mixed.test":    {netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1")},
	})
	client := webhook.NewClient(webhook.Policy{}, webhook.ClientOptions{Timeout: 2 * time.Second, Resolver: resolver})
	targets := []string{
		rc.URL,
		"http://127.0.0.1:" + port,
		"http://localhost:" + port,
		"http://[::1]:" + port,
		"http://169.254.169.254/latest/meta-data/",
		"http://10.0.0.1/",
		"http://0.0.0.0:" + port,
		"http://[::ffff:127.0.0.1]:" + port,
		"http://loop.test:" + port,
		"http://metadata.test/latest/meta-data/",
		"http://internal.test/",
		"http://v6loop.test:" + port,
		"http://mixed.test/",
	}
	for _, u := range targets {
		resp, err := client.Get(u)
		if resp != nil {
			resp.Body.Close()
		}
		require.Error(t, err, u)
		assert.ErrorIs(t, err, webhook.ErrBlockedAddress, "%s: %v", u, err)
	}
	assert.Empty(t, rc.requests(), "no request reached the receiver")

	// The same names are reachable once allowed.
	allowed := webhook.NewClient(webhook.Policy{Allow: loopback}, webhook.ClientOptions{Timeout: 2 * time.Second, Resolver: resolver})
	resp, err := allowed.Get("http://loop.test:" + port)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Len(t, rc.requests(), 1)
}

// TestClientDoesNotFollowRedirects: a 3xx is the response.
func TestClientDoesNotFollowRedirects(t *testing.T) {
	final := newReceiver(t, nil)
	redirect := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.Redirect(w, r, final.URL, http.StatusTemporaryRedirect)
	})
	client := webhook.NewClient(webhook.Policy{Allow: loopback}, webhook.ClientOptions{})
	req := must(http.NewRequest(http.MethodPost, redirect.URL, strings.NewReader("{}")))
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	assert.Empty(t, final.requests())
}

// TestClientIgnoresProxyEnvironment: a proxy would connect on the
// delivery's behalf, out of reach of the address check.
func TestClientIgnoresProxyEnvironment(t *testing.T) {
	proxy := newReceiver(t, nil)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("HTTPS_PROXY", proxy.URL)
	client := webhook.NewClient(webhook.Policy{}, webhook.ClientOptions{Timeout: time.Second})
	_, err := client.Get("http://10.0.0.1/")
	assert.ErrorIs(t, err, webhook.ErrBlockedAddress)
	assert.Empty(t, proxy.requests())
}

// TestClientTimeout: an endpoint slower than the timeout fails the
// attempt.
func TestClientTimeout(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	client := webhook.NewClient(webhook.Policy{Allow: loopback}, webhook.ClientOptions{Timeout: 150 * time.Millisecond})
	start := time.Now()
	_, err := client.Get(rc.URL)
	require.Error(t, err)
	var ne net.Error
	assert.True(t, errors.As(err, &ne) && ne.Timeout(), "%v", err)
	assert.Less(t, time.Since(start), 3*time.Second)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return v
}
