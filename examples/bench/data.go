package main

import (
	"fmt"
	"strconv"
	"time"
)

// snTime is ServiceNow's time stamp layout (UTC).
const snTime = "2006-01-02 15:04:05"

// seedBatch is how many rows go to the fake in one Seed call, so that the
// seeding never holds the whole data set as maps.
const seedBatch = 5000

// syncIncident is an incident for the sync sections: the fields the
// incident mapping reads, with no references to records that do not sync
// (an incident pointing at an unsynced CI is deferred, not synced).
func syncIncident(i int, updated time.Time) map[string]any {
	return map[string]any{
		"short_description": fmt.Sprintf("Checkout latency above SLO in region %d", i%12),
		"description":       fmt.Sprintf("Synthetic monitor %d reports p99 above 2 s.", i),
		"state":             strconv.Itoa(1 + i%2),
		"impact":            strconv.Itoa(1 + i%3), "urgency": strconv.Itoa(1 + (i/3)%3),
		"category": "software", "subcategory": "application",
		"sys_updated_on": updated.UTC().Format(snTime),
	}
}

// linuxServer is one cmdb_ci_linux_server row (a class below cmdb_ci, so
// the class hierarchy is real).
func linuxServer(i int, updated time.Time) map[string]any {
	return map[string]any{
		"name": fmt.Sprintf("lnx-%06d", i), "ip_address": fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
		"fqdn": fmt.Sprintf("lnx-%06d.acme.internal", i), "serial_number": fmt.Sprintf("SN%08d", i),
		"install_status": "1", "operational_status": "1", "environment": "Production",
		"sys_updated_on": updated.UTC().Format(snTime),
	}
}

// relTypeDependsOn is the sys_id of cmdb_rel_type "Depends on::Used by".
const relTypeDependsOn = "1a9cb166f1571100a92eb60da2bce5c5"

// relationship is one cmdb_rel_ci row between two of the seeded CIs.
func relationship(i int, ciIDs []string, updated time.Time) map[string]any {
	n := len(ciIDs)
	return map[string]any{
		"parent": ciIDs[i%n], "child": ciIDs[(i*7+1)%n], "type": relTypeDependsOn,
		"sys_updated_on": updated.UTC().Format(snTime),
	}
}

// seeder is what the seeding helpers need of a fake ServiceNow.
type seeder interface {
	Seed(table string, rows ...map[string]any) ([]string, error)
}

// seedRows seeds n rows built by gen into table, in batches, and returns
// their sys_ids.
func seedRows(sn seeder, table string, n int, gen func(i int) map[string]any) ([]string, error) {
	ids := make([]string, 0, n)
	for start := 0; start < n; start += seedBatch {
		rows := make([]map[string]any, 0, min(seedBatch, n-start))
		for i := start; i < min(start+seedBatch, n); i++ {
			rows = append(rows, gen(i))
		}
		got, err := sn.Seed(table, rows...)
		if err != nil {
			return nil, fmt.Errorf("seeding %s: %w", table, err)
		}
		ids = append(ids, got...)
	}
	return ids, nil
}
