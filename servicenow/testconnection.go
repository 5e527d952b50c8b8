package servicenow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/stackflow-tech/snowsync/internal/httpx"
)

// ConnectionInfo is what TestConnection found out. Missing rights are data
// here, not errors: a user who may not read sys_properties still connects.
type ConnectionInfo struct {
	InstanceURL string
	// BuildName and BuildTag are glide.buildname ("Zurich") and
	// glide.buildtag ("glide-zurich-07-01-2025__patch2"); empty when the
	// user may not read sys_properties (usually only admins can), with
	// VersionNote saying why.
	BuildName   string
	BuildTag    string
	VersionNote string
	User        UserInfo
	Tables      []TableAccess
	// Notes are human-readable findings: missing roles, unreadable tables.
	Notes []string
}

// Version returns the most precise version known: the build tag, else the
// build name, else "unknown".
func (ci *ConnectionInfo) Version() string {
	switch {
	case ci.BuildTag != "":
		return ci.BuildTag
	case ci.BuildName != "":
		return ci.BuildName
	}
	return "unknown"
}

// UserInfo identifies the user the client acts as.
type UserInfo struct {
	SysID    string
	UserName string
	Name     string
	Email    string
	// Roles are the user's role names; RolesKnown is false when the user
	// may not read its own role assignments.
	Roles      []string
	RolesKnown bool
}

// HasRole reports whether the user has the role (admin has every role).
func (u UserInfo) HasRole(role string) bool {
	return slices.Contains(u.Roles, role) || slices.Contains(u.Roles, "admin")
}

// Access is a yes, no or unknown answer.
type Access int

const (
	// AccessUnknown: it cannot be told without trying a write.
	AccessUnknown Access = iota
	// AccessYes: the user can.
	AccessYes
	// AccessNo: the user cannot.
	AccessNo
)

func (a Access) String() string {
	switch a {
	case AccessYes:
		return "yes"
	case AccessNo:
		return "no"
	}
	return "unknown"
}

// TableAccess is what the user may do with one table.
type TableAccess struct {
	Table  string
	Exists bool
	Read   Access
	// Write is told from roles (admin writes everywhere; itil writes the
	// task tables) since it cannot be checked without writing.
	Write Access
	// Count is the number of records the user can count, -1 if unknown.
	Count int
	Note  string
}

// TestConnection runs the integration guide's Test Connection: it checks
// that the instance answers and the credentials work, reads the instance
// version where the user may, identifies the user and its roles, and checks
// read access to each table (default: the six synced tables). It fails only
// when the instance cannot be reached or refuses the credentials.
func (c *Client) TestConnection(ctx context.Context, tables ...string) (*ConnectionInfo, error) {
	if len(tables) == 0 {
		tables = []string{"incident", "problem", "change_request", "sc_request", "cmdb_ci", "cmdb_rel_ci"}
	}
	for _, t := range tables {
		if err := validTableName(t); err != nil {
			return nil, err
		}
	}
	info := &ConnectionInfo{InstanceURL: c.InstanceURL()}
	user, err := c.currentUser(ctx)
	if err != nil {
		return nil, err
	}
	info.User = user
	c.readRoles(ctx, info)
	c.readVersion(ctx, info)
	for _, t := range tables {
		info.Tables = append(info.Tables, c.tableAccess(ctx, t, info.User))
	}
	for _, ta := range info.Tables {
		if ta.Note != "" {
			info.Notes = append(info.Notes, ta.Table+": "+ta.Note)
		}
	}
	if info.User.RolesKnown && !info.User.HasRole("itil") {
		info.Notes = append(info.Notes, "the user lacks the itil role the integration guide asks for")
	}
	return info, nil
}

// currentUser identifies the user: first the UI endpoint every logged-in
// user may call, then a sys_user lookup by the configured user name.
func (c *Client) currentUser(ctx context.Context) (UserInfo, error) {
	var cu struct {
		SysID    string `json:"user_sys_id"`
		UserName string `json:"user_name"`
		Name     string `json:"user_display_name"`
	}
	_, err := c.do(ctx, call{
		method: http.MethodGet, path: "api/now/ui/user/current_user", class: httpx.Idempotent,
		decode: func(r io.Reader) error {
			return decodeEnvelope(r, func(dec *json.Decoder) error { return dec.Decode(&cu) })
		},
	})
	var u UserInfo
	switch {
	case err == nil && cu.SysID != "":
		u = UserInfo{SysID: cu.SysID, UserName: cu.UserName, Name: cu.Name}
	case err != nil && fatalForTest(err):
		return UserInfo{}, err
	}
	// Fill in (or find) the user through sys_user. Ask for two rows: two
	// means the filter was dropped, and the first row is not our user.
	q := ""
	switch {
	case u.SysID != "":
		q = "sys_id=" + u.SysID
	case c.username != "" && !strings.ContainsAny(c.username, "^,\r\n"):
		q = "user_name=" + c.username
	default:
		q = "sys_id=javascript:gs.getUserID()"
	}
	rows, _, err := c.Table("sys_user").List(ctx, &ListOptions{Query: q, Fields: []string{"sys_id", "user_name", "name", "email"}, Limit: 2})
	switch {
	case err != nil && fatalForTest(err):
		return UserInfo{}, err
	case err == nil && len(rows) == 1:
		r := *rows[0]
		u.SysID, u.UserName, u.Name, u.Email = r.SysID(), r.Get("user_name"), r.Get("name"), r.Get("email")
	case err == nil && len(rows) > 1 && u.SysID == "":
		return u, errors.New("servicenow: Test Connection: the user lookup matched several users, so the instance dropped the filter (is user_name readable?); cannot tell who the integration user is")
	}
	if u.SysID == "" {
		return u, errors.New("servicenow: Test Connection: the credentials work but the integration user could not be identified (no access to /api/now/ui/user/current_user or sys_user)")
	}
	return u, nil
}

// fatalForTest reports errors that end a Test Connection: the instance is
// unreachable or refuses the credentials. Missing rights are not fatal.
func fatalForTest(err error) bool {
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrInstanceUnavailable) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (c *Client) readRoles(ctx context.Context, info *ConnectionInfo) {
	rows, _, err := c.Table("sys_user_has_role").List(ctx, &ListOptions{
		Query:  "user=" + info.User.SysID,
		Fields: []string{"role.name"},
		Limit:  500,
	})
	if err != nil {
		info.Notes = append(info.Notes, "roles unknown: "+shortErr(err))
		return
	}
	seen := map[string]bool{}
	for _, r := range rows {
		name := r.Get("role.name")
		if name != "" && !seen[name] {
			seen[name] = true
			info.User.Roles = append(info.User.Roles, name)
		}
	}
	sort.Strings(info.User.Roles)
	info.User.RolesKnown = true
}

func (c *Client) readVersion(ctx context.Context, info *ConnectionInfo) {
	rows, _, err := c.Table("sys_properties").List(ctx, &ListOptions{
		Query:  "nameINglide.buildname,glide.buildtag",
		Fields: []string{"name", "value"},
		Limit:  10,
	})
	if err != nil {
		info.VersionNote = "version unknown: " + shortErr(err)
		return
	}
	for _, r := range rows {
		switch r.Get("name") {
		case "glide.buildname":
			info.BuildName = r.Get("value")
		case "glide.buildtag":
			info.BuildTag = r.Get("value")
		}
	}
	if info.BuildName == "" && info.BuildTag == "" {
		info.VersionNote = "version unknown: sys_properties returned no build rows for this user"
	}
}

// taskTables are the tables the itil role may write.
var taskTables = []string{"incident", "problem", "change_request", "sc_request", "task"}

func (c *Client) tableAccess(ctx context.Context, table string, u UserInfo) TableAccess {
	ta := TableAccess{Table: table, Count: -1}
	_, resp, err := c.Table(table).List(ctx, &ListOptions{Fields: []string{"sys_id"}, Limit: 1})
	switch {
	case err == nil:
		ta.Exists, ta.Read = true, AccessYes
		if resp.TotalCount >= 0 {
			ta.Count = resp.TotalCount
		}
	case errors.Is(err, ErrInvalidTable):
		ta.Note = "the table does not exist on this instance"
		ta.Read, ta.Write = AccessNo, AccessNo
		return ta
	case errors.Is(err, ErrForbidden) || errors.Is(err, ErrNotFound):
		ta.Exists, ta.Read = true, AccessNo
		ta.Note = "no read access: grant the itil role or a table ACL"
	default:
		ta.Note = "read check failed: " + shortErr(err)
	}
	switch {
	case u.HasRole("admin"):
		ta.Write = AccessYes
	case ta.Read == AccessNo:
		ta.Write = AccessNo
	case u.RolesKnown && u.HasRole("itil") && slices.Contains(taskTables, table):
		ta.Write = AccessYes
	}
	return ta
}

func shortErr(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Message != "" {
			return fmt.Sprintf("%d %s", e.StatusCode, e.Message)
		}
		return fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	s := err.Error()
	return strings.TrimPrefix(s, "servicenow: ")
}
