package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func runOAuth(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr strings.Builder
	code := run(ctx, args, func(k string) string { return vars[k] }, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestOAuthOnTheFake(t *testing.T) {
	code, out, errOut := runOAuth(t, nil)
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	for _, want := range []string{
		"ClientSecret: REDACTED, Username: stackflow-integration, Password: REDACTED",
		"1. first call: password grant; token stored in servicenow-token.json (mode -rw-------), expires in about 30m0s, refresh token: true",
		"2. 31 minutes later (the fake's clock): the instance answered 401, the client used the refresh grant; new access token: true, same refresh token: true",
		"3. after a restart, without the password: the call worked, no token request",
		"4. a wrong client secret: errors.Is(err, servicenow.ErrUnauthorized) = true",
		"check the client ID and secret in System OAuth > Application Registry",
	} {
		assert.Contains(t, out, want)
	}
	for _, secret := range []string{fakeClientSecret, fakePassword, "a-wrong-secret"} {
		assert.NotContains(t, out+errOut, secret)
	}
}

func TestOAuthOnARealInstance(t *testing.T) {
	srv := servicenowtest.NewServer(t, // stands in for a real instance
		servicenowtest.WithOAuthClient(servicenowtest.OAuthClient{ClientID: "real-client", ClientSecret: "real-secret-81"}),
		servicenowtest.WithUser(servicenowtest.User{UserName: "svc", Password: "real-pw-82", Roles: []string{"itil"}}))
	vars := map[string]string{"SERVICENOW_URL": srv.URL(), "SERVICENOW_CLIENT_ID": "real-client", "SERVICENOW_CLIENT_SECRET": "real-secret-81",
		"SERVICENOW_USER": "svc", "SERVICENOW_PASSWORD": "real-pw-82"}
	code, out, errOut := runOAuth(t, vars)
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	assert.Contains(t, out, "1. first call: token requests not visible on a real instance")
	assert.Contains(t, out, "2. (the refresh shows on the fake's clock")
	assert.Contains(t, out, "3. after a restart, without the password: the call worked")
	assert.NotContains(t, out+errOut, "real-secret-81")
	assert.NotContains(t, out+errOut, "real-pw-82")

	delete(vars, "SERVICENOW_CLIENT_SECRET")
	code, _, errOut = runOAuth(t, vars)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "$SERVICENOW_CLIENT_SECRET")
}
