package syncer

import (
	"fmt"
	"sort"
	"time"

	"github.com/stackflow-tech/snowsync/mapping"
	"github.com/stackflow-tech/snowsync/stackflow"
)

// FromIntegration turns a configuration saved in StackFlow's Integration
// Hub (stackflow Integrations.ServiceNow.Get) into the sync settings of
// Config: tables and directions, filters, intervals, the incident and CMDB
// switches, and field mappings. The clients, the store and everything else
// are left to the caller; tables the Hub does not list are off.
//
// The Hub's secrets are write-only and never come back from Get, so the
// ServiceNow client must be built from the caller's own copy of them.
func FromIntegration(hub *stackflow.ServiceNowConfig) (Config, error) {
	var cfg Config
	if hub == nil {
		return cfg, fmt.Errorf("syncer: FromIntegration: no configuration")
	}
	interval := time.Duration(hub.SyncIntervalMinutes) * time.Minute
	if interval == 0 {
		interval = DefaultSyncInterval
	}
	cmdbInterval := time.Duration(hub.CMDBSyncIntervalMinutes) * time.Minute
	if cmdbInterval == 0 {
		cmdbInterval = DefaultCMDBSyncInterval
	}
	mappings := hub.TableMappings
	if mappings == nil {
		mappings = stackflow.DefaultTableMappings()
	}
	for _, tm := range mappings {
		tc := TableConfig{
			Table:     tm.Table,
			Module:    string(tm.Module),
			Enabled:   true,
			Direction: mapping.Direction(tm.Direction),
			Filter:    hub.Filters[tm.Table],
			Interval:  interval,
		}
		if isCMDB(tm.Table) {
			tc.Interval = cmdbInterval
		}
		cfg.Tables = append(cfg.Tables, tc)
	}
	cfg.IncidentSync = Bool(hub.IncidentSyncEnabled())
	cfg.CMDBSync = Bool(hub.CMDBSyncEnabled())
	cfg.Mapping = mapping.DefaultConfig()
	for _, fm := range hub.FieldMappings {
		cfg.Mapping.FieldMappings = append(cfg.Mapping.FieldMappings, mapping.FieldMappingSpec{
			Table:           fm.Table,
			ServiceNowField: fm.ServiceNowField,
			StackFlowField:  fm.StackFlowField,
			Direction:       mapping.Direction(fm.Direction),
		})
	}
	// Filters for tables that are not mapped would silently do nothing.
	var stray []string
	for table := range hub.Filters {
		found := false
		for _, tc := range cfg.Tables {
			if tc.Table == table {
				found = true
			}
		}
		if !found {
			stray = append(stray, table)
		}
	}
	if len(stray) > 0 {
		sort.Strings(stray)
		return cfg, &ConfigError{Problems: []ConfigProblem{{Field: "filters", Message: fmt.Sprintf("filters for tables that are not mapped: %v", stray)}}}
	}
	return cfg, nil
}
