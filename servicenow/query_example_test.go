package servicenow_test

import (
	"fmt"
	"time"

	"github.com/stackflow-tech/snowsync/servicenow"
)

func ExampleNewQuery() {
	since := time.Date(2024, 7, 1, 2, 0, 0, 0, time.FixedZone("CEST", 2*60*60))
	q := servicenow.NewQuery().
		Equals("active", "true").
		In("priority", "1", "2").
		Like("short_description", "vpn").Or().Like("description", "vpn").
		After("sys_updated_on", since). // written in UTC
		OrderBy("sys_updated_on").
		OrderBy("sys_id")
	fmt.Println(q)

	// There is no escape for "^" in a value, so the builder refuses it, and
	// String returns something no client will send rather than a filter
	// that matches more rows than meant.
	bad := servicenow.NewQuery().Equals("active", "true").Equals("short_description", "disk^full")
	fmt.Println(bad.Err())
	_, err := bad.Build()
	fmt.Println(err != nil, bad.String()[0] == 0)
	// Output:
	// active=true^priorityIN1,2^short_descriptionLIKEvpn^ORdescriptionLIKEvpn^sys_updated_on>2024-07-01 00:00:00^ORDERBYsys_updated_on^ORDERBYsys_id
	// servicenow: invalid query: field "short_description": the value contains '^', the term separator, which ServiceNow cannot escape: remove it, or match the text around it with LIKE or STARTSWITH
	// true true
}

func ExampleParseQuery() {
	q, err := servicenow.ParseQuery("active=true^caller_id.vip=true^sys_updated_on>=javascript:gs.hoursAgoStart(1)^ORDERBYnumber")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(q.Fields())
	fmt.Println(q.RootFields())
	for _, t := range q.RelativeTimeTerms() {
		fmt.Println("moves with the clock:", t)
	}
	fmt.Println(q.Ordering())

	_, err = servicenow.ParseQuery("active=true^serial_numberEMPTY")
	fmt.Println(err)

	q, _ = servicenow.ParseQuery("active=true^ORDERBYpublishedDESC")
	fmt.Println(q.Warnings())
	// Output:
	// [active caller_id.vip sys_updated_on number]
	// [active caller_id sys_updated_on number]
	// moves with the clock: sys_updated_on>=javascript:gs.hoursAgoStart(1)
	// [{number false}]
	// servicenow: invalid encoded query at offset 12 (term "serial_numberEMPTY"): no operator in "serial_numberEMPTY": a condition is <field><operator><value>, e.g. active=true or short_descriptionLIKEvpn; EMPTY is not an encoded-query operator, use ISEMPTY (empty or NULL) or EMPTYSTRING
	// [offset 12, term "ORDERBYpublishedDESC": field "publishedDESC" ends with DESC: to sort descending write ORDERBYDESCpublished]
}

func ExampleQuery_And() {
	// A user's filter, with ^OR, ^NQ and a sort of its own.
	filter, err := servicenow.ParseQuery("category=network^ORcategory=database^NQpriority=1^ORDERBYnumber")
	if err != nil {
		fmt.Println(err)
		return
	}
	// One keyset page: rows updated after the cursor second T, up to the
	// sweep's upper bound H, sorted for the keyset alone.
	T := time.Date(2024, 7, 1, 0, 0, 5, 0, time.UTC)
	H := time.Date(2024, 7, 1, 0, 14, 45, 0, time.UTC)
	page := filter.
		And(servicenow.NewQuery().After("sys_updated_on", T).AtOrBefore("sys_updated_on", H)).
		WithOrder(servicenow.OrderTerm{Field: "sys_updated_on"}, servicenow.OrderTerm{Field: "sys_id"})
	fmt.Println(page)
	// Output:
	// category=network^ORcategory=database^sys_updated_on>2024-07-01 00:00:05^sys_updated_on<=2024-07-01 00:14:45^NQpriority=1^sys_updated_on>2024-07-01 00:00:05^sys_updated_on<=2024-07-01 00:14:45^ORDERBYsys_updated_on^ORDERBYsys_id
}
