// Command oauth shows the ServiceNow client's OAuth 2: the password grant
// against /oauth_token.do, a refresh when the access token expires, tokens
// kept in a file so a restart needs no password, and what a wrong client
// secret looks like.
//
//	go run ./examples/oauth
//
// It runs against an in-process fake instance with an OAuth application
// registered, and moves the fake's clock past the token lifetime (30
// minutes) to show the refresh. Against a real instance
// (-servicenow-url or $SERVICENOW_URL, with $SERVICENOW_CLIENT_ID,
// $SERVICENOW_CLIENT_SECRET, $SERVICENOW_USER and $SERVICENOW_PASSWORD) it
// does everything but move the clock.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/stackflow-tech/snowsync/examples/internal/demo"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// The fake's OAuth application and integration user (System OAuth >
// Application Registry, and User Administration > Users on a real
// instance).
const (
	fakeClientID     = "3c1f0e6e9b2d4a10b1d5e0c8a7f4d2e1"
	fakeClientSecret = "fake-client-secret"
	fakeUser         = "stackflow-integration"
	fakePassword     = "fake-user-password"
)

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("oauth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	instance := fs.String("servicenow-url", getenv(demo.EnvServiceNowURL), "ServiceNow instance URL (default $SERVICENOW_URL; empty: an in-process fake)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg := servicenow.OAuthConfig{
		ClientID: getenv(demo.EnvServiceNowClientID), ClientSecret: getenv(demo.EnvServiceNowClientSecret),
		Username: getenv(demo.EnvServiceNowUser), Password: getenv(demo.EnvServiceNowPassword),
	}
	var fake *servicenowtest.Server
	if *instance == "" {
		var err error
		fake, err = servicenowtest.Start(
			servicenowtest.WithOAuthClient(servicenowtest.OAuthClient{ClientID: fakeClientID, ClientSecret: fakeClientSecret, AccessTokenLifespan: 30 * time.Minute}),
			servicenowtest.WithUser(servicenowtest.User{UserName: fakeUser, Password: fakePassword, Email: "stackflow-integration@example.com", Roles: []string{"itil", "rest_api_explorer"}}))
		if err != nil {
			fmt.Fprintln(stderr, "oauth:", err)
			return 1
		}
		defer fake.Close()
		*instance = fake.URL()
		cfg = servicenow.OAuthConfig{ClientID: fakeClientID, ClientSecret: fakeClientSecret, Username: fakeUser, Password: fakePassword}
	} else if cfg.ClientID == "" || cfg.ClientSecret == "" || cfg.Username == "" || cfg.Password == "" {
		fmt.Fprintln(stderr, "oauth: a real instance needs $SERVICENOW_CLIENT_ID, $SERVICENOW_CLIENT_SECRET, $SERVICENOW_USER and $SERVICENOW_PASSWORD")
		return 2
	}
	dir, err := os.MkdirTemp("", "snowsync-oauth-")
	if err != nil {
		fmt.Fprintln(stderr, "oauth:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := tour(ctx, *instance, cfg, filepath.Join(dir, "servicenow-token.json"), fake, stdout); err != nil {
		fmt.Fprintln(stderr, "oauth:", err)
		return 1
	}
	return 0
}

// tour runs the steps; fake is nil on a real instance.
func tour(ctx context.Context, instance string, cfg servicenow.OAuthConfig, tokenFile string, fake *servicenowtest.Server, w io.Writer) error {
	// The token store keeps the access and refresh tokens (mode 0600,
	// replaced atomically), so a restart, or a rotated refresh token, is
	// never lost.
	store := servicenow.NewFileTokenStore(tokenFile)
	cfg.TokenStore = store
	fmt.Fprintf(w, "OAuth configuration: %v\n", cfg) // secrets never print

	c, err := servicenow.NewClient(instance, servicenow.WithOAuth(cfg))
	if err != nil {
		return err
	}
	grants := grantCounter(fake)

	// 1. The first call gets a token with the password grant.
	if err := call(ctx, c); err != nil {
		return err
	}
	first, err := store.LoadToken(ctx)
	if err != nil || first == nil {
		return fmt.Errorf("no token stored: %v", err)
	}
	info, err := os.Stat(tokenFile)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n1. first call: %s; token stored in %s (mode %v), expires in about %s, refresh token: %v\n",
		grants(), filepath.Base(tokenFile), info.Mode().Perm(), time.Until(first.Expiry).Round(time.Minute), first.RefreshToken != "")

	// 2. Thirty minutes later the instance refuses the access token. The
	// client refreshes it once (other goroutines wait for that refresh) and
	// sends the call again.
	if fake != nil {
		fake.Advance(31 * time.Minute)
		if err := call(ctx, c); err != nil {
			return err
		}
		second, err := store.LoadToken(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "2. 31 minutes later (the fake's clock): the instance answered 401, the client used the %s; new access token: %v, same refresh token: %v\n",
			grants(), second.AccessToken != first.AccessToken, second.RefreshToken == first.RefreshToken)
	} else {
		fmt.Fprintln(w, "2. (the refresh shows on the fake's clock; a real instance expires the token after its lifetime, 30 minutes by default)")
	}

	// 3. A restart: a new client with the client credentials and the token
	// store, but no password, carries on from the stored tokens.
	restarted, err := servicenow.NewClient(instance, servicenow.WithOAuth(servicenow.OAuthConfig{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenStore: servicenow.NewFileTokenStore(tokenFile),
	}))
	if err != nil {
		return err
	}
	if err := call(ctx, restarted); err != nil {
		return err
	}
	fmt.Fprintf(w, "3. after a restart, without the password: the call worked, %s\n", grants())

	// 4. A wrong client secret: ServiceNow says only "access_denied", so
	// the error lists what to check. It never shows the secret.
	bad := cfg
	bad.ClientSecret, bad.TokenStore = "a-wrong-secret", nil
	wrong, err := servicenow.NewClient(instance, servicenow.WithOAuth(bad),
		servicenow.WithRetry(servicenow.RetryPolicy{MaxRetries: 0})) // fail at once
	if err != nil {
		return err
	}
	err = call(ctx, wrong)
	var oe *servicenow.OAuthError
	if !errors.As(err, &oe) {
		return fmt.Errorf("a wrong client secret: want an *OAuthError, got %v", err)
	}
	fmt.Fprintf(w, "4. a wrong client secret: errors.Is(err, servicenow.ErrUnauthorized) = %v\n   %v\n",
		errors.Is(err, servicenow.ErrUnauthorized), oe)
	if strings.Contains(err.Error(), bad.ClientSecret) {
		return errors.New("the error shows the secret")
	}
	return nil
}

// call makes one small API call.
func call(ctx context.Context, c *servicenow.Client) error {
	_, _, err := c.Incidents().List(ctx, &servicenow.ListOptions{Limit: 1, Fields: []string{"number"}})
	return err
}

// grantCounter returns a function that describes the token requests made
// since it was last called (on the fake, which logs them).
func grantCounter(fake *servicenowtest.Server) func() string {
	seen := 0
	return func() string {
		if fake == nil {
			return "token requests not visible on a real instance"
		}
		var grants []string
		reqs := fake.Requests()
		for _, r := range reqs[seen:] {
			if r.Path != "/oauth_token.do" {
				continue
			}
			form := string(r.Body)
			switch {
			case strings.Contains(form, "grant_type=password"):
				grants = append(grants, "password grant")
			case strings.Contains(form, "grant_type=refresh_token"):
				grants = append(grants, "refresh grant")
			}
		}
		seen = len(reqs)
		if len(grants) == 0 {
			return "no token request"
		}
		return strings.Join(grants, ", ")
	}
}
