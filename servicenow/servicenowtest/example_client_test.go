package servicenowtest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
)

// openHighPriority is the code under test: it counts open incidents of
// priority 1 or 2, as a user's own service might.
func openHighPriority(ctx context.Context, c *servicenow.Client) (int, error) {
	q := servicenow.NewQuery().Equals("active", "true").In("priority", "1", "2")
	n := 0
	for _, err := range c.Incidents().All(ctx, &servicenow.ListOptions{Query: q.String(), Fields: []string{"sys_id"}}) {
		if err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// Example_withClient tests your own code against the fake: seed it, point a
// servicenow.Client at it, run your code, and check what it did, including
// how it copes with the instance failing.
func Example_withClient() {
	srv, err := servicenowtest.Start() // in a test: servicenowtest.NewServer(t)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	for _, iu := range [][2]string{{"1", "1"}, {"2", "2"}, {"3", "3"}, {"1", "2"}} {
		if _, err := srv.Insert("incident", map[string]string{"short_description": "x", "impact": iu[0], "urgency": iu[1]}); err != nil {
			log.Fatal(err)
		}
	}
	c, err := servicenow.NewClient(srv.URL(), servicenow.WithBasicAuth(servicenowtest.AdminUser, servicenowtest.AdminPassword))
	if err != nil {
		log.Fatal(err)
	}

	n, err := openHighPriority(context.Background(), c)
	fmt.Println(n, err)

	// The same code when the instance hibernates.
	srv.Hibernate(true)
	_, err = openHighPriority(context.Background(), c)
	fmt.Println(err != nil)

	// What the code sent: one page, with the query it built.
	for _, r := range srv.Requests()[:1] {
		fmt.Println(r.Method, r.Path)
	}
	// Output:
	// 2 <nil>
	// true
	// GET /api/now/v2/table/incident
}
