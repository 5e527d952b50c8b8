package stackflow

// CI is a CMDB configuration item: a record of /cmdb/cis (module cmdb_cis, ServiceNow table cmdb_ci).
// A field StackFlow sends as null is the zero value.
type CI struct {
	Common
	// Name is trimmed; 1..255 characters (never truncated).
	Name string `json:"name"`
	// Class is the ServiceNow class name, e.g. cmdb_ci_linux_server (default cmdb_ci).
	Class string `json:"class"`
	// OperationalStatus is "" when not set.
	OperationalStatus OperationalStatus `json:"operational_status"`
	// InstallStatus is "" when not set.
	InstallStatus InstallStatus `json:"install_status"`
	IPAddress     string        `json:"ip_address"`
	FQDN          string        `json:"fqdn"`
	SerialNumber  string        `json:"serial_number"`
	Manufacturer  string        `json:"manufacturer"`
	Model         string        `json:"model"`
	Location      string        `json:"location"`
	// OwnedBy is the owner user name.
	OwnedBy string `json:"owned_by"`
	// Environment is e.g. production.
	Environment string `json:"environment"`
}

// OperationalStatus is the operational status of a CI.
type OperationalStatus string

// The values of OperationalStatus.
const (
	OperationalStatusOperational      OperationalStatus = "operational"
	OperationalStatusNonOperational   OperationalStatus = "non_operational"
	OperationalStatusRepairInProgress OperationalStatus = "repair_in_progress"
	OperationalStatusDrStandby        OperationalStatus = "dr_standby"
	OperationalStatusReady            OperationalStatus = "ready"
	OperationalStatusRetired          OperationalStatus = "retired"
)

// InstallStatus is the install status of a CI.
type InstallStatus string

// The values of InstallStatus.
const (
	InstallStatusInstalled      InstallStatus = "installed"
	InstallStatusOnOrder        InstallStatus = "on_order"
	InstallStatusInMaintenance  InstallStatus = "in_maintenance"
	InstallStatusPendingInstall InstallStatus = "pending_install"
	InstallStatusPendingRepair  InstallStatus = "pending_repair"
	InstallStatusInStock        InstallStatus = "in_stock"
	InstallStatusRetired        InstallStatus = "retired"
	InstallStatusStolen         InstallStatus = "stolen"
	InstallStatusAbsent         InstallStatus = "absent"
)

// CIInput is the body of a create, update (PATCH) or bulk upsert of /cmdb/cis.
// Nil fields are left out: a create takes the default, an update keeps the
// stored value. List the JSON names of fields to set to null (clear) in
// Clear. A bulk upsert needs Source and ExternalID.
type CIInput struct {
	Source            *string            `json:"source,omitempty"`
	ExternalID        *string            `json:"external_id,omitempty"`
	ExternalNumber    *string            `json:"external_number,omitempty"`
	Name              *string            `json:"name,omitempty"`
	Class             *string            `json:"class,omitempty"`
	OperationalStatus *OperationalStatus `json:"operational_status,omitempty"`
	InstallStatus     *InstallStatus     `json:"install_status,omitempty"`
	IPAddress         *string            `json:"ip_address,omitempty"`
	FQDN              *string            `json:"fqdn,omitempty"`
	SerialNumber      *string            `json:"serial_number,omitempty"`
	Manufacturer      *string            `json:"manufacturer,omitempty"`
	Model             *string            `json:"model,omitempty"`
	Location          *string            `json:"location,omitempty"`
	OwnedBy           *string            `json:"owned_by,omitempty"`
	Environment       *string            `json:"environment,omitempty"`
	// Attributes are custom fields; an update merges them key by key (a key
	// set to nil is removed).
	Attributes map[string]any `json:"attributes,omitempty"`
	// Clear names fields to set to null, e.g. []string{"assignee"}.
	Clear []string `json:"-"`
}

// MarshalJSON encodes the input, with the fields of Clear as null.
func (in CIInput) MarshalJSON() ([]byte, error) { return in.encode() }

func (in CIInput) encode() ([]byte, error) {
	type plain CIInput
	return encodeInput(plain(in), "CIInput", in.Clear)
}

func (in CIInput) upsertKey() (source, externalID string) {
	return deref(in.Source), deref(in.ExternalID)
}
