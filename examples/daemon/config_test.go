package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runCheck(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"-check"}, args...), env(vars), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestABadConfigListsEveryProblemWithItsField(t *testing.T) {
	code, out, errOut := runCheck(t, nil, "-config", "testdata/bad.yaml")
	require.Equal(t, 2, code, out)
	want := map[string]string{
		"servicenow.instance_url":                   "https",
		"servicenow.auth_method":                    `must be oauth or basic_auth, not "kerberos"`,
		"servicenow.password_env":                   "SERVICENOW_PASSWRD is not set",
		"servicenow.rate_limit.requests_per_second": "must be positive",
		"stackflow.base_ur":                         "unknown setting (line 10)",
		"stackflow.token_file":                      "no-such-token-file",
		"stackflow.base_url":                        "is required",
		"incident_sync":                             "cannot unmarshal",
		"sync_interval_minutes":                     "must be 1..1440",
		"table_mappings[1].direction":               "CMDB tables sync from ServiceNow only",
		"table_mappings[2].table":                   "is not a table StackFlow can sync",
		"table_mappings[2].module":                  "must be one of",
		"table_mappings[2].direction":               "must be bidirectional, to_stackflow or read_only",
		"filters.incident":                          "empty term",
		"filters.sc_request":                        "not in table_mappings",
		"field_mappings.incident.customer_tier":     "customer_tier",
		"state_path":                                "/no/such/dir",
		"listen_address":                            "not host:port",
		"log_level":                                 "given twice (lines 29 and 30)",
		"write_concurrency":                         "must be between 1 and 64 (got 500)",
	}
	for field, msg := range want {
		assert.Regexp(t, `(?m)^  - `+regexpQuote(field)+`: .*`+regexpQuote(msg), errOut, "a problem for %s", field)
	}
	assert.Contains(t, errOut, fmt.Sprintf("(%d problems)", strings.Count(errOut, "\n  - ")))
	assert.GreaterOrEqual(t, strings.Count(errOut, "\n  - "), len(want), "every problem at once")
}

func regexpQuote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `.`, `\.`, `[`, `\[`, `]`, `\]`, `(`, `\(`, `)`, `\)`, `"`, `"`, `*`, `\*`, `+`, `\+`, `?`, `\?`, `^`, `\^`, `$`, `\$`, `|`, `\|`, `{`, `\{`, `}`, `\}`).Replace(s)
}

func TestASecretInTheFileIsRefused(t *testing.T) {
	code, _, errOut := runCheck(t, map[string]string{"WEBHOOK_SECRET": "x"}, "-config", "testdata/secrets.yaml")
	require.Equal(t, 2, code)
	for _, field := range []string{"servicenow.client_secret", "servicenow.password", "stackflow.token"} {
		assert.Contains(t, errOut, "  - "+field+": a secret must not be written in the configuration file")
	}
	assert.Contains(t, errOut, "stackflow.webhook_secret_env: give webhook_secret_env or webhook_secret_file, not both")
	for _, s := range []string{"cs-literal-do-not-print", "hunter2-literal", "tok-literal-do-not-print"} {
		assert.NotContains(t, errOut, s, "the refusal never repeats the secret")
	}
}

func TestAGoodConfigReadsSecretsFromEnvAndFiles(t *testing.T) {
	vars := map[string]string{"SERVICENOW_PASSWORD": "pw-from-env-0041", "STACKFLOW_TOKEN": "tok-from-env-0043"}
	c, err := loadConfig("testdata/good.yaml", env(vars), overrides{})
	require.NoError(t, err)
	assert.Equal(t, "https://acme.service-now.com", c.sn.url)
	assert.Equal(t, "pw-from-env-0041", c.sn.password.Value())
	assert.Equal(t, "cs-from-a-file-0042", c.sn.clientSecret.Value(), "read from the file, relative to the configuration, newline trimmed")
	assert.Equal(t, "tok-from-env-0043", c.sf.token.Value())
	assert.False(t, c.sf.webhookSecret.IsSet(), "webhooks are optional")
	assert.Equal(t, filepath.Join("testdata", "state.db"), c.statePath, "relative to the configuration file")
	assert.Equal(t, defaultListen, c.listen)
	assert.EqualValues(t, defaultSNRate, c.sn.limit)

	assert.False(t, *c.sync.CMDBSync)
	assert.Equal(t, 8, c.sync.WriteConcurrency)
	require.Len(t, c.sync.Tables, 2)
	assert.Equal(t, "incident", c.sync.Tables[0].Table)
	assert.Equal(t, "active=true^priority<=2", c.sync.Tables[0].Filter)
	assert.Equal(t, 10*time.Minute, c.sync.Tables[0].Interval)
	require.Len(t, c.sync.Mapping.FieldMappings, 1)
	assert.Equal(t, "gold", c.sync.Mapping.FieldMappings[0].ValueMap["1"])

	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "config", c, "password", c.sn.password)
	printed := fmt.Sprintf("%v %+v %#v %s", c, *c, c.sn, c.sf.token) + logged.String()
	for _, s := range []string{"pw-from-env-0041", "cs-from-a-file-0042", "tok-from-env-0043"} {
		assert.NotContains(t, printed, s, "secrets never print")
	}
	assert.Contains(t, logged.String(), "stackflow-integration")
}

func TestConfigFileProblems(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
		return p
	}
	cases := []struct {
		name, path, want string
	}{
		{"a missing file", filepath.Join(dir, "nope.yaml"), "file: open"},
		{"YAML that does not parse", write("broken.yaml", "servicenow: [\n"), "yaml: line"},
		{"an empty file", write("empty.yaml", ""), "servicenow.instance_url: is required"},
		{"a list instead of a section", write("list.yaml", "servicenow: [a, b]\n"), "servicenow: line 1: cannot unmarshal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runCheck(t, nil, "-config", c.path)
			assert.Equal(t, 2, code)
			assert.Contains(t, errOut, c.want)
		})
	}
}

func TestTheSampleConfig(t *testing.T) {
	t.Run("needs its secrets", func(t *testing.T) {
		code, _, errOut := runCheck(t, nil, "-config", "snowsync.yaml")
		assert.Equal(t, 2, code)
		for _, field := range []string{"servicenow.client_secret_file", "servicenow.password_env", "stackflow.token_env", "stackflow.webhook_secret_env"} {
			assert.Contains(t, errOut, "  - "+field+": ")
		}
	})
	t.Run("is valid with the demo's endpoints", func(t *testing.T) {
		code, out, errOut := runCheck(t, nil, "-config", "snowsync.yaml", "-demo")
		assert.Equal(t, 0, code, errOut)
		assert.Contains(t, out, "configuration OK")
	})
}

func TestCommandLineErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 2, run(context.Background(), []string{"-nope"}, env(nil), &stdout, &stderr))
	assert.Contains(t, stderr.String(), "flag provided but not defined: -nope")
	stderr.Reset()
	assert.Equal(t, 2, run(context.Background(), []string{"extra"}, env(nil), &stdout, &stderr))
	assert.Contains(t, stderr.String(), "unexpected arguments")
}

func TestPostgreSQLStateIsCheckedToo(t *testing.T) {
	dir := t.TempDir()
	base := `
servicenow: {instance_url: "https://acme.service-now.com", auth_method: basic_auth, username: svc, password_env: PW}
stackflow: {base_url: "https://acme.stackflow-tech.com/prod/api", token_env: TOK}
`
	write := func(extra string) string {
		p := filepath.Join(dir, "c.yaml")
		require.NoError(t, os.WriteFile(p, []byte(base+extra), 0o600))
		return p
	}
	vars := map[string]string{"PW": "pw", "TOK": "tok", "DB": "postgres://snowsync:db-pass-0077@db:5432/ops"}
	c, err := loadConfig(write("state_postgres_url_env: DB\n"), env(vars), overrides{})
	require.NoError(t, err)
	assert.Equal(t, vars["DB"], c.pgURL.Value())
	assert.Equal(t, "postgresql (schema snowsync)", c.stateName())

	_, err = loadConfig(write("state_postgres_url_env: DB\nstate_path: x.db\n"), env(vars), overrides{})
	require.ErrorContains(t, err, "state_path: give state_path (one daemon, a bbolt file) or state_postgres_url_env")
	_, err = loadConfig(write("state_postgres_url: postgres://snowsync:db-pass-0077@db/ops\n"), env(vars), overrides{})
	require.ErrorContains(t, err, "state_postgres_url: a secret must not be written in the configuration file")
	assert.NotContains(t, err.Error(), "db-pass-0077")
	_, err = loadConfig(write("state_postgres_schema: tenant_acme\n"), env(vars), overrides{})
	require.ErrorContains(t, err, "state_postgres_schema: needs state_postgres_url_env")
}
