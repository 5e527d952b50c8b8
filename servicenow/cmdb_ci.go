package servicenow

// CI is a configuration item of any class. Queried through cmdb_ci it
// carries the base-table fields, with its real class in SysClassName
// (cmdb_ci_linux_server, ...). InstallStatus: 1 Installed, 2 On Order,
// 3 In Maintenance, 4 Pending Install, 5 Pending Repair, 6 In Stock,
// 7 Retired, 8 Stolen, 100 Absent. OperationalStatus: 1 Operational,
// 2 Non-Operational, 3 Repair in Progress, 4 DR Standby, 5 Ready,
// 6 Retired.
type CI struct {
	SysFields
	Name              string    `json:"name"`
	ShortDescription  string    `json:"short_description"`
	AssetTag          string    `json:"asset_tag"`
	SerialNumber      string    `json:"serial_number"`
	IPAddress         string    `json:"ip_address"`
	MACAddress        string    `json:"mac_address"`
	FQDN              string    `json:"fqdn"`
	DNSDomain         string    `json:"dns_domain"`
	HostName          string    `json:"host_name"`
	OS                string    `json:"os"`
	OSVersion         string    `json:"os_version"`
	Manufacturer      Reference `json:"manufacturer"`
	ModelID           Reference `json:"model_id"`
	Location          Reference `json:"location"`
	Company           Reference `json:"company"`
	Department        Reference `json:"department"`
	SupportGroup      Reference `json:"support_group"`
	AssignmentGroup   Reference `json:"assignment_group"`
	ManagedBy         Reference `json:"managed_by"`
	OwnedBy           Reference `json:"owned_by"`
	AssignedTo        Reference `json:"assigned_to"`
	InstallStatus     string    `json:"install_status"`
	OperationalStatus string    `json:"operational_status"`
	UsedFor           string    `json:"used_for"`
	Environment       string    `json:"environment"`
	Category          string    `json:"category"`
	Subcategory       string    `json:"subcategory"`
	DiscoverySource   string    `json:"discovery_source"`
	FirstDiscovered   Time      `json:"first_discovered"`
	LastDiscovered    Time      `json:"last_discovered"`
	CorrelationID     string    `json:"correlation_id"`
	Virtual           Bool      `json:"virtual"`
}

// CIs returns the Table API of cmdb_ci, the base class: it lists CIs of
// every class. Use NewTable[CI](c, "cmdb_ci_linux_server") for one class
// with its own columns.
func (c *Client) CIs() *Table[CI] { return NewTable[CI](c, "cmdb_ci") }
