package servicenowtest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(t *testing.T, srv *servicenowtest.Server, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL()+path, nil)
	require.NoError(t, err)
	req.SetBasicAuth(servicenowtest.AdminUser, servicenowtest.AdminPassword)
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

func TestServerBasics(t *testing.T) {
	srv := servicenowtest.NewServer(t, servicenowtest.WithTLS(), servicenowtest.WithOrdering(servicenowtest.OrderInsertion))
	require.True(t, strings.HasPrefix(srv.URL(), "https://"))

	ids, err := srv.Seed("incident", map[string]any{"short_description": "seeded"})
	require.NoError(t, err)
	rec, ok := srv.Record("incident", ids[0])
	require.True(t, ok)
	assert.Equal(t, "2026-01-01 00:00:00", rec["sys_created_on"])

	srv.Advance(time.Hour)
	upd, err := srv.Update("incident", ids[0], map[string]string{"short_description": "edited"}, servicenowtest.AsUser("admin"))
	require.NoError(t, err)
	assert.Equal(t, "2026-01-01 01:00:00", upd["sys_updated_on"])

	status, body := get(t, srv, "/api/now/table/incident?sysparm_fields=short_description")
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"result":[{"short_description":"edited"}]}`, body)
	require.Len(t, srv.Requests(), 1)
	assert.Equal(t, "/api/now/table/incident", srv.Requests()[0].Path)
	srv.ResetRequests()
	assert.Empty(t, srv.Requests())

	srv.AddFault(servicenowtest.ErrorFault(http.StatusServiceUnavailable, "down", "maintenance"))
	status, _ = get(t, srv, "/api/now/table/incident")
	assert.Equal(t, http.StatusServiceUnavailable, status)

	srv.Hibernate(true)
	_, body = get(t, srv, "/api/now/table/incident")
	assert.Contains(t, body, "Instance Hibernating page")
	srv.Hibernate(false)

	require.NoError(t, srv.Delete("incident", ids[0]))
	assert.Len(t, srv.Records("sys_audit_delete"), 1)
}

func TestServerUsersAndTables(t *testing.T) {
	srv := servicenowtest.NewServer(t, servicenowtest.WithInvalidQueryMode(servicenowtest.InvalidQueryNoRows))
	_, err := srv.AddUser(servicenowtest.User{UserName: "bob", Password: "pw"})
	require.NoError(t, err)
	require.NoError(t, srv.DefineTable(servicenowtest.Table{Name: "u_thing", Fields: []servicenowtest.Field{{Name: "u_label"}}}))
	_, err = srv.Insert("u_thing", map[string]string{"u_label": "x"})
	require.NoError(t, err)
	status, body := get(t, srv, "/api/now/table/u_thing?sysparm_query=bogus=1")
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"result":[]}`, body, "the no_rows regime")
	srv.SetInvalidQueryMode(servicenowtest.InvalidQueryIgnore)
	_, body = get(t, srv, "/api/now/table/u_thing?sysparm_query=bogus=1&sysparm_fields=u_label")
	assert.JSONEq(t, `{"result":[{"u_label":"x"}]}`, body)
}
