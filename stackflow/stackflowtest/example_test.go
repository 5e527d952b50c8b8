package stackflowtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
)

// importIncident is the code under test: it creates a StackFlow incident
// for a ServiceNow incident, safely retryable thanks to Idempotency-Key.
func importIncident(ctx context.Context, client *http.Client, baseURL, token, sysID, title string) (string, error) {
	body := fmt.Sprintf(`{"title":%q,"source":"servicenow","external_id":%q}`, title, sysID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/incidents", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "import-"+sysID)
	for attempt := 1; ; attempt++ {
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		data, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return "", err
		}
		if resp.StatusCode == http.StatusServiceUnavailable && attempt < 3 {
			req.Body = io.NopCloser(strings.NewReader(body))
			continue
		}
		if resp.StatusCode != http.StatusCreated {
			return "", fmt.Errorf("create: %s: %s", resp.Status, data)
		}
		var rec struct {
			Number string `json:"number"`
		}
		if err := json.Unmarshal(data, &rec); err != nil {
			return "", err
		}
		return rec.Number, nil
	}
}

func Example() {
	srv, err := stackflowtest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	// StackFlow is briefly unavailable: the first attempt gets a 503.
	srv.InjectError(http.MethodPost, "/incidents", http.StatusServiceUnavailable, 1)

	number, err := importIncident(context.Background(), srv.Client(), srv.BaseURL(), srv.Token, "46d44a5f2f2a3010b8b6f7d6f699b6a6", "  Disk full on web01 ")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("created", number)

	recs, err := srv.Records(stackflowtest.Incidents)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d record: %q source=%s external_id=%s by %s\n",
		len(recs), recs[0].Fields["title"], recs[0].Source, recs[0].ExternalID, recs[0].UpdatedBy)
	fmt.Println("POSTs seen:", srv.RequestCount(func(r stackflowtest.LoggedRequest) bool { return r.Method == http.MethodPost }))
	// Output:
	// created SF-INC-1001
	// 1 record: "Disk full on web01" source=servicenow external_id=46d44a5f2f2a3010b8b6f7d6f699b6a6 by stackflowtest
	// POSTs seen: 2
}

func ExampleServer_Seed() {
	srv, err := stackflowtest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	if _, err := srv.Seed(stackflowtest.Incidents,
		map[string]any{"title": "Printer jam", "source": "servicenow", "external_id": "SN_SYS_ID"},
		map[string]any{"title": "VPN down"},
	); err != nil {
		fmt.Println(err)
		return
	}

	// The integration guide's lookup, as written.
	req, err := http.NewRequest(http.MethodGet, srv.BaseURL()+"/incidents?source=servicenow&external_id=SN_SYS_ID", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	resp, err := srv.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var page struct {
		Data []struct {
			Number string `json:"number"`
			Title  string `json:"title"`
		} `json:"data"`
		HasMore bool `json:"has_more"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Header.Get("X-RateLimit-Limit") != "", len(page.Data), page.Data[0].Number, page.Data[0].Title, page.HasMore)
	// Output: true 1 SF-INC-1001 Printer jam false
}
