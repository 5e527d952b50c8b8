package httpx

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// WaitHint says how long a failed response asks the client to wait before
// trying again: for a 429, Retry-After or else X-RateLimit-Reset; for a
// 503, Retry-After only. Other statuses carry no hint: X-RateLimit-Reset
// rides on every answer of some APIs (StackFlow's), where it only says when
// the current window ends.
func WaitHint(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		return RetryAfter(resp.Header, now)
	case http.StatusServiceUnavailable:
		return parseRetryAfter(resp.Header.Get("Retry-After"), now)
	}
	return 0, false
}

// RetryAfter reads how long a server asked the client to wait: the
// Retry-After header (delta seconds or an HTTP date), else X-RateLimit-Reset
// (a UNIX timestamp in seconds, as ServiceNow and StackFlow send it). It
// reports false when neither header gives a usable value. A wait in the past
// is returned as zero.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if d, ok := parseRetryAfter(h.Get("Retry-After"), now); ok {
		return d, true
	}
	if t, ok := ParseUnixSeconds(h.Get("X-RateLimit-Reset")); ok {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		const maxSeconds = int64(365 * 24 * 3600)
		if n > maxSeconds {
			n = maxSeconds
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}

// ParseUnixSeconds parses a decimal UNIX timestamp in seconds, as sent in
// X-RateLimit-Reset. It refuses negative, empty and absurd values.
func ParseUnixSeconds(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > 1<<40 {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}

// Links holds the targets of an RFC 8288 Link header, by relation.
type Links map[string]string

// ParseLink parses a Link header such as ServiceNow's
// `<https://x/api?sysparm_offset=0>;rel="first",<…>;rel="next"`. It accepts
// optional whitespace, unquoted rel values and several rels per link, and
// skips malformed entries instead of failing: a bad Link header must never
// lose the response it came with.
func ParseLink(header string) Links {
	links := Links{}
	for len(header) > 0 {
		header = strings.TrimLeft(header, " \t,")
		if !strings.HasPrefix(header, "<") {
			// Skip to the next entry.
			i := strings.IndexByte(header, ',')
			if i < 0 {
				break
			}
			header = header[i+1:]
			continue
		}
		end := strings.IndexByte(header, '>')
		if end < 0 {
			break
		}
		target := header[1:end]
		header = header[end+1:]
		// Parameters run to the next comma that is outside quotes.
		params, rest := splitParams(header)
		header = rest
		for _, p := range params {
			k, v, ok := strings.Cut(p, "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
				continue
			}
			v = strings.Trim(strings.TrimSpace(v), `"`)
			for _, rel := range strings.Fields(v) {
				rel = strings.ToLower(rel)
				if _, dup := links[rel]; !dup {
					links[rel] = target
				}
			}
		}
	}
	return links
}

// splitParams reads `;a=b;rel="x y"` up to the next unquoted comma.
func splitParams(s string) (params []string, rest string) {
	inQuote := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case ';':
			if !inQuote {
				if p := strings.TrimSpace(s[start:i]); p != "" {
					params = append(params, p)
				}
				start = i + 1
			}
		case ',':
			if !inQuote {
				if p := strings.TrimSpace(s[start:i]); p != "" {
					params = append(params, p)
				}
				return params, s[i+1:]
			}
		}
	}
	if p := strings.TrimSpace(s[start:]); p != "" {
		params = append(params, p)
	}
	return params, ""
}

// QueryInt returns the integer value of query parameter key in the URL
// target (absolute or relative), and whether it was present and numeric.
func QueryInt(target, key string) (int, bool) {
	u, err := url.Parse(target)
	if err != nil {
		return 0, false
	}
	v := u.Query().Get(key)
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false
	}
	return n, true
}
