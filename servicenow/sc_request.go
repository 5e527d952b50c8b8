package servicenow

// ServiceRequest is a record of the sc_request table (a service catalog
// request). RequestState values differ by release: draft, submitted,
// in_process, delivered, cancelled, closed_incomplete, closed_complete,
// closed_cancelled are common.
type ServiceRequest struct {
	Task
	RequestState        string    `json:"request_state"`
	Stage               string    `json:"stage"`
	RequestedFor        Reference `json:"requested_for"`
	RequestedDate       string    `json:"requested_date"`
	Price               string    `json:"price"`
	SpecialInstructions string    `json:"special_instructions"`
	DeliveryAddress     string    `json:"delivery_address"`
}

// ServiceRequests returns the Table API of the sc_request table.
func (c *Client) ServiceRequests() *Table[ServiceRequest] {
	return NewTable[ServiceRequest](c, "sc_request")
}
