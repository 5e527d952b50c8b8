package snow

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stackflow-tech/snowsync/internal/testserver"
)

// RateLimitRule is a sys_rate_limit_rules entry: at most Limit requests per
// Window (an hour by default; shorter windows are for tests) for the
// matching REST resource. A rule names a User, or a Role, or neither (all
// users). For a request, a matching user rule beats role rules, which beat
// all-user rules; among several role rules the lowest limit wins.
type RateLimitRule struct {
	SysID  string        // sys_id reported in X-RateLimit-Rule (derived from the rule when empty)
	API    string        // "table", "stats", "batch", "ui", or "" for every API
	Table  string        // for the Table API: only this table ("" for all)
	Method string        // only this HTTP method ("" for all)
	User   string        // user_name the rule is for
	Role   string        // role the rule is for
	Limit  int           // requests allowed per window
	Window time.Duration // default one hour
}

func (r RateLimitRule) validate() error {
	if r.Limit <= 0 {
		return errors.New("snow: RateLimitRule.Limit must be positive")
	}
	if r.User != "" && r.Role != "" {
		return errors.New("snow: RateLimitRule: set User or Role, not both")
	}
	if r.Window < 0 || (r.Window > 0 && r.Window < time.Second) {
		return errors.New("snow: RateLimitRule.Window must be at least one second")
	}
	return nil
}

type rateRule struct {
	RateLimitRule
	limiter *testserver.RateLimiter
}

func (s *Server) newRateRule(r RateLimitRule) *rateRule {
	if r.Window == 0 {
		r.Window = time.Hour
	}
	if r.SysID == "" {
		sum := md5.Sum([]byte(fmt.Sprintf("rate:%s:%s:%s:%s:%s:%d:%d", r.API, r.Table, r.Method, r.User, r.Role, r.Limit, len(s.rates))))
		r.SysID = hex.EncodeToString(sum[:])
	}
	return &rateRule{RateLimitRule: r, limiter: testserver.NewRateLimiter(s.cfg.clock, r.Limit, r.Window)}
}

// AddRateLimit adds a rate limit rule.
func (s *Server) AddRateLimit(r RateLimitRule) error {
	if err := r.validate(); err != nil {
		return err
	}
	s.rateMu.Lock()
	s.rates = append(s.rates, s.newRateRule(r))
	s.rateMu.Unlock()
	return nil
}

// ClearRateLimits removes every rate limit rule.
func (s *Server) ClearRateLimits() {
	s.rateMu.Lock()
	s.rates = nil
	s.rateMu.Unlock()
}

func apiName(api string) string {
	switch api {
	case "table":
		return "Table API"
	case "stats":
		return "Aggregate API"
	case "batch":
		return "Batch API"
	}
	return "REST API"
}

// rateLimit counts the request against the rule that applies to it and
// sets the X-RateLimit-* headers. It answers 429 and returns false when the
// rule's limit is used up.
func (s *Server) rateLimit(w http.ResponseWriter, r *http.Request, p *principal, rt route) bool {
	s.rateMu.Lock()
	var user, all *rateRule
	var roles []*rateRule
	for _, rule := range s.rates {
		if rule.API != "" && rule.API != rt.api {
			continue
		}
		if rule.Table != "" && rule.Table != rt.table {
			continue
		}
		if rule.Method != "" && !strings.EqualFold(rule.Method, r.Method) {
			continue
		}
		switch {
		case rule.User != "":
			if rule.User == p.userName && user == nil {
				user = rule
			}
		case rule.Role != "":
			if p.hasRole(rule.Role) {
				roles = append(roles, rule)
			}
		default:
			if all == nil {
				all = rule
			}
		}
	}
	rule := user
	if rule == nil {
		for _, x := range roles {
			if rule == nil || x.Limit < rule.Limit {
				rule = x
			}
		}
	}
	if rule == nil {
		rule = all
	}
	s.rateMu.Unlock()
	if rule == nil {
		return true
	}
	ok, _, reset := rule.limiter.Take(p.userName)
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(rule.Limit))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Rule", rule.SysID)
	if ok {
		return true
	}
	wait := reset.Sub(s.Now())
	secs := int64((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	h.Set("Retry-After", strconv.FormatInt(secs, 10))
	writeError(w, r, &apiError{status: http.StatusTooManyRequests, message: "Rate limit exceeded",
		detail: strp(fmt.Sprintf("Rate limit of %d requests per hour for %s exceeded", rule.Limit, apiName(rt.api)))})
	return false
}
