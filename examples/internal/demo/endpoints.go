package demo

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
)

// Environment variables the examples read.
const (
	EnvServiceNowURL          = "SERVICENOW_URL"
	EnvServiceNowUser         = "SERVICENOW_USER"
	EnvServiceNowPassword     = "SERVICENOW_PASSWORD"
	EnvServiceNowClientID     = "SERVICENOW_CLIENT_ID"
	EnvServiceNowClientSecret = "SERVICENOW_CLIENT_SECRET"
	EnvStackFlowURL           = "STACKFLOW_URL"
	EnvStackFlowToken         = "STACKFLOW_TOKEN"
)

// Endpoints says where ServiceNow and StackFlow are and how to log in.
// URLs and user names come from flags (defaulting to the environment);
// secrets come from the environment only. An empty URL means "use the
// in-process fake": UseServiceNowFake and UseStackFlowFake fill it in.
type Endpoints struct {
	ServiceNowURL      string
	ServiceNowUser     string
	ServiceNowClientID string
	StackFlowURL       string

	serviceNowPassword     string
	serviceNowClientSecret string
	stackFlowToken         string
	// fakeSN and fakeSF are set when the URLs point at in-process fakes.
	fakeSN, fakeSF bool
}

// String describes the endpoints without their secrets.
func (e *Endpoints) String() string {
	return fmt.Sprintf("ServiceNow %s (user %q, client id %q, password set %v, client secret set %v); StackFlow %s (token set %v)",
		orFake(e.ServiceNowURL), e.ServiceNowUser, e.ServiceNowClientID, e.serviceNowPassword != "", e.serviceNowClientSecret != "",
		orFake(e.StackFlowURL), e.stackFlowToken != "")
}

func orFake(u string) string {
	if u == "" {
		return "(fake)"
	}
	return u
}

// AddFlags registers -servicenow-url, -servicenow-user,
// -servicenow-client-id and -stackflow-url, defaulting to SERVICENOW_URL,
// SERVICENOW_USER, SERVICENOW_CLIENT_ID and STACKFLOW_URL, and reads the
// secrets SERVICENOW_PASSWORD, SERVICENOW_CLIENT_SECRET and STACKFLOW_TOKEN
// through getenv. withStackFlow false leaves the StackFlow flag out (for
// examples that only talk to ServiceNow).
func (e *Endpoints) AddFlags(fs *flag.FlagSet, getenv func(string) string, withStackFlow bool) {
	fs.StringVar(&e.ServiceNowURL, "servicenow-url", getenv(EnvServiceNowURL),
		"ServiceNow instance URL, e.g. https://acme.service-now.com (default $"+EnvServiceNowURL+"; empty: an in-process fake)")
	fs.StringVar(&e.ServiceNowUser, "servicenow-user", getenv(EnvServiceNowUser),
		"ServiceNow integration user (default $"+EnvServiceNowUser+"); its password comes from $"+EnvServiceNowPassword)
	fs.StringVar(&e.ServiceNowClientID, "servicenow-client-id", getenv(EnvServiceNowClientID),
		"OAuth client id: use OAuth instead of Basic auth (default $"+EnvServiceNowClientID+"); the secret comes from $"+EnvServiceNowClientSecret)
	e.serviceNowPassword = getenv(EnvServiceNowPassword)
	e.serviceNowClientSecret = getenv(EnvServiceNowClientSecret)
	if withStackFlow {
		fs.StringVar(&e.StackFlowURL, "stackflow-url", getenv(EnvStackFlowURL),
			"StackFlow API base URL, e.g. https://acme.stackflow-tech.com/prod/api (default $"+EnvStackFlowURL+"; empty: an in-process fake); the token comes from $"+EnvStackFlowToken)
		e.stackFlowToken = getenv(EnvStackFlowToken)
	}
}

// Check reports every missing credential of the real systems at once.
func (e *Endpoints) Check() error {
	var errs []error
	if e.ServiceNowURL != "" && !e.fakeSN {
		if e.ServiceNowUser == "" {
			errs = append(errs, fmt.Errorf("-servicenow-user (or $%s) is required with a ServiceNow URL", EnvServiceNowUser))
		}
		if e.serviceNowPassword == "" {
			errs = append(errs, fmt.Errorf("$%s is required with a ServiceNow URL", EnvServiceNowPassword))
		}
		if e.ServiceNowClientID != "" && e.serviceNowClientSecret == "" {
			errs = append(errs, fmt.Errorf("$%s is required with an OAuth client id", EnvServiceNowClientSecret))
		}
	}
	if e.StackFlowURL != "" && !e.fakeSF && e.stackFlowToken == "" {
		errs = append(errs, fmt.Errorf("$%s is required with a StackFlow URL", EnvStackFlowToken))
	}
	return errors.Join(errs...)
}

// RealServiceNow reports whether ServiceNow is a real instance (not a fake).
func (e *Endpoints) RealServiceNow() bool { return e.ServiceNowURL != "" && !e.fakeSN }

// RealStackFlow reports whether StackFlow is a real tenant (not a fake).
func (e *Endpoints) RealStackFlow() bool { return e.StackFlowURL != "" && !e.fakeSF }

// UseServiceNowFake points the endpoints at a fake instance, as its
// built-in admin.
func (e *Endpoints) UseServiceNowFake(srv *servicenowtest.Server) {
	e.ServiceNowURL, e.ServiceNowUser, e.ServiceNowClientID = srv.URL(), servicenowtest.AdminUser, ""
	e.serviceNowPassword, e.serviceNowClientSecret, e.fakeSN = servicenowtest.AdminPassword, "", true
}

// UseStackFlowFake points the endpoints at a fake StackFlow, with its
// default (super_admin) token.
func (e *Endpoints) UseStackFlowFake(srv *stackflowtest.Server) {
	e.StackFlowURL, e.stackFlowToken, e.fakeSF = srv.BaseURL(), srv.Token, true
}

// ServiceNowClient returns a client for the ServiceNow endpoint: OAuth
// (password grant) when a client id is set, Basic auth otherwise. Clients
// of the fakes retry quickly.
func (e *Endpoints) ServiceNowClient(opts ...servicenow.Option) (*servicenow.Client, error) {
	auth := servicenow.WithBasicAuth(e.ServiceNowUser, e.serviceNowPassword)
	if e.ServiceNowClientID != "" {
		auth = servicenow.WithOAuth(servicenow.OAuthConfig{
			ClientID: e.ServiceNowClientID, ClientSecret: e.serviceNowClientSecret,
			Username: e.ServiceNowUser, Password: e.serviceNowPassword,
		})
	}
	all := []servicenow.Option{auth, servicenow.WithUserAgent("snowsync-examples")}
	if e.fakeSN {
		all = append(all, servicenow.WithRetry(servicenow.RetryPolicy{MaxRetries: 3, WaitMin: 10 * time.Millisecond, WaitMax: 100 * time.Millisecond}))
	}
	return servicenow.NewClient(e.ServiceNowURL, append(all, opts...)...)
}

// StackFlowClient returns a client for the StackFlow endpoint. Clients of
// the fakes retry quickly.
func (e *Endpoints) StackFlowClient(opts ...stackflow.Option) (*stackflow.Client, error) {
	all := []stackflow.Option{stackflow.WithToken(e.stackFlowToken), stackflow.WithUserAgent("snowsync-examples")}
	if e.fakeSF {
		all = append(all, stackflow.WithRetry(stackflow.RetryPolicy{MaxRetries: 3, WaitMin: 10 * time.Millisecond, WaitMax: 100 * time.Millisecond}))
	}
	return stackflow.NewClient(e.StackFlowURL, append(all, opts...)...)
}
