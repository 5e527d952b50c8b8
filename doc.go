// Package snowsync is a Go SDK for talking to ServiceNow and StackFlow and
// keeping the two in sync, after StackFlow's ServiceNow integration guide.
//
// The module is a set of packages; this root package holds only this
// overview.
//
//   - servicenow: typed client for the ServiceNow Table API (Basic auth and
//     OAuth, encoded queries, paging as iterators, display values, typed
//     records, typed errors, retries, rate limiting, Test Connection).
//   - servicenow/servicenowtest: a fake ServiceNow instance for your tests.
//   - stackflow: typed client for the StackFlow API, with its OpenAPI contract.
//   - stackflow/stackflowtest: a fake StackFlow for your tests.
//   - mapping: how records and fields translate between the two, with
//     defaults for every table and room for custom field mappers.
//   - syncer: scheduled, incremental, bidirectional sync with durable state
//     (syncer/boltstore embedded, syncer/pgstore for several replicas).
//
// A first call:
//
//	c, err := servicenow.NewClient("https://acme.service-now.com",
//		servicenow.WithBasicAuth(user, pass))
//	if err != nil { ... }
//	for inc, err := range c.Incidents().All(ctx, &servicenow.ListOptions{
//		Query: servicenow.NewQuery().Equals("active", "true").String(),
//	}) {
//		if err != nil { ... }
//		fmt.Println(inc.Number, inc.ShortDescription)
//	}
//
// Run `go run ./examples/quickstart` for a whole sync between the built-in
// fakes.
package snowsync
