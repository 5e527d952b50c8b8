package servicenow_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
)

// These tests run every feature of the client against the fake ServiceNow
// (servicenow/servicenowtest), a second, independent reading of the API.

func fastRetry() servicenow.Option {
	return servicenow.WithRetry(servicenow.RetryPolicy{MaxRetries: 3, WaitMin: time.Millisecond, WaitMax: 20 * time.Millisecond})
}

func newFake(t *testing.T, opts ...servicenowtest.Option) (*servicenowtest.Server, *servicenow.Client) {
	t.Helper()
	srv := servicenowtest.NewServer(t, opts...)
	c, err := servicenow.NewClient(srv.URL(), servicenow.WithBasicAuth(servicenowtest.AdminUser, servicenowtest.AdminPassword),
		servicenow.WithHTTPClient(srv.Client()), fastRetry())
	require.NoError(t, err)
	return srv, c
}

func bg(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestE2ECRUDOnEveryTypedTable(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := bg(t)

	inc, resp, err := c.Incidents().Create(ctx, servicenow.Fields{"short_description": "Mail down", "impact": "1", "urgency": "2", "caller_id": "6816f79cc0a8016401c5a33be04be441"}, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Location"), "/api/now/v2/table/incident/"+inc.SysID)
	assert.True(t, strings.HasPrefix(inc.Number, "INC"), inc.Number)
	assert.Equal(t, "2", inc.Priority, "the fake computes priority from impact 1 and urgency 2")
	assert.Equal(t, servicenow.Int(0), inc.SysModCount)
	assert.Equal(t, "6816f79cc0a8016401c5a33be04be441", inc.CallerID.Value)
	assert.Contains(t, inc.CallerID.Link, "/sys_user/6816f79cc0a8016401c5a33be04be441")

	got, _, err := c.Incidents().Get(ctx, inc.SysID, nil)
	require.NoError(t, err)
	assert.Equal(t, inc.Number, got.Number)

	upd, _, err := c.Incidents().Update(ctx, inc.SysID, servicenow.Fields{"state": servicenow.IncidentStateInProgress, "urgency": "3"}, nil)
	require.NoError(t, err)
	assert.Equal(t, servicenow.Int(1), upd.SysModCount)
	assert.Equal(t, "3", upd.Priority)
	assert.Equal(t, "Mail down", upd.ShortDescription, "PATCH leaves other fields alone")

	_, _, err = c.Incidents().Update(ctx, inc.SysID, servicenow.Fields{"state": servicenow.IncidentStateResolved}, nil)
	require.ErrorIs(t, err, servicenow.ErrForbidden, "the data policy refuses resolving without close_code")
	assert.Contains(t, err.Error(), "mandatory")
	rep, _, err := c.Incidents().Replace(ctx, inc.SysID, servicenow.Fields{"state": servicenow.IncidentStateResolved, "close_code": "Solution provided", "close_notes": "Restarted"}, nil)
	require.NoError(t, err)
	assert.Equal(t, "Mail down", rep.ShortDescription, "PUT is a partial update on ServiceNow too")
	assert.Equal(t, servicenow.IncidentStateResolved, rep.State)

	_, err = c.Incidents().Delete(ctx, inc.SysID)
	require.NoError(t, err)
	_, _, err = c.Incidents().Get(ctx, inc.SysID, nil)
	require.ErrorIs(t, err, servicenow.ErrNotFound)
	audits, _, err := c.Table("sys_audit_delete").List(ctx, &servicenow.ListOptions{Query: "documentkey=" + inc.SysID})
	require.NoError(t, err)
	require.Len(t, audits, 1)
	assert.Equal(t, "incident", audits[0].Get("tablename"))

	prb, _, err := c.Problems().Create(ctx, servicenow.Fields{"short_description": "Recurring mail outages"}, nil)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(prb.Number, "PRB"))
	chg, _, err := c.ChangeRequests().Create(ctx, servicenow.Fields{"short_description": "Patch mail", "type": "normal", "risk": "3"}, nil)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(chg.Number, "CHG"))
	assert.Equal(t, "normal", chg.Type)
	req, _, err := c.ServiceRequests().Create(ctx, servicenow.Fields{"short_description": "New laptop", "requested_for": "no value"}, nil)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(req.Number, "REQ"))
	assert.Equal(t, "no value", req.RequestedFor.Value, "references are not validated")

	// CIs of several classes through cmdb_ci, and a relationship between them.
	ids, err := srv.Seed("cmdb_ci_linux_server", map[string]any{"name": "lnx-01", "ip_address": "10.0.0.1", "install_status": "1"})
	require.NoError(t, err)
	dbIDs, err := srv.Seed("cmdb_ci_db_instance", map[string]any{"name": "ora-01"})
	require.NoError(t, err)
	rel, _, err := c.CIRelationships().Create(ctx, servicenow.Fields{"parent": dbIDs[0], "child": ids[0], "type": servicenow.RelTypeRunsOn}, nil)
	require.NoError(t, err)
	assert.Equal(t, ids[0], rel.Child.Value)
	var classes []string
	for ci, err := range c.CIs().All(ctx, &servicenow.ListOptions{Query: "nameSTARTSWITHlnx-^ORnameSTARTSWITHora-"}) {
		require.NoError(t, err)
		classes = append(classes, ci.SysClassName)
	}
	assert.ElementsMatch(t, []string{"cmdb_ci_linux_server", "cmdb_ci_db_instance"}, classes, "a query on cmdb_ci returns its subclasses with their class")
	n, _, err := c.CIs().Count(ctx, "nameSTARTSWITHlnx-")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func TestE2EQueriesAndDisplayValues(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := bg(t)
	for i := range 5 {
		_, err := srv.Insert("incident", map[string]string{"short_description": fmt.Sprintf("vpn issue %d", i), "impact": "2", "urgency": "2", "category": "network"})
		require.NoError(t, err)
	}
	_, err := srv.Insert("incident", map[string]string{"short_description": "printer", "impact": "3", "urgency": "3"})
	require.NoError(t, err)

	q := servicenow.NewQuery().Like("short_description", "vpn").Equals("priority", "3").OrderByDesc("number")
	incs, resp, err := c.Incidents().List(ctx, &servicenow.ListOptions{Query: q.String(), Limit: 2})
	require.NoError(t, err)
	assert.Len(t, incs, 2)
	assert.Equal(t, 5, resp.TotalCount)
	assert.Equal(t, 2, resp.NextOffset)
	assert.True(t, incs[0].Number > incs[1].Number, "ORDERBYDESC")

	parsed, err := servicenow.ParseQuery("active=true^sys_updated_on>=javascript:gs.hoursAgoStart(1)^category=network")
	require.NoError(t, err)
	n, _, err := c.Incidents().Count(ctx, parsed.String())
	require.NoError(t, err)
	assert.Equal(t, 5, n, "javascript:gs.* evaluated on the fake's clock")

	all, _, err := c.Incidents().List(ctx, &servicenow.ListOptions{Query: "short_descriptionLIKEprinter", DisplayValue: servicenow.DisplayBoth})
	require.NoError(t, err)
	require.Len(t, all, 1)
	assert.Equal(t, "5", all[0].Priority)
	assert.Equal(t, "5 - Planning", all[0].Display("priority"))
	assert.Equal(t, "New", all[0].Display("state"))

	raw, _, err := c.Table("incident").List(ctx, &servicenow.ListOptions{Query: "short_descriptionLIKEprinter", DisplayValue: servicenow.DisplayText, Fields: []string{"state", "opened_by", "sys_id"}})
	require.NoError(t, err)
	require.Len(t, raw, 1)
	assert.Equal(t, "New", raw[0].Display("state"))
	assert.Equal(t, "", raw[0].Get("state"), "no raw value in display=true")

	bare, _, err := c.Table("incident").List(ctx, &servicenow.ListOptions{Query: "short_descriptionLIKEprinter", ExcludeReferenceLink: true, Fields: []string{"opened_by", "opened_by.user_name"}})
	require.NoError(t, err)
	require.Len(t, bare, 1)
	assert.Equal(t, "", bare[0].Ref("opened_by").Link, "no links with exclude_reference_link")
	assert.NotEmpty(t, bare[0].Get("opened_by"))
	assert.Equal(t, "admin", bare[0].Get("opened_by.user_name"), "a dot-walked field comes back as a flat key")
}

func TestE2EPagingThroughACLs(t *testing.T) {
	t.Parallel()
	hide := func(r servicenowtest.Record) bool {
		var i int
		fmt.Sscanf(r["short_description"], "row %d", &i)
		return (i >= 30 && i < 50) || i%9 == 0
	}
	srv := servicenowtest.NewServer(t,
		servicenowtest.WithUser(servicenowtest.User{UserName: "svc.sync", Password: "sync-pass-1", Roles: []string{"itil"}}),
		servicenowtest.WithACL(servicenowtest.ACL{Table: "incident", Operations: []servicenowtest.Operation{servicenowtest.OpRead}, Users: []string{"svc.sync"}, HideRow: hide}))
	for i := range 120 {
		_, err := srv.Seed("incident", map[string]any{"short_description": fmt.Sprintf("row %d", i)})
		require.NoError(t, err)
	}
	c, err := servicenow.NewClient(srv.URL(), servicenow.WithBasicAuth("svc.sync", "sync-pass-1"), servicenow.WithHTTPClient(srv.Client()), fastRetry())
	require.NoError(t, err)
	seen := map[string]int{}
	hidden := 0
	for inc, err := range c.Incidents().All(bg(t), &servicenow.ListOptions{Limit: 10, OnPage: func(r *servicenow.Response) { hidden += r.Hidden }}) {
		require.NoError(t, err)
		seen[inc.SysID]++
	}
	want := 0
	for i := range 120 {
		if !hide(servicenowtest.Record{"short_description": fmt.Sprintf("row %d", i)}) {
			want++
		}
	}
	assert.Len(t, seen, want, "every visible row, though pages came back short and empty")
	for id, n := range seen {
		assert.Equal(t, 1, n, id)
	}
	assert.Equal(t, 120-want, hidden)
}

func TestE2EKeysetSameSecond(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := bg(t)
	for i := range 1500 {
		_, err := srv.Seed("incident", map[string]any{"short_description": fmt.Sprintf("bulk %d", i), "category": "bulk"})
		require.NoError(t, err)
	}
	n, err := srv.BulkUpdate("incident", "category=bulk", map[string]string{"urgency": "1"})
	require.NoError(t, err)
	require.Equal(t, 1500, n)
	srv.Advance(time.Minute)
	until, ok := c.ServerTime()
	if !ok {
		_, _, err := c.Incidents().List(ctx, &servicenow.ListOptions{Limit: 1})
		require.NoError(t, err)
		until, _ = c.ServerTime()
	}
	seen := map[string]int{}
	pages := 0
	for inc, err := range c.Incidents().Keyset(ctx, servicenow.KeysetOptions{Query: "category=bulk", Limit: 200, Until: until, OnPage: func(*servicenow.Response) { pages++ }}) {
		require.NoError(t, err)
		seen[inc.SysID]++
	}
	assert.Len(t, seen, 1500, "every record of the same second, read once")
	assert.Equal(t, 9, pages, "8 pages of records and the empty page that ends the sweep")
}

func TestE2EOAuth(t *testing.T) {
	t.Parallel()
	srv := servicenowtest.NewServer(t,
		servicenowtest.WithUser(servicenowtest.User{UserName: "svc.oauth", Password: "oauth-user-pw", Roles: []string{"itil"}}),
		servicenowtest.WithOAuthClient(servicenowtest.OAuthClient{ClientID: "sf-client", ClientSecret: "sf-client-secret", AccessTokenLifespan: 30 * time.Minute}))
	store := servicenow.NewFileTokenStore(filepath.Join(t.TempDir(), "tok.json"))
	c, err := servicenow.NewClient(srv.URL(), servicenow.WithHTTPClient(srv.Client()), fastRetry(),
		servicenow.WithOAuth(servicenow.OAuthConfig{ClientID: "sf-client", ClientSecret: "sf-client-secret", Username: "svc.oauth", Password: "oauth-user-pw", TokenStore: store}))
	require.NoError(t, err)
	ctx := bg(t)
	_, _, err = c.Incidents().List(ctx, &servicenow.ListOptions{Limit: 1})
	require.NoError(t, err)
	first, err := store.LoadToken(ctx)
	require.NoError(t, err)
	require.NotNil(t, first)

	srv.Advance(31 * time.Minute) // the access token expired on the instance's clock
	_, _, err = c.Incidents().List(ctx, &servicenow.ListOptions{Limit: 1})
	require.NoError(t, err, "a 401 for the expired token forces a refresh and one retry")
	second, _ := store.LoadToken(ctx)
	assert.NotEqual(t, first.AccessToken, second.AccessToken)
	assert.Equal(t, first.RefreshToken, second.RefreshToken, "the refresh grant keeps the refresh token")

	require.True(t, srv.RevokeToken(second.AccessToken))
	require.True(t, srv.RevokeToken(second.RefreshToken))
	_, _, err = c.Incidents().List(ctx, &servicenow.ListOptions{Limit: 1})
	require.NoError(t, err, "revoked tokens: the refresh fails and the password grant takes over")

	var grants []string
	for _, r := range srv.Requests() {
		if r.Path == "/oauth_token.do" {
			form := string(r.Body)
			switch {
			case strings.Contains(form, "grant_type=password"):
				grants = append(grants, "password")
			case strings.Contains(form, "grant_type=refresh_token"):
				grants = append(grants, "refresh_token")
			}
		}
	}
	assert.Equal(t, []string{"password", "refresh_token", "refresh_token", "password"}, grants)

	bad, err := servicenow.NewClient(srv.URL(), servicenow.WithHTTPClient(srv.Client()), fastRetry(),
		servicenow.WithOAuth(servicenow.OAuthConfig{ClientID: "sf-client", ClientSecret: "expired-secret", Username: "svc.oauth", Password: "oauth-user-pw"}))
	require.NoError(t, err)
	_, _, err = bad.Incidents().List(ctx, nil)
	var oe *servicenow.OAuthError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "access_denied", oe.Description)
	assert.NotContains(t, err.Error(), "expired-secret")
}

func TestE2EFailures(t *testing.T) {
	t.Parallel()
	t.Run("an unknown table", func(t *testing.T) {
		_, c := newFake(t)
		_, _, err := c.Table("u_nope").List(bg(t), nil)
		require.ErrorIs(t, err, servicenow.ErrInvalidTable)
	})
	t.Run("bad credentials", func(t *testing.T) {
		srv := servicenowtest.NewServer(t)
		c, err := servicenow.NewClient(srv.URL(), servicenow.WithBasicAuth("admin", "wrong-password"), servicenow.WithHTTPClient(srv.Client()))
		require.NoError(t, err)
		_, _, err = c.Incidents().List(bg(t), nil)
		require.ErrorIs(t, err, servicenow.ErrUnauthorized)
		assert.NotContains(t, err.Error(), "wrong-password")
	})
	t.Run("a write an ACL refuses", func(t *testing.T) {
		srv := servicenowtest.NewServer(t,
			servicenowtest.WithUser(servicenowtest.User{UserName: "reader", Password: "reader-pw-1"}),
			servicenowtest.WithACL(servicenowtest.ACL{Table: "incident", Operations: []servicenowtest.Operation{servicenowtest.OpCreate}, Users: []string{"reader"}, Deny: true}))
		c, err := servicenow.NewClient(srv.URL(), servicenow.WithBasicAuth("reader", "reader-pw-1"), servicenow.WithHTTPClient(srv.Client()))
		require.NoError(t, err)
		_, _, err = c.Incidents().Create(bg(t), servicenow.Fields{"short_description": "x"}, nil)
		require.ErrorIs(t, err, servicenow.ErrForbidden)
		assert.Contains(t, err.Error(), "itil role or explicit ACLs on incident")
	})
	t.Run("hibernation", func(t *testing.T) {
		srv, c := newFake(t)
		srv.Hibernate(true)
		_, _, err := c.Incidents().List(bg(t), nil)
		require.ErrorIs(t, err, servicenow.ErrInstanceUnavailable)
		assert.Contains(t, err.Error(), "hibernating")
	})
	t.Run("a cancelled transaction is retried for reads", func(t *testing.T) {
		srv, c := newFake(t)
		_, err := srv.Seed("incident", map[string]any{"short_description": "a"}, map[string]any{"short_description": "b"})
		require.NoError(t, err)
		srv.AddFault(servicenowtest.TransactionCancelledFault(40))
		incs, _, err := c.Incidents().List(bg(t), nil)
		require.NoError(t, err)
		assert.Len(t, incs, 2)
	})
	t.Run("a rate limit with Retry-After", func(t *testing.T) {
		srv, c := newFake(t)
		srv.AddFault(servicenowtest.RateLimitedFault(time.Second, 100, srv.Now().Add(time.Hour)))
		start := time.Now()
		_, _, err := c.Incidents().List(bg(t), nil)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond, "waited (Retry-After capped by WaitMax in this test)")
	})
	t.Run("a POST whose answer is lost is not replayed", func(t *testing.T) {
		srv, c := newFake(t)
		srv.AddFault(servicenowtest.Fault{Method: "POST", Kind: servicenowtest.FaultResetAfterWrite})
		_, _, err := c.Incidents().Create(bg(t), servicenow.Fields{"short_description": "once", "correlation_id": "sf-123"}, nil)
		require.Error(t, err)
		var te *servicenow.TransportError
		require.ErrorAs(t, err, &te)
		got, _, err := c.Incidents().List(bg(t), &servicenow.ListOptions{Query: "correlation_id=sf-123", Limit: 2})
		require.NoError(t, err)
		assert.Len(t, got, 1, "the write happened once; the caller looks it up")
	})
	t.Run("a GET after a reset is retried", func(t *testing.T) {
		srv, c := newFake(t)
		srv.AddFault(servicenowtest.Fault{Method: "GET", Kind: servicenowtest.FaultReset, Times: 2})
		_, _, err := c.Incidents().List(bg(t), nil)
		require.NoError(t, err)
	})
	t.Run("invalid fields in each regime", func(t *testing.T) {
		srv, c := newFake(t)
		_, err := srv.Seed("incident", map[string]any{"short_description": "a"}, map[string]any{"short_description": "b"})
		require.NoError(t, err)
		n, _, err := c.Incidents().Count(bg(t), "u_no_such_field=1")
		require.NoError(t, err)
		assert.Equal(t, 2, n, "dropped: the query matches everything")
		srv.SetInvalidQueryMode(servicenowtest.InvalidQueryNoRows)
		n, _, err = c.Incidents().Count(bg(t), "u_no_such_field=1")
		require.NoError(t, err)
		assert.Equal(t, 0, n)
		srv.SetInvalidQueryMode(servicenowtest.InvalidQueryForbidden)
		_, _, err = c.Incidents().List(bg(t), &servicenow.ListOptions{Query: "u_no_such_field=1"})
		require.ErrorIs(t, err, servicenow.ErrForbidden)
	})
}

func TestE2ETestConnection(t *testing.T) {
	t.Parallel()
	srv := servicenowtest.NewServer(t,
		servicenowtest.WithUser(servicenowtest.User{UserName: "stackflow-integration", Password: "integration-pw", Roles: []string{"itil", "rest_api_explorer"}}),
		servicenowtest.WithACL(servicenowtest.ACL{Table: "cmdb_rel_ci", Operations: []servicenowtest.Operation{servicenowtest.OpRead}, Users: []string{"stackflow-integration"}, Deny: true}))
	admin, err := servicenow.NewClient(srv.URL(), servicenow.WithBasicAuth(servicenowtest.AdminUser, servicenowtest.AdminPassword), servicenow.WithHTTPClient(srv.Client()))
	require.NoError(t, err)
	info, err := admin.TestConnection(bg(t))
	require.NoError(t, err)
	assert.NotEqual(t, "unknown", info.Version())
	assert.Equal(t, "admin", info.User.UserName)
	assert.True(t, info.User.HasRole("admin"))
	for _, ta := range info.Tables {
		assert.Equal(t, servicenow.AccessYes, ta.Read, ta.Table)
		assert.Equal(t, servicenow.AccessYes, ta.Write, ta.Table)
	}

	itil, err := servicenow.NewClient(srv.URL(), servicenow.WithBasicAuth("stackflow-integration", "integration-pw"), servicenow.WithHTTPClient(srv.Client()))
	require.NoError(t, err)
	info, err = itil.TestConnection(bg(t), "incident", "cmdb_rel_ci", "u_missing")
	require.NoError(t, err, "missing rights are data, not a failed call")
	assert.Equal(t, "unknown", info.Version())
	assert.NotEmpty(t, info.VersionNote)
	assert.Equal(t, "stackflow-integration", info.User.UserName)
	assert.Equal(t, []string{"itil", "rest_api_explorer"}, info.User.Roles)
	byTable := map[string]servicenow.TableAccess{}
	for _, ta := range info.Tables {
		byTable[ta.Table] = ta
	}
	assert.Equal(t, servicenow.AccessYes, byTable["incident"].Read)
	assert.Equal(t, servicenow.AccessYes, byTable["incident"].Write, "itil writes task tables")
	assert.Equal(t, servicenow.AccessNo, byTable["cmdb_rel_ci"].Read)
	assert.False(t, byTable["u_missing"].Exists)

	bad, err := servicenow.NewClient(srv.URL(), servicenow.WithBasicAuth("stackflow-integration", "nope"), servicenow.WithHTTPClient(srv.Client()))
	require.NoError(t, err)
	_, err = bad.TestConnection(bg(t))
	require.True(t, errors.Is(err, servicenow.ErrUnauthorized), "bad credentials fail the test: %v", err)
}
