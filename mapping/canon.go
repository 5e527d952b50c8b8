package mapping

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
)

// Canon is one side's canonical projection of a record: logical key ->
// value in that side's own terms (the ServiceNow raw value, e.g. state
// "7"; the StackFlow value, e.g. "closed"), normalised so that equal
// content gives equal strings (see the package documentation). Merge and
// Converged read an absent key as ""; Equal, Diff and Hash compare the
// maps exactly.
type Canon map[string]string

// Hash returns a stable hash of c: SHA-256 (hex) over the keys in sorted
// order, each key and value length-prefixed, so equal maps give equal
// hashes and no two different maps share an encoding. A nil and an empty
// Canon hash alike.
func (c Canon) Hash() string {
	sum := sha256.Sum256(c.AppendEncoding(nil))
	return hex.EncodeToString(sum[:])
}

// AppendEncoding appends the canonical encoding Hash digests:
// "canon1;" then, per key in sorted order, "<len>:<key><len>:<value>".
func (c Canon) AppendEncoding(b []byte) []byte {
	b = append(b, "canon1;"...)
	for _, k := range c.Keys() {
		v := c[k]
		b = strconv.AppendInt(b, int64(len(k)), 10)
		b = append(b, ':')
		b = append(b, k...)
		b = strconv.AppendInt(b, int64(len(v)), 10)
		b = append(b, ':')
		b = append(b, v...)
	}
	return b
}

// Keys returns the keys of c, sorted.
func (c Canon) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Equal reports whether c and d hold the same keys with the same values
// (nil equals empty).
func (c Canon) Equal(d Canon) bool {
	if len(c) != len(d) {
		return false
	}
	for k, v := range c {
		w, ok := d[k]
		if !ok || v != w {
			return false
		}
	}
	return true
}

// Diff returns, sorted, the keys whose value in c differs from base: keys
// of either map whose values differ, a key missing on one side counting as
// different. A nil base gives every key of c.
func (c Canon) Diff(base Canon) []string {
	if base == nil {
		return c.Keys()
	}
	var out []string
	for k, v := range c {
		if w, ok := base[k]; !ok || v != w {
			out = append(out, k)
		}
	}
	for k := range base {
		if _, ok := c[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Clone returns a copy of c (nil for nil).
func (c Canon) Clone() Canon {
	if c == nil {
		return nil
	}
	out := make(Canon, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

// With returns a copy of c with the values of d laid over it: what a side
// is expected to hold after d was written to it. The syncer uses it to
// settle after a write (see the package documentation).
func (c Canon) With(d Canon) Canon {
	out := make(Canon, len(c)+len(d))
	for k, v := range c {
		out[k] = v
	}
	for k, v := range d {
		out[k] = v
	}
	return out
}
