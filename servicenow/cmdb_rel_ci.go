package servicenow

// CIRelationship is a record of cmdb_rel_ci: Parent and Child are CIs and
// Type references cmdb_rel_type ("Depends on::Used by": the parent depends
// on the child).
type CIRelationship struct {
	SysFields
	Parent             Reference `json:"parent"`
	Child              Reference `json:"child"`
	Type               Reference `json:"type"`
	ConnectionStrength string    `json:"connection_strength"`
	PercentOutage      string    `json:"percent_outage"`
	Port               string    `json:"port"`
}

// Well-known sys_ids of cmdb_rel_type records shipped with every instance.
const (
	RelTypeDependsOn     = "1a9cb166f1571100a92eb60da2bce5c5" // Depends on::Used by
	RelTypeRunsOn        = "60bc4e22c0a8010e01f074cbe6bd73c3" // Runs on::Runs
	RelTypeContains      = "55c95bf6c0a8010e0118ec7056ebc54d" // Contains::Contained by
	RelTypeExchangesData = "607ad1b2c0a8010e01941856b365af90" // Exchanges data with::Exchanges data with
	RelTypeConsumes      = "41008aa6ef32010098d5925495c0fb94" // Consumes::Consumed by
)

// CIRelationships returns the Table API of cmdb_rel_ci.
func (c *Client) CIRelationships() *Table[CIRelationship] {
	return NewTable[CIRelationship](c, "cmdb_rel_ci")
}
