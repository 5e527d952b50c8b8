package readme

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"golang.org/x/time/rate"

	"github.com/stackflow-tech/snowsync/mapping"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/stackflow"
	"github.com/stackflow-tech/snowsync/syncer"
	"github.com/stackflow-tech/snowsync/syncer/boltstore"
)

func tourServiceNow(ctx context.Context) error {
	c, err := servicenow.NewClient("https://acme.service-now.com",
		servicenow.WithBasicAuth(os.Getenv("SERVICENOW_USER"), os.Getenv("SERVICENOW_PASSWORD")),
		servicenow.WithRateLimiter(rate.NewLimiter(20, 5))) // one limiter per instance
	if err != nil {
		return err
	}
	// Encoded queries: built (values checked, times in UTC) or parsed from configuration.
	q := servicenow.NewQuery().Equals("active", "true").In("priority", "1", "2").OrderBy("number")
	for inc, err := range c.Incidents().All(ctx, &servicenow.ListOptions{Query: q.String()}) {
		if err != nil {
			return err // a *servicenow.Error: errors.Is(err, servicenow.ErrForbidden), ...
		}
		fmt.Println(inc.Number, inc.Priority, inc.ShortDescription)
	}
	inc, _, err := c.Incidents().Create(ctx, servicenow.Fields{
		"short_description": "Disk full on web01", "impact": "2", "urgency": "1", // priority is derived
	}, nil)
	if err != nil {
		return err
	}
	_, _, err = c.Incidents().Update(ctx, inc.SysID, servicenow.Fields{"state": servicenow.IncidentStateInProgress}, nil)
	if errors.Is(err, servicenow.ErrNotFound) {
		return fmt.Errorf("%s was deleted meanwhile: %w", inc.Number, err)
	}
	// Any table as raw records, with display values and dot-walks.
	rows, _, err := c.Table("cmdb_ci").List(ctx, &servicenow.ListOptions{
		Query:        "sys_class_name=cmdb_ci_linux_server",
		Fields:       []string{"name", "install_status", "location.name"},
		DisplayValue: servicenow.DisplayBoth, Limit: 10,
	})
	for _, r := range rows {
		fmt.Println(r.Get("name"), r.Display("install_status"), r.Get("location.name"))
	}
	return err
}

func tourOAuth() (*servicenow.Client, error) {
	c, err := servicenow.NewClient("https://acme.service-now.com", servicenow.WithOAuth(servicenow.OAuthConfig{
		ClientID:     os.Getenv("SERVICENOW_CLIENT_ID"),
		ClientSecret: os.Getenv("SERVICENOW_CLIENT_SECRET"),
		Username:     os.Getenv("SERVICENOW_USER"),
		Password:     os.Getenv("SERVICENOW_PASSWORD"),
		// Rotated tokens survive restarts (a 0600 file, replaced atomically).
		TokenStore: servicenow.NewFileTokenStore("/var/lib/snowsync/servicenow-token.json"),
	}))
	return c, err
}

func tourStackFlow(ctx context.Context, sysID string, secret []byte) error {
	sf, err := stackflow.NewClient("https://acme.stackflow-tech.com/prod/api",
		stackflow.WithToken(os.Getenv("STACKFLOW_TOKEN")))
	if err != nil {
		return err
	}
	// The guide's lookup: GET /incidents?source=servicenow&external_id=SN_SYS_ID
	incs, _, err := sf.Incidents.List(ctx, &stackflow.ListOptions{Source: "servicenow", ExternalIDs: []string{sysID}})
	if err != nil {
		return err
	}
	fmt.Println(len(incs), "incidents for", sysID)
	// Creates carry an Idempotency-Key: a retried create never duplicates.
	created, _, err := sf.Incidents.Create(ctx, stackflow.IncidentInput{
		Title: stackflow.Ptr("Disk full on web01"), Impact: stackflow.Ptr(stackflow.LevelMedium),
	}, nil)
	if err != nil {
		return err
	}
	fmt.Println(created.Number, created.Version)
	for ci, err := range sf.CIs.All(ctx, &stackflow.ListOptions{UpdatedSince: time.Now().Add(-time.Hour)}) {
		if err != nil {
			return err
		}
		fmt.Println(ci.Name, ci.Class, ci.InstallStatus)
	}
	// Webhooks: signature (HMAC-SHA256) and timestamp checked before your code runs.
	http.Handle("/webhooks/stackflow", stackflow.WebhookHandler(secret, func(ctx context.Context, ev *stackflow.WebhookEvent) error {
		fmt.Println(ev.Event, ev.Record.ID()) // incident.updated inc_...
		return nil
	}))
	return nil
}

func tourMapping() (servicenow.Fields, error) {
	cfg := mapping.DefaultConfig() // the guide's six tables, every built-in field
	specs, err := mapping.LoadFieldMappings([]byte(`
- table: incident
  servicenow_field: u_customer_tier
  stackflow_field: attributes.customer_tier
  value_map: {1: gold, 2: silver, 3: bronze}
`))
	if err != nil {
		return nil, err
	}
	cfg.FieldMappings = specs
	m, err := mapping.New(cfg) // a *mapping.ConfigError lists every problem at once
	if err != nil {
		return nil, err
	}
	inc, _ := m.Table("incident")
	fmt.Println(inc.Module(), inc.Direction()) // incidents bidirectional
	// A three-way merge per field: StackFlow changed the title since the last sync.
	sn := mapping.Canon{"title": "Mail down", "urgency": "2"}
	res, err := inc.Merge(mapping.MergeInput{
		BaseSN: sn, CurSN: sn,
		BaseSF: mapping.Canon{"title": "Mail down", "urgency": "2"},
		CurSF:  mapping.Canon{"title": "Mail down at site B", "urgency": "2"},
	})
	if err != nil {
		return nil, err
	}
	return inc.ServiceNowBody(res.ToServiceNow, sn, nil) // {"short_description": "Mail down at site B"}
}

func tourSyncer(ctx context.Context, sn *servicenow.Client, sf *stackflow.Client) error {
	store, err := boltstore.Open("/var/lib/snowsync/state.db") // one process per file
	if err != nil {
		return err // boltstore.ErrLocked: another snowsync holds the file
	}
	defer store.Close()
	s, err := syncer.New(syncer.Config{
		ServiceNow: sn, StackFlow: sf, Store: store,
		Tables: syncer.DefaultTables(), // the guide's six tables and directions
		Logger: slog.Default(),
	})
	if err != nil {
		return err // a *syncer.ConfigError lists every problem at once
	}
	plan, err := s.Plan(ctx, "incident") // a dry run: what would be written
	if err != nil {
		return err
	}
	fmt.Println(plan.Count("stackflow", "create"), "incidents would be created in StackFlow")
	rep, err := s.SyncOnce(ctx, "incident") // one cycle, both directions
	if err != nil {
		return err
	}
	fmt.Println(rep)  // created, updated, echoes skipped, conflicts, API calls, time
	return s.Run(ctx) // every table on its schedule until ctx ends
}
