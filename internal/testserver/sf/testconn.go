package sf

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// testTimeout bounds a whole Test Connection.
const testTimeout = 60 * time.Second

// testResult is the body of POST /integrations/servicenow/test.
type testResult struct {
	OK      bool          `json:"ok"`
	Version *string       `json:"servicenow_version"`
	User    *testUser     `json:"user"`
	Tables  []tableAccess `json:"tables"`
	Error   *testError    `json:"error"`
}

type testUser struct {
	UserName string   `json:"user_name"`
	SysID    string   `json:"sys_id"`
	Roles    []string `json:"roles"`
}

type tableAccess struct {
	Table string `json:"table"`
	Read  bool   `json:"read"`
	Write bool   `json:"write"`
}

type testError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (s *Server) handleTest(rc *reqCtx) {
	s.mu.Lock()
	var cfg IntegrationConfig
	ok := s.snConfig != nil
	if ok {
		cfg = s.snConfig.clone()
	}
	s.mu.Unlock()
	if !ok {
		rc.fail(errNotConfigured())
		return
	}
	ctx, cancel := context.WithTimeout(rc.r.Context(), testTimeout)
	defer cancel()
	rc.sendJSON(http.StatusOK, s.testConnection(ctx, cfg))
}

// snCaller makes authenticated Table API calls to one instance.
type snCaller struct {
	client *http.Client
	base   string
	auth   func(*http.Request)
}

// snAnswer is a decoded ServiceNow answer.
type snAnswer struct {
	status int
	result any
}

// errNotJSON marks a 200 that is not JSON (a hibernating instance, an SSO page).
type errNotJSON struct{ contentType string }

func (e *errNotJSON) Error() string {
	return fmt.Sprintf("the instance answered %q instead of JSON (hibernating, or behind an SSO page?)", e.contentType)
}

// get calls GET base+path?query and decodes {"result": ...} when the
// answer is JSON.
func (c *snCaller) get(ctx context.Context, path string, q url.Values) (snAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path+"?"+q.Encode(), nil)
	if err != nil {
		return snAnswer{}, err
	}
	req.Header.Set("Accept", "application/json")
	c.auth(req)
	resp, err := c.client.Do(req)
	if err != nil {
		return snAnswer{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return snAnswer{status: resp.StatusCode}, err
	}
	ans := snAnswer{status: resp.StatusCode}
	if !isJSON(resp.Header.Get("Content-Type")) {
		if resp.StatusCode == http.StatusOK {
			return ans, &errNotJSON{contentType: resp.Header.Get("Content-Type")}
		}
		return ans, nil
	}
	var env struct {
		Result any `json:"result"`
	}
	if err := json.Unmarshal(data, &env); err == nil {
		ans.result = env.Result
	} else if resp.StatusCode == http.StatusOK {
		return ans, fmt.Errorf("malformed JSON from ServiceNow: %w", err)
	}
	return ans, nil
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// testConnection runs Test Connection against cfg's instance.
func (s *Server) testConnection(ctx context.Context, cfg IntegrationConfig) testResult {
	res := testResult{Tables: []tableAccess{}}
	fail := func(code, format string, args ...any) testResult {
		res.OK = false
		res.Error = &testError{Code: code, Message: fmt.Sprintf(format, args...)}
		return res
	}
	transportFail := func(step string, err error) testResult {
		if ne, ok := err.(*errNotJSON); ok {
			return fail("instance_unavailable", "%s: %s", step, ne.Error())
		}
		return fail("unreachable", "%s: %v", step, err)
	}
	c := &snCaller{client: s.cfg.snClient, base: cfg.InstanceURL}

	// 1. Authentication.
	switch cfg.AuthMethod {
	case AuthBasic:
		c.auth = func(r *http.Request) { r.SetBasicAuth(cfg.Username, cfg.Password) }
	case AuthOAuth:
		tok, code, err := c.passwordGrant(ctx, cfg)
		if err != nil {
			if code != "" {
				return fail(code, "%v", err)
			}
			return transportFail("OAuth token request", err)
		}
		c.auth = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	default:
		return fail("auth_failed", "unknown auth_method %q", cfg.AuthMethod)
	}

	// 2. The integration user.
	ans, err := c.get(ctx, "/api/now/table/sys_user", url.Values{
		"sysparm_query":  {"user_name=" + cfg.Username},
		"sysparm_fields": {"sys_id,user_name,roles"},
		"sysparm_limit":  {"2"},
	})
	if err != nil {
		return transportFail("reading sys_user", err)
	}
	switch {
	case ans.status == http.StatusUnauthorized:
		return fail("auth_failed", "ServiceNow rejected the credentials (HTTP 401)")
	case ans.status != http.StatusOK:
		return fail("unexpected_response", "reading sys_user: HTTP %d", ans.status)
	}
	rows, _ := ans.result.([]any)
	switch len(rows) {
	case 0:
		return fail("user_not_found", "no sys_user with user_name %q is visible to the integration user", cfg.Username)
	case 1:
	default:
		return fail("ambiguous_user", "sys_user?user_name=%s returned more than one row: the filter was ignored (is user_name readable?)", cfg.Username)
	}
	row, _ := rows[0].(map[string]any)
	user := &testUser{UserName: snString(row["user_name"]), SysID: snString(row["sys_id"]), Roles: []string{}}
	if user.UserName == "" {
		user.UserName = cfg.Username
	}
	if roles := snString(row["roles"]); roles != "" {
		for r := range strings.SplitSeq(roles, ",") {
			if r = strings.TrimSpace(r); r != "" {
				user.Roles = append(user.Roles, r)
			}
		}
	} else if user.SysID != "" {
		ans, err := c.get(ctx, "/api/now/table/sys_user_has_role", url.Values{
			"sysparm_query":  {"user=" + user.SysID},
			"sysparm_fields": {"role.name"},
			"sysparm_limit":  {"1000"},
		})
		if err == nil && ans.status == http.StatusOK {
			list, _ := ans.result.([]any)
			for _, it := range list {
				m, _ := it.(map[string]any)
				if name := snString(m["role.name"]); name != "" && !slices.Contains(user.Roles, name) {
					user.Roles = append(user.Roles, name)
				}
			}
		}
	}
	slices.Sort(user.Roles)
	res.User = user

	// 3. The version (admin only on most instances: 403 means unknown).
	ans, err = c.get(ctx, "/api/now/table/sys_properties", url.Values{
		"sysparm_query":  {"nameINglide.buildname,glide.buildtag,glide.war"},
		"sysparm_fields": {"name,value"},
	})
	if err == nil && ans.status == http.StatusOK {
		props := map[string]string{}
		list, _ := ans.result.([]any)
		for _, it := range list {
			m, _ := it.(map[string]any)
			props[snString(m["name"])] = snString(m["value"])
		}
		name, tag := props["glide.buildname"], props["glide.buildtag"]
		var v string
		switch {
		case name != "" && tag != "":
			v = name + " (" + tag + ")"
		case name != "":
			v = name
		default:
			v = tag
		}
		if v != "" {
			res.Version = &v
		}
	}

	// 4. One read per mapped table; write access is inferred from roles.
	res.OK = true
	seen := map[string]bool{}
	for _, tm := range cfg.TableMappings {
		if seen[tm.Table] {
			continue
		}
		seen[tm.Table] = true
		ans, err := c.get(ctx, "/api/now/table/"+url.PathEscape(tm.Table), url.Values{
			"sysparm_limit":  {"1"},
			"sysparm_fields": {"sys_id"},
		})
		read := err == nil && ans.status == http.StatusOK
		if !read {
			res.OK = false
		}
		res.Tables = append(res.Tables, tableAccess{Table: tm.Table, Read: read, Write: read && canWrite(user.Roles, tm.Table)})
	}
	return res
}

// passwordGrant gets an access token with the OAuth password grant. The
// code is set when ServiceNow answered and refused.
func (c *snCaller) passwordGrant(ctx context.Context, cfg IntegrationConfig) (string, string, error) {
	form := url.Values{
		"grant_type":    {"password"},
		"client_id":     {cfg.ClientID},
		"client_secret": {cfg.ClientSecret},
		"username":      {cfg.Username},
		"password":      {cfg.Password},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/oauth_token.do", strings.NewReader(form.Encode()))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return "", "", err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", "", err
	}
	if resp.StatusCode == http.StatusOK && !isJSON(resp.Header.Get("Content-Type")) {
		return "", "", &errNotJSON{contentType: resp.Header.Get("Content-Type")}
	}
	var body struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(data, &body) // a non-JSON refusal leaves the fields empty
	if resp.StatusCode != http.StatusOK || body.AccessToken == "" {
		reason := strings.TrimSpace(body.Description + " " + body.Error)
		if reason == "" {
			reason = "no access_token in the answer"
		}
		return "", "auth_failed", fmt.Errorf("the OAuth password grant was refused (HTTP %d: %s)", resp.StatusCode, reason)
	}
	return body.AccessToken, "", nil
}

// snString reads a Table API value: a string, or a {"value": ...} object.
func snString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		return snString(x["value"])
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// canWrite infers write access from roles (Test Connection never writes).
func canWrite(roles []string, table string) bool {
	has := func(names ...string) bool {
		return slices.ContainsFunc(names, func(n string) bool { return slices.Contains(roles, n) })
	}
	if has("admin") {
		return true
	}
	if isCMDBTable(table) {
		return has("itil_admin", "sn_cmdb_editor", "sn_cmdb_admin")
	}
	switch table {
	case "incident", "problem", "change_request", "sc_request":
		return has("itil")
	}
	return false
}
