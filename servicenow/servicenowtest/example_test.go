package servicenowtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
)

// openIncidentNumbers is the code under test: it lists the numbers of the
// active incidents of a ServiceNow instance, oldest first.
func openIncidentNumbers(c *http.Client, instance, user, pass string) ([]string, error) {
	q := url.Values{
		"sysparm_query":  {"active=true^ORDERBYnumber"},
		"sysparm_fields": {"number"},
		"sysparm_limit":  {"100"},
	}
	req, err := http.NewRequest("GET", instance+"/api/now/table/incident?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(user, pass)
	req.Header.Set("Accept", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", res.Status)
	}
	var body struct {
		Result []struct {
			Number string `json:"number"`
		} `json:"result"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return nil, err
	}
	var out []string
	for _, r := range body.Result {
		out = append(out, r.Number)
	}
	return out, nil
}

func Example() {
	// In a test, use servicenowtest.NewServer(t) instead: it closes itself.
	srv, err := servicenowtest.Start(servicenowtest.WithUser(servicenowtest.User{
		UserName: "integration", Password: "s3cret", Roles: []string{"itil"},
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	if _, err := srv.Seed("incident",
		map[string]any{"number": "INC0000002", "short_description": "VPN down"},
		map[string]any{"number": "INC0000001", "short_description": "Printer jam"},
		map[string]any{"number": "INC0000003", "short_description": "Old", "active": false},
	); err != nil {
		fmt.Println(err)
		return
	}

	numbers, err := openIncidentNumbers(srv.Client(), srv.URL(), "integration", "s3cret")
	fmt.Println(numbers, err)

	// Make the next request fail the way a hibernating instance does.
	srv.AddFault(servicenowtest.HibernatingFault())
	_, err = openIncidentNumbers(srv.Client(), srv.URL(), "integration", "s3cret")
	fmt.Println(err != nil)
	fmt.Println(len(srv.Requests()), "requests")
	// Output:
	// [INC0000001 INC0000002] <nil>
	// true
	// 2 requests
}
