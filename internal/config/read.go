package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// reader reads variables through lookup and collects what is wrong.
type reader struct {
	lookup func(string) (string, bool)
	errs   []error
}

func (r *reader) fail(name, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s %s", name, fmt.Sprintf(format, args...)))
}

// str is the trimmed value of name ("" when unset).
func (r *reader) str(name string) string {
	v, _ := r.lookup(name)
	return strings.TrimSpace(v)
}

// strOr is str with a default for an unset or empty variable.
func (r *reader) strOr(name, def string) string {
	if v := r.str(name); v != "" {
		return v
	}
	return def
}

// flag reads 1/0 (or true/false); empty means def.
func (r *reader) flag(name string, def bool) bool {
	v := r.str(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, "=%q is not 1 or 0", v)
		return def
	}
	return b
}

// count reads a whole number >= 0; empty means def.
func (r *reader) count(name string, def int) int {
	v := r.str(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		r.fail(name, "=%q is not a whole number >= 0", v)
		return def
	}
	return n
}

// seconds reads a positive number of seconds; empty or 0 means def.
func (r *reader) seconds(name string, def time.Duration) time.Duration {
	v := r.str(name)
	if v == "" || v == "0" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		r.fail(name, "=%q is not a number of seconds", v)
		return def
	}
	return time.Duration(n) * time.Second
}

// duration reads a positive Go duration (such as 12s); empty means def.
func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := r.str(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail(name, "=%q is not a positive duration (such as 12s)", v)
		return def
	}
	return d
}

// oneOf reads one of the values, case-insensitively; empty means the first.
func (r *reader) oneOf(name string, values ...string) string {
	v := strings.ToLower(r.str(name))
	if v == "" {
		return values[0]
	}
	if !slices.Contains(values, v) {
		r.fail(name, "=%q is not one of %s", v, strings.Join(values, ", "))
		return values[0]
	}
	return v
}

// prefixes reads a comma-separated list of CIDRs and addresses.
func (r *reader) prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for f := range strings.SplitSeq(r.str(name), ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			r.fail(name, "entry %q is not a CIDR or an address", f)
			continue
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out
}
