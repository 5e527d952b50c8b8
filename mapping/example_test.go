package mapping_test

import (
	"fmt"
	"time"

	"github.com/stackflow-tech/snowsync/mapping"
	"github.com/stackflow-tech/snowsync/servicenow"
)

// The guide's tables with a custom field from YAML (the Integration Hub's
// field_mappings), and what incident maps to.
func ExampleNew() {
	cfg := mapping.DefaultConfig()
	specs, err := mapping.LoadFieldMappings([]byte(`
- table: incident
  servicenow_field: u_customer_tier
  stackflow_field: attributes.customer_tier
  value_map: {"1": gold, "2": silver, "3": bronze}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg.FieldMappings = specs
	m, err := mapping.New(cfg)
	if err != nil {
		fmt.Println(err) // a *mapping.ConfigError lists every problem at once
		return
	}
	inc, _ := m.Table("incident")
	fmt.Println(inc.Module(), inc.Direction())
	ci, _ := m.Table("cmdb_ci")
	fmt.Println(ci.Module(), ci.Direction())
	// Output:
	// incidents bidirectional
	// cmdb/cis read_only
}

// A three-way merge per field: StackFlow retitled the incident since the
// last sync, ServiceNow raised its urgency; each change goes to the other
// side, and nothing else is written.
func ExampleTableMap_Merge() {
	m, err := mapping.New(mapping.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	inc, _ := m.Table("incident")
	// Each side in its own terms (urgency is 1..3 on both).
	res, err := inc.Merge(mapping.MergeInput{
		BaseSN:    mapping.Canon{"title": "Mail down", "urgency": "2"},
		CurSN:     mapping.Canon{"title": "Mail down", "urgency": "1"},
		BaseSF:    mapping.Canon{"title": "Mail down", "urgency": "2"},
		CurSF:     mapping.Canon{"title": "Mail down at site B", "urgency": "2"},
		UpdatedSN: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), UpdatedSF: time.Date(2026, 3, 2, 9, 5, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("to StackFlow:", res.ToStackFlow)
	fmt.Println("to ServiceNow:", res.ToServiceNow)
	fmt.Println("conflicts:", len(res.Conflicts))
	body, err := inc.ServiceNowBody(res.ToServiceNow, nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(servicenow.Fields(body))
	// Output:
	// to StackFlow: map[urgency:1]
	// to ServiceNow: map[title:Mail down at site B]
	// conflicts: 0
	// map[short_description:Mail down at site B]
}
