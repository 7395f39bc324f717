package webhook

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Policy says which URLs webhooks and callbacks may have and which
// addresses deliveries may connect to.
type Policy struct {
	// AllowHTTP allows http:// URLs (the local server's setting); https
	// only otherwise.
	AllowHTTP bool
	// Allow lists addresses deliveries may reach although they are
	// private, loopback, link-local, ... (tests, the local server). Empty
	// in production.
	Allow []netip.Prefix
}

// ParsePrefixes parses a comma-separated list of CIDRs or addresses (such
// as "127.0.0.0/8,::1") for Policy.Allow.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("allow-list entry %q: not a CIDR or an address", f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// ErrInvalid reports a registration (or URL) that is refused; its message
// is meant for the API caller.
var ErrInvalid = errors.New("invalid webhook")

// ErrBlockedAddress reports a delivery refused because the address it
// would connect to is not a public one.
var ErrBlockedAddress = errors.New("address not allowed")

// MaxURLLen is the longest webhook or callback URL.
const MaxURLLen = 2048

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// CheckURL validates a webhook or callback URL: absolute, https (or http
// when AllowHTTP), at most MaxURLLen bytes, a host name or address and an
// optional port, no user info, no fragment, no whitespace or control
// characters. A literal address must be a public one (or allowed); names
// are checked when a delivery connects, since what they resolve to can
// change.
func (p Policy) CheckURL(raw string) (*url.URL, error) {
	switch {
	case raw == "":
		return nil, invalid("url is required")
	case len(raw) > MaxURLLen:
		return nil, invalid("url longer than %d bytes", MaxURLLen)
	case !utf8.ValidString(raw):
		return nil, invalid("url is not UTF-8")
	}
	for _, r := range raw {
		if r <= ' ' || r == 0x7f || r == '\\' {
			return nil, invalid("url contains whitespace, a control character or a backslash")
		}
	}
	if strings.Contains(raw, "#") {
		return nil, invalid("url must not have a fragment")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, invalid("url does not parse")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !p.AllowHTTP {
			return nil, invalid("url must use https")
		}
	default:
		return nil, invalid("url must use https")
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, invalid("url must be absolute (scheme://host/path)")
	}
	if u.User != nil {
		return nil, invalid("url must not contain user info (use authHeaderKey and authHeaderValue)")
	}
	if port := u.Port(); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, invalid("url has a bad port")
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, invalid("url has an empty port")
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return nil, invalid("url must not have an address zone")
		}
		if err := p.CheckAddr(a); err != nil {
			return nil, invalid("url: %v", err)
		}
		return u, nil
	}
	if strings.HasPrefix(u.Host, "[") {
		return nil, invalid("url has a bad address")
	}
	if err := checkHostname(host); err != nil {
		return nil, err
	}
	if h := strings.ToLower(strings.TrimSuffix(host, ".")); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		if !p.allowed(netip.MustParseAddr("127.0.0.1")) {
			return nil, invalid("url must not point to localhost")
		}
	}
	return u, nil
}

// checkHostname accepts DNS names of letters, digits, '-', '_' and '.'
// (labels of 1 to 63 bytes, 253 bytes in all): no IDN in Unicode form
// (use its xn-- form), no numeric forms an address parser might read
// differently ("0x7f.1", "2130706433").
func checkHostname(h string) error {
	name := strings.TrimSuffix(h, ".")
	if name == "" || len(name) > 253 {
		return invalid("url has a bad host name")
	}
	labels := strings.Split(name, ".")
	for _, label := range labels {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return invalid("url has a bad host name")
		}
		for i := range len(label) {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return invalid("url has a bad host name (use the xn-- form of international names)")
			}
		}
	}
	// A numeric last label is an address in disguise ("2130706433",
	// "127.1", "0x7f.0x1"): no top-level domain is numeric.
	last := strings.ToLower(labels[len(labels)-1])
	if strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x") {
		return invalid("url has a bad host name")
	}
	return nil
}

// blocked lists the ranges deliveries never connect to (unless allowed).
var blocked = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		// IPv4
		"0.0.0.0/8",       // "this network"
		"10.0.0.0/8",      // private (RFC 1918)
		"100.64.0.0/10",   // carrier-grade NAT (RFC 6598)
		"127.0.0.0/8",     // loopback
		"169.254.0.0/16",  // link-local, including 169.254.169.254 (cloud metadata)
		"172.16.0.0/12",   // private (RFC 1918)
		"192.0.0.0/24",    // IETF protocol assignments (incl. 192.0.0.192 metadata of some clouds)
		"192.0.2.0/24",    // TEST-NET-1
		"192.88.99.0/24",  // 6to4 relay anycast
		"192.168.0.0/16",  // private (RFC 1918)
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // TEST-NET-2
		"203.0.113.0/24",  // TEST-NET-3
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved, and 255.255.255.255 broadcast
		// IPv6 (IPv4-mapped addresses are checked as IPv4)
		"::/128",         // unspecified
		"::1/128",        // loopback
		"::/96",          // IPv4-compatible (deprecated)
		"64:ff9b:1::/48", // local-use NAT64
		"100::/64",       // discard
		"2001::/23",      // IETF protocol assignments (incl. Teredo 2001::/32)
		"2001:db8::/32",  // documentation
		"2002::/16",      // 6to4 (embeds any IPv4 address)
		"fc00::/7",       // unique local (incl. fd00:ec2::254, EC2 metadata over IPv6)
		"fe80::/10",      // link-local
		"fec0::/10",      // site-local (deprecated)
		"ff00::/8",       // multicast
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// nat64 is the well-known NAT64 prefix: its addresses embed an IPv4
// address, checked as such.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

func (p Policy) allowed(a netip.Addr) bool {
	for _, pre := range p.Allow {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// CheckAddr returns nil when deliveries may connect to a: a public
// address, or one of the allow-list.
func (p Policy) CheckAddr(a netip.Addr) error {
	a = a.WithZone("")
	if p.allowed(a) || p.allowed(a.Unmap()) {
		return nil
	}
	a = a.Unmap()
	if a.Is6() && nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	}
	if !a.IsValid() {
		return fmt.Errorf("%w: invalid address", ErrBlockedAddress)
	}
	for _, pre := range blocked {
		if pre.Contains(a) {
			return fmt.Errorf("%w: %s is in %s", ErrBlockedAddress, a, pre)
		}
	}
	return nil
}

// control is the net.Dialer Control function: it runs after DNS, on the
// address the socket is about to connect to.
func (p Policy) control(network, address string, _ syscall.RawConn) error {
	switch network {
	case "tcp4", "tcp6":
	default:
		return fmt.Errorf("%w: network %s", ErrBlockedAddress, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrBlockedAddress, address)
	}
	return p.CheckAddr(ap.Addr())
}

// ClientOptions configures NewClient.
type ClientOptions struct {
	// Timeout bounds one attempt (connection, TLS, request and response
	// body): 10 s by default.
	Timeout time.Duration
	// Resolver resolves host names (net.DefaultResolver by default;
	// tests resolve names to forbidden addresses with their own).
	Resolver *net.Resolver
	// TLSConfig overrides the TLS configuration (tests with httptest TLS
	// servers trust their certificate with it).
	TLSConfig *tls.Config
}

// DefaultTimeout is the timeout of one delivery attempt.
const DefaultTimeout = 10 * time.Second

// NewClient returns the HTTP client of deliveries: every connection is
// checked by the policy at connect time, after DNS resolution (so a name
// that resolves, or rebinds, to a private address is refused too); no
// proxy from the environment is used (it would hide the destination);
// redirects are not followed (the 3xx is the response); each request is
// bounded by the timeout.
func NewClient(p Policy, o ClientOptions) *http.Client {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	dialer := &net.Dialer{
		Timeout:   o.Timeout,
		KeepAlive: 30 * time.Second,
		Resolver:  o.Resolver,
		Control:   p.control,
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.TLSConfig != nil {
		tlsConf = o.TLSConfig.Clone()
		if tlsConf.MinVersion < tls.VersionTLS12 {
			tlsConf.MinVersion = tls.VersionTLS12
		}
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        tlsConf,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    o.Timeout,
		ResponseHeaderTimeout:  o.Timeout,
		MaxIdleConns:           32,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        60 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
