package snow

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// User is a sys_user row with the password the fake checks for Basic auth
// and the OAuth password grant. Roles become sys_user_role and
// sys_user_has_role rows, as a real instance models them; the sys_user
// "roles" column mirrors them as a comma-separated list.
type User struct {
	UserName  string   // sys_user.user_name (required)
	Password  string   // password for Basic auth and the password grant
	SysID     string   // sys_id (random when empty; "admin" keeps the out-of-box id)
	FirstName string   // first_name
	LastName  string   // last_name
	Name      string   // name (first + last when empty)
	Email     string   // email
	Roles     []string // role names: admin, itil, rest_api_explorer, ...
	// TimeZone is an IANA zone name used for display values and for the
	// javascript:gs.* date functions (UTC when empty).
	TimeZone  string
	Inactive  bool // active=false: the user cannot log in
	LockedOut bool // locked_out=true: the user cannot log in
}

// String describes the user without the password.
func (u User) String() string {
	return "snow.User{" + u.UserName + ", roles " + strings.Join(u.Roles, ",") + "}"
}

func (u User) validate() error {
	if u.UserName == "" {
		return errors.New("snow: User.UserName is required")
	}
	if strings.ContainsAny(u.UserName, ":\r\n") {
		return fmt.Errorf("snow: User.UserName %q must not contain ':' or line breaks", u.UserName)
	}
	if u.TimeZone != "" {
		if _, err := time.LoadLocation(u.TimeZone); err != nil {
			return fmt.Errorf("snow: user %s: time zone %q: %w", u.UserName, u.TimeZone, err)
		}
	}
	return nil
}

// AddUser creates or updates a user: its sys_user row (found by user_name),
// its password and its roles (added, never removed; see RevokeRole).
func (s *Server) AddUser(u User) (Record, error) {
	if err := u.validate(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	wc := writeCtx{user: "admin", userID: AdminSysID, now: s.Now(), seed: true}
	ut := s.schema.tables["sys_user"]
	vals := map[string]string{"user_name": u.UserName}
	set := func(k, v string) {
		if v != "" {
			vals[k] = v
		}
	}
	set("first_name", u.FirstName)
	set("last_name", u.LastName)
	set("name", u.Name)
	set("email", u.Email)
	set("time_zone", u.TimeZone)
	vals["active"] = fmt.Sprint(!u.Inactive)
	vals["locked_out"] = fmt.Sprint(u.LockedOut)
	var r *record
	if old := s.userByNameLocked(u.UserName); old != nil {
		var err error
		wc.seed = false
		wc.noSysFlds = true
		if r, err = s.update(old, vals, wc); err != nil {
			return nil, err
		}
	} else {
		if u.SysID != "" {
			vals["sys_id"] = u.SysID
		}
		var err error
		if r, err = s.insert(ut, vals, wc); err != nil {
			return nil, err
		}
	}
	if u.Password != "" {
		s.passwords[u.UserName] = u.Password
	}
	for _, role := range u.Roles {
		if err := s.grantLocked(r, role); err != nil {
			return nil, err
		}
	}
	return s.lookup(ut, r.id()).toRecord(), nil
}

// GrantRole gives a user a role (creating the role when it does not exist).
func (s *Server) GrantRole(userName, role string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByNameLocked(userName)
	if u == nil {
		return fmt.Errorf("snow: GrantRole: no user %q", userName)
	}
	return s.grantLocked(u, role)
}

// RevokeRole removes a role from a user.
func (s *Server) RevokeRole(userName, role string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByNameLocked(userName)
	if u == nil {
		return fmt.Errorf("snow: RevokeRole: no user %q", userName)
	}
	roleRec := s.findBy("sys_user_role", "name", role)
	if roleRec == nil {
		return nil
	}
	wc := writeCtx{user: "admin", userID: AdminSysID, now: s.Now()}
	for _, x := range s.rowsOf(s.schema.tables["sys_user_has_role"]) {
		if x.get("user") == u.id() && x.get("role") == roleRec.id() {
			s.remove(x, wc)
		}
	}
	s.syncRolesColumn(u.get("user_name"))
	return nil
}

func (s *Server) grantLocked(u *record, role string) error {
	if role == "" {
		return nil
	}
	wc := writeCtx{user: "admin", userID: AdminSysID, now: s.Now(), seed: true}
	roleRec := s.findBy("sys_user_role", "name", role)
	if roleRec == nil {
		var err error
		roleRec, err = s.insert(s.schema.tables["sys_user_role"], map[string]string{"name": role}, wc)
		if err != nil {
			return err
		}
	}
	for _, x := range s.rowsOf(s.schema.tables["sys_user_has_role"]) {
		if x.get("user") == u.id() && x.get("role") == roleRec.id() {
			return nil
		}
	}
	if _, err := s.insert(s.schema.tables["sys_user_has_role"], map[string]string{
		"user": u.id(), "role": roleRec.id(), "state": "active", "inherited": "false"}, wc); err != nil {
		return err
	}
	s.syncRolesColumn(u.get("user_name"))
	return nil
}

// syncRolesColumn rewrites sys_user.roles from sys_user_has_role.
func (s *Server) syncRolesColumn(userName string) {
	u := s.userByNameLocked(userName)
	if u == nil {
		return
	}
	roles := s.rolesOfLocked(u.id())
	joined := strings.Join(roles, ",")
	if u.get("roles") == joined {
		return
	}
	_, _ = s.update(u, map[string]string{"roles": joined}, writeCtx{noSysFlds: true, noRules: true, now: s.Now()})
}

// findBy returns the first row of table whose column equals value.
func (s *Server) findBy(table, column, value string) *record {
	t := s.schema.tables[table]
	if t == nil {
		return nil
	}
	i := t.col(column)
	if i < 0 {
		return nil
	}
	f := s.fams[t.root]
	if f == nil {
		return nil
	}
	for _, r := range f.rows {
		if r != nil && r.class.isA(t) && r.vals[i] == value {
			return r
		}
	}
	return nil
}

func (s *Server) userByNameLocked(name string) *record {
	return s.authData().users[name]
}

func (s *Server) rolesOfLocked(userID string) []string {
	return s.authData().roles[userID]
}

// authCache indexes users and their roles; rebuilt after any write.
type authCache struct {
	version uint64
	users   map[string]*record  // user_name → sys_user row
	roles   map[string][]string // user sys_id → role names, sorted
}

// authData returns the index for the current version. Callers hold s.mu
// (for reading or writing).
func (s *Server) authData() *authCache {
	if c := s.authCache.Load(); c != nil && c.version == s.version {
		return c
	}
	c := &authCache{version: s.version, users: map[string]*record{}, roles: map[string][]string{}}
	if ut := s.schema.tables["sys_user"]; ut != nil {
		for _, r := range s.rowsOf(ut) {
			c.users[r.get("user_name")] = r
		}
	}
	roleNames := map[string]string{}
	if rt := s.schema.tables["sys_user_role"]; rt != nil {
		for _, r := range s.rowsOf(rt) {
			roleNames[r.id()] = r.get("name")
		}
	}
	if ht := s.schema.tables["sys_user_has_role"]; ht != nil {
		for _, r := range s.rowsOf(ht) {
			if n := roleNames[r.get("role")]; n != "" && r.get("state") != "requested" && r.get("state") != "pending_approval" {
				c.roles[r.get("user")] = append(c.roles[r.get("user")], n)
			}
		}
	}
	for k, v := range c.roles {
		slices.Sort(v)
		c.roles[k] = slices.Compact(v)
	}
	s.authCache.Store(c)
	return c
}

// principal is the authenticated caller of a request.
type principal struct {
	userName string
	userID   string
	name     string
	roles    []string
	loc      *time.Location
}

func (p *principal) hasRole(r string) bool { return slices.Contains(p.roles, r) }

// principalFor builds the principal of a user row. Callers hold s.mu.
func (s *Server) principalFor(u *record) *principal {
	p := &principal{userName: u.get("user_name"), userID: u.id(), name: u.get("name"), roles: s.rolesOfLocked(u.id()), loc: time.UTC}
	if tz := u.get("time_zone"); tz != "" {
		if loc, ok := s.zones.Load(tz); ok {
			p.loc = loc.(*time.Location)
		} else if loc, err := time.LoadLocation(tz); err == nil {
			s.zones.Store(tz, loc)
			p.loc = loc
		}
	}
	return p
}

// authenticate checks Basic or Bearer credentials. It returns nil when the
// request is not authenticated.
func (s *Server) authenticate(r *http.Request) *principal {
	h := r.Header.Get("Authorization")
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok {
		return nil
	}
	cred = strings.TrimSpace(cred)
	switch strings.ToLower(scheme) {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return nil
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return nil
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		want, known := s.passwords[user]
		if !known || subtle.ConstantTimeCompare([]byte(want), []byte(pass)) != 1 {
			return nil
		}
		u := s.userByNameLocked(user)
		if u == nil || u.get("active") == "false" || u.get("locked_out") == "true" {
			return nil
		}
		return s.principalFor(u)
	case "bearer":
		userName, ok := s.checkAccessToken(cred)
		if !ok {
			return nil
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		u := s.userByNameLocked(userName)
		if u == nil || u.get("active") == "false" || u.get("locked_out") == "true" {
			return nil
		}
		return s.principalFor(u)
	}
	return nil
}

// checkPassword reports whether user/pass may log in (for the password grant).
func (s *Server) checkPassword(user, pass string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	want, known := s.passwords[user]
	if !known || subtle.ConstantTimeCompare([]byte(want), []byte(pass)) != 1 {
		return false
	}
	u := s.userByNameLocked(user)
	return u != nil && u.get("active") != "false" && u.get("locked_out") != "true"
}

// userActive reports whether a user exists and may log in.
func (s *Server) userActive(user string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.userByNameLocked(user)
	return u != nil && u.get("active") != "false" && u.get("locked_out") != "true"
}
