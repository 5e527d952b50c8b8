package demo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
)

// Size says how much demo data to seed.
type Size struct {
	// CIs is about how many configuration items to create, spread over
	// eight CMDB classes (servers, databases, application servers, network
	// gear, business services), each linked to others by relationships.
	CIs       int
	Incidents int
	Problems  int
	Changes   int
	Requests  int
	// StackFlowIncidents, StackFlowProblems and StackFlowChanges are
	// tickets opened in StackFlow (at most 6, 2 and 2).
	StackFlowIncidents int
	StackFlowProblems  int
	StackFlowChanges   int
}

// DefaultSize is the quickstart's data: a few hundred CIs and their
// relationships, and a couple of hundred tickets.
func DefaultSize() Size {
	return Size{CIs: 300, Incidents: 120, Problems: 30, Changes: 30, Requests: 30,
		StackFlowIncidents: 6, StackFlowProblems: 2, StackFlowChanges: 2}
}

// SmallSize is enough of everything to show each table syncing.
func SmallSize() Size {
	return Size{CIs: 40, Incidents: 12, Problems: 4, Changes: 4, Requests: 4,
		StackFlowIncidents: 2, StackFlowProblems: 1, StackFlowChanges: 1}
}

// Seeded counts what was seeded.
type Seeded struct {
	CIsByClass    map[string]int
	Relationships int
	Incidents     int
	Problems      int
	Changes       int
	Requests      int
	People        int
	Groups        int
	// StackFlow's own tickets.
	StackFlowIncidents int
	StackFlowProblems  int
	StackFlowChanges   int
}

// CIs returns the number of CIs of every class.
func (s *Seeded) CIs() int {
	n := 0
	for _, c := range s.CIsByClass {
		n += c
	}
	return n
}

// String summarises the data on two lines.
func (s *Seeded) String() string {
	return fmt.Sprintf("ServiceNow: %d CIs of %d classes, %d relationships, %d incidents, %d problems, %d changes, %d requests, %d people, %d groups\n"+
		"StackFlow:  %d incidents, %d problems, %d changes opened there",
		s.CIs(), len(s.CIsByClass), s.Relationships, s.Incidents, s.Problems, s.Changes, s.Requests, s.People, s.Groups,
		s.StackFlowIncidents, s.StackFlowProblems, s.StackFlowChanges)
}

// gen makes the demo data: deterministic for a given start time.
type gen struct {
	rng     *rand.Rand
	now     time.Time
	users   []string          // sys_ids, in the order of people
	emails  []string          // by user
	groups  map[string]string // name → sys_id
	sites   []string          // cmn_location sys_ids, in the order of sites
	vendors map[string]string // company name → sys_id
	models  map[string]string // model name → sys_id
	cis     map[string][]ci   // kind → CIs
}

type ci struct{ id, name, site string }

// SeedServiceNow loads the demo's people, groups, locations, vendors, CMDB
// and tickets into a fake instance, dated over the month before the
// instance's clock (as an import would: no business rules beyond the
// derived priority).
func SeedServiceNow(srv *servicenowtest.Server, size Size) (*Seeded, error) {
	g := &gen{rng: rand.New(rand.NewPCG(7, 11)), now: srv.Now().UTC(), groups: map[string]string{},
		vendors: map[string]string{}, models: map[string]string{}, cis: map[string][]ci{}}
	out := &Seeded{CIsByClass: map[string]int{}}
	steps := []func(*servicenowtest.Server, Size, *Seeded) error{
		g.seedPeople, g.seedOrg, g.seedCIs, g.seedRelationships, g.seedIncidents, g.seedProblems, g.seedChanges, g.seedRequests,
	}
	for _, step := range steps {
		if err := step(srv, size, out); err != nil {
			return nil, fmt.Errorf("demo: seeding ServiceNow: %w", err)
		}
	}
	return out, nil
}

func (g *gen) pick(n int) int { return g.rng.IntN(n) }

// ago returns a ServiceNow date-time between minDays and maxDays before now.
func (g *gen) ago(minDays, maxDays int) time.Time {
	span := time.Duration(maxDays-minDays) * 24 * time.Hour
	return g.now.Add(-time.Duration(minDays)*24*time.Hour - time.Duration(g.rng.Int64N(int64(span)+1))).Truncate(time.Second)
}

func snTime(t time.Time) string { return t.UTC().Format(servicenow.TimeLayout) }

// dates returns created and updated stamps: created within the last 30
// days, updated between then and an hour ago.
func (g *gen) dates() (created, updated time.Time) {
	created = g.ago(1, 30)
	last := g.now.Add(-time.Hour)
	updated = created.Add(time.Duration(g.rng.Int64N(int64(last.Sub(created)) + 1))).Truncate(time.Second)
	return created, updated
}

func (g *gen) stamp(row map[string]any) map[string]any {
	created, updated := g.dates()
	u := people[g.pick(len(people))].user
	row["sys_created_on"], row["sys_updated_on"] = snTime(created), snTime(updated)
	row["sys_created_by"], row["sys_updated_by"] = u, u
	if _, ok := row["sys_mod_count"]; !ok {
		row["sys_mod_count"] = g.pick(12)
	}
	return row
}

func (g *gen) seedPeople(srv *servicenowtest.Server, _ Size, out *Seeded) error {
	for _, p := range people {
		email := p.user + "@example.com"
		rec, err := srv.AddUser(servicenowtest.User{UserName: p.user, FirstName: p.first, LastName: p.last, Email: email, Roles: []string{"itil"}})
		if err != nil {
			return err
		}
		g.users = append(g.users, rec["sys_id"])
		g.emails = append(g.emails, email)
	}
	out.People = len(people)
	rows := make([]map[string]any, len(groupNames))
	for i, name := range groupNames {
		rows[i] = map[string]any{"name": name, "email": strings.ToLower(strings.ReplaceAll(name, " ", "-")) + "@example.com"}
	}
	ids, err := srv.Seed("sys_user_group", rows...)
	if err != nil {
		return err
	}
	for i, name := range groupNames {
		g.groups[name] = ids[i]
	}
	out.Groups = len(groupNames)
	return nil
}

func (g *gen) seedOrg(srv *servicenowtest.Server, _ Size, _ *Seeded) error {
	var locs []map[string]any
	for _, s := range sites {
		locs = append(locs, map[string]any{"name": s.name, "city": s.city, "country": s.country, "full_name": s.country + "/" + s.name})
	}
	ids, err := srv.Seed("cmn_location", locs...)
	if err != nil {
		return err
	}
	g.sites = ids
	for _, c := range ciClasses {
		for _, v := range c.vendors {
			if _, ok := g.vendors[v.name]; !ok {
				ids, err := srv.Seed("core_company", map[string]any{"name": v.name, "manufacturer": true, "vendor": true})
				if err != nil {
					return err
				}
				g.vendors[v.name] = ids[0]
			}
			if _, ok := g.models[v.model]; !ok {
				ids, err := srv.Seed("cmdb_model", map[string]any{"name": v.model, "display_name": v.name + " " + v.model, "manufacturer": g.vendors[v.name]})
				if err != nil {
					return err
				}
				g.models[v.model] = ids[0]
			}
		}
	}
	return nil
}

// weighted picks an index by weights.
func (g *gen) weighted(weights ...int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := g.pick(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

func (g *gen) seedCIs(srv *servicenowtest.Server, size Size, out *Seeded) error {
	envs := []string{"Production", "Production", "Production", "Test", "Development"}
	for _, c := range ciClasses {
		n := max(1, int(float64(size.CIs)*c.share+0.5))
		if c.kind == "service" {
			n = min(n, len(businessServices))
		}
		rows := make([]map[string]any, 0, n)
		var made []ci
		for i := range n {
			s := i % len(sites)
			var name string
			if c.kind == "service" {
				name = businessServices[i]
			} else {
				name = fmt.Sprintf("%s-%s-%s-%02d", c.prefix, sites[s].code, c.roles[i%len(c.roles)], i/len(sites)+1)
			}
			row := map[string]any{
				"name":               name,
				"install_status":     []string{"1", "1", "1", "1", "1", "1", "3", "6"}[g.pick(8)],
				"operational_status": []string{"1", "1", "1", "1", "1", "1", "2", "5"}[g.pick(8)],
				"environment":        envs[g.pick(len(envs))],
				"location":           g.sites[s],
				"owned_by":           g.users[g.pick(len(g.users))],
				"short_description":  fmt.Sprintf("%s in %s", strings.TrimPrefix(c.class, "cmdb_ci_"), sites[s].name),
			}
			switch c.kind {
			case "service":
				row["environment"] = "Production"
				row["short_description"] = name + " business service"
			case "mysql", "oracle", "app":
				row["fqdn"] = name + "." + sites[s].code + ".acme.internal"
			default:
				row["ip_address"] = fmt.Sprintf("10.%d.%d.%d", 10+s, 1+i/250, 1+i%250)
				row["fqdn"] = name + "." + sites[s].code + ".acme.internal"
				row["serial_number"] = fmt.Sprintf("%s%07d", strings.ToUpper(c.prefix[:2]), 1000+i*37)
				row["host_name"] = name
			}
			if len(c.vendors) > 0 {
				v := c.vendors[g.pick(len(c.vendors))]
				row["manufacturer"], row["model_id"] = g.vendors[v.name], g.models[v.model]
			}
			rows = append(rows, g.stamp(row))
			made = append(made, ci{name: name, site: sites[s].name})
		}
		ids, err := srv.Seed(c.class, rows...)
		if err != nil {
			return fmt.Errorf("%s: %w", c.class, err)
		}
		for i := range made {
			made[i].id = ids[i]
		}
		g.cis[c.kind] = made
		out.CIsByClass[c.class] = n
	}
	return nil
}

func (g *gen) seedRelationships(srv *servicenowtest.Server, _ Size, out *Seeded) error {
	var rows []map[string]any
	rel := func(parent, child ci, typ string) {
		rows = append(rows, g.stamp(map[string]any{"parent": parent.id, "child": child.id, "type": typ}))
	}
	servers := slices.Concat(g.cis["linux"], g.cis["windows"])
	nets := slices.Concat(g.cis["switch"], g.cis["router"])
	// Application servers and databases run on servers.
	for i, a := range slices.Concat(g.cis["app"], g.cis["mysql"]) {
		rel(a, g.cis["linux"][i%len(g.cis["linux"])], servicenow.RelTypeRunsOn)
	}
	for i, o := range g.cis["oracle"] {
		rel(o, servers[(i*7)%len(servers)], servicenow.RelTypeRunsOn)
	}
	// Applications depend on databases.
	dbs := slices.Concat(g.cis["mysql"], g.cis["oracle"])
	for i, a := range g.cis["app"] {
		rel(a, dbs[i%len(dbs)], servicenow.RelTypeDependsOn)
	}
	// Business services depend on applications and databases.
	for i, s := range g.cis["service"] {
		for j := range 3 {
			rel(s, g.cis["app"][(i*3+j)%len(g.cis["app"])], servicenow.RelTypeDependsOn)
		}
		rel(s, dbs[i%len(dbs)], servicenow.RelTypeDependsOn)
	}
	// Servers hang off the network of their site; switches contain nothing
	// but are used by servers.
	for i, s := range servers {
		rel(s, nets[i%len(nets)], servicenow.RelTypeDependsOn)
	}
	ids, err := srv.Seed("cmdb_rel_ci", rows...)
	out.Relationships = len(ids)
	return err
}

// ciOf returns a CI of kind ("" or unknown: none).
func (g *gen) ciOf(kind string) ci {
	list := g.cis[kind]
	if len(list) == 0 {
		return ci{site: sites[g.pick(len(sites))].name}
	}
	return list[g.pick(len(list))]
}

func fill(s string, c ci, personName string) string {
	site := c.site
	if site == "" {
		site = sites[0].name
	}
	return strings.NewReplacer("{ci}", c.name, "{Site}", site, "{site}", strings.ToLower(site), "{person}", personName).Replace(s)
}

func (g *gen) user() (string, string) {
	i := g.pick(len(g.users))
	return g.users[i], people[i].first + " " + people[i].last
}

func (g *gen) seedIncidents(srv *servicenowtest.Server, size Size, out *Seeded) error {
	rows := make([]map[string]any, size.Incidents)
	for i := range rows {
		t := incidentTemplates[i%len(incidentTemplates)]
		c := g.ciOf(t.ciKind)
		assignee, _ := g.user()
		caller, _ := g.user()
		row := map[string]any{
			"short_description": fill(t.short, c, ""),
			"description":       fill(t.desc, c, ""),
			"category":          t.category, "subcategory": t.subcategory,
			"impact": 1 + g.weighted(1, 3, 4), "urgency": 1 + g.weighted(1, 3, 4),
			"assignment_group": g.groups[t.group], "caller_id": caller,
			"contact_type": []string{"phone", "email", "self-service", "monitoring"}[g.pick(4)],
		}
		if c.id != "" {
			row["cmdb_ci"] = c.id
		}
		state := []string{"1", "2", "3", "6", "7"}[g.weighted(35, 30, 10, 15, 10)]
		row["state"] = state
		if state != "1" {
			row["assigned_to"] = assignee
		}
		g.stamp(row)
		switch state {
		case "3":
			row["hold_reason"] = "1"
		case "6", "7":
			row["close_code"] = closeCodes[g.pick(len(closeCodes))]
			row["close_notes"] = "Fixed and confirmed with the caller."
			row["resolved_at"] = row["sys_updated_on"]
			row["resolved_by"] = assignee
			row["active"] = state == "6"
			if state == "7" {
				row["closed_at"] = row["sys_updated_on"]
			}
		}
		rows[i] = row
	}
	ids, err := srv.Seed("incident", rows...)
	out.Incidents = len(ids)
	return err
}

func (g *gen) seedProblems(srv *servicenowtest.Server, size Size, out *Seeded) error {
	rows := make([]map[string]any, size.Problems)
	for i := range rows {
		t := problemTemplates[i%len(problemTemplates)]
		c := g.ciOf(t.ciKind)
		assignee, _ := g.user()
		state := []string{"101", "102", "103", "104", "106", "107"}[g.weighted(20, 20, 25, 15, 10, 10)]
		row := g.stamp(map[string]any{
			"short_description": fill(t.short, c, ""), "description": fill(t.desc, c, ""),
			"cause_notes": t.cause, "workaround": t.workaround, "known_error": t.knownError,
			"impact": 1 + g.weighted(2, 3, 2), "urgency": 1 + g.weighted(2, 3, 2),
			"assignment_group": g.groups[t.group], "assigned_to": assignee, "state": state,
		})
		if c.id != "" {
			row["cmdb_ci"] = c.id
		}
		if state == "106" || state == "107" {
			row["resolved_at"] = row["sys_updated_on"]
			row["active"] = false
		}
		rows[i] = row
	}
	ids, err := srv.Seed("problem", rows...)
	out.Problems = len(ids)
	return err
}

func (g *gen) seedChanges(srv *servicenowtest.Server, size Size, out *Seeded) error {
	rows := make([]map[string]any, size.Changes)
	for i := range rows {
		t := changeTemplates[i%len(changeTemplates)]
		c := g.ciOf(t.ciKind)
		assignee, _ := g.user()
		// state: -5 new, -4 assess, -3 authorize, -2 scheduled, -1 implement, 0 review, 3 closed, 4 canceled
		state := []string{"-5", "-4", "-3", "-2", "-1", "0", "3", "4"}[g.weighted(10, 10, 10, 25, 10, 10, 20, 5)]
		start := g.now.Add(time.Duration(g.pick(14*24)-7*24) * time.Hour).Truncate(time.Hour)
		if state == "3" || state == "0" || state == "4" {
			start = g.now.Add(-time.Duration(24+g.pick(20*24)) * time.Hour).Truncate(time.Hour)
		}
		row := g.stamp(map[string]any{
			"short_description": fill(t.short, c, ""), "description": fill(t.desc, c, ""),
			"implementation_plan": fill(t.plan, c, ""), "backout_plan": t.backout,
			"type": t.typ, "state": state, "risk": []string{"2", "3", "4", "4"}[g.pick(4)],
			"impact": 1 + g.weighted(1, 3, 4), "priority": 2 + g.weighted(1, 4, 4),
			"assignment_group": g.groups[t.group], "assigned_to": assignee,
			"start_date": snTime(start), "end_date": snTime(start.Add(time.Duration(1+g.pick(4)) * time.Hour)),
		})
		if c.id != "" {
			row["cmdb_ci"] = c.id
		}
		if state == "3" {
			row["close_code"] = "successful"
			row["active"] = false
		}
		if state == "4" {
			row["active"] = false
		}
		rows[i] = row
	}
	ids, err := srv.Seed("change_request", rows...)
	out.Changes = len(ids)
	return err
}

func (g *gen) seedRequests(srv *servicenowtest.Server, size Size, out *Seeded) error {
	rows := make([]map[string]any, size.Requests)
	for i := range rows {
		t := requestTemplates[i%len(requestTemplates)]
		who, name := g.user()
		state := []string{"requested", "in_process", "closed_complete", "closed_rejected"}[g.weighted(25, 40, 30, 5)]
		approval := map[string]string{"requested": "requested", "closed_rejected": "rejected"}[state]
		if approval == "" {
			approval = "approved"
		}
		row := g.stamp(map[string]any{
			"short_description": fill(t.short, ci{site: sites[g.pick(len(sites))].name}, name),
			"description":       fill(t.desc, ci{site: sites[g.pick(len(sites))].name}, name),
			"requested_for":     who, "request_state": state, "approval": approval,
			"priority": []string{"3", "4", "4"}[g.pick(3)],
			"due_date": snTime(g.now.Add(time.Duration(24*(3+g.pick(20))) * time.Hour).Truncate(time.Hour)),
		})
		if strings.HasPrefix(state, "closed") {
			row["active"] = false
		}
		rows[i] = row
	}
	ids, err := srv.Seed("sc_request", rows...)
	out.Requests = len(ids)
	return err
}

// SeedStackFlow opens the demo's StackFlow tickets in a fake StackFlow, as
// agents would in its UI. People and groups are the ServiceNow ones, by
// e-mail and name, so the sync can match them.
func SeedStackFlow(srv *stackflowtest.Server, size Size, out *Seeded) error {
	for i := range min(size.StackFlowIncidents, len(stackFlowIncidents)) {
		t := stackFlowIncidents[i]
		p, r := people[(i*5+1)%len(people)], people[(i*3+2)%len(people)]
		_, err := srv.Create(stackflowtest.Incidents, map[string]any{
			"title": t.title, "description": t.desc, "state": []string{"new", "in_progress"}[i%2],
			"impact": t.impact, "urgency": t.urgency, "priority": snPriority(t.impact, t.urgency),
			"category": t.category, "subcategory": t.subcategory, "assignment_group": t.group,
			"assignee": p.user + "@example.com", "reporter": r.user + "@example.com",
		}, p.user)
		if err != nil {
			return fmt.Errorf("demo: seeding StackFlow incidents: %w", err)
		}
		out.StackFlowIncidents++
	}
	for i := range min(size.StackFlowProblems, len(stackFlowProblems)) {
		t := stackFlowProblems[i]
		p := people[(i*7+3)%len(people)]
		_, err := srv.Create(stackflowtest.Problems, map[string]any{
			"title": t.title, "description": t.desc, "state": "new", "impact": 2, "urgency": 2, "priority": 3,
			"assignment_group": t.group, "assignee": p.user + "@example.com", "known_error": false,
		}, p.user)
		if err != nil {
			return fmt.Errorf("demo: seeding StackFlow problems: %w", err)
		}
		out.StackFlowProblems++
	}
	now := srv.Clock().Now()
	for i := range min(size.StackFlowChanges, len(stackFlowChanges)) {
		t := stackFlowChanges[i]
		p := people[(i*3+4)%len(people)]
		start := now.Add(time.Duration(48+24*i) * time.Hour).Truncate(time.Hour)
		_, err := srv.Create(stackflowtest.Changes, map[string]any{
			"title": t.title, "description": t.desc, "type": "normal", "state": "new", "risk": "low", "impact": 3,
			"assignment_group": t.group, "assignee": p.user + "@example.com",
			"planned_start": start.Format(time.RFC3339), "planned_end": start.Add(2 * time.Hour).Format(time.RFC3339),
			"implementation_plan": t.plan, "backout_plan": t.backout,
		}, p.user)
		if err != nil {
			return fmt.Errorf("demo: seeding StackFlow changes: %w", err)
		}
		out.StackFlowChanges++
	}
	return nil
}

// snPriority is ServiceNow's priority from impact and urgency (1..3 each).
func snPriority(impact, urgency int) int {
	return [4][4]int{{}, {0, 1, 2, 3}, {0, 2, 3, 4}, {0, 3, 4, 5}}[impact][urgency]
}
