package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunMapsTheTierBothWays(t *testing.T) {
	var out, errOut strings.Builder
	require.Equal(t, 0, run(context.Background(), nil, nil, &out, &errOut), errOut.String())
	got := out.String()
	assert.Equal(t, 2, strings.Count(got, `"customer_tier": "gold"`), "the create body carries the tier, both ways")
	assert.Equal(t, 2, strings.Count(got, `"u_customer_tier": "3"`), "the StackFlow edit becomes a ServiceNow write, both ways")
	assert.Equal(t, 2, strings.Count(got, `"external_id": "1c741bd70b2322007518478d83673af3"`))
	patch := "ServiceNow PATCH body after the StackFlow edit:\n  {\n    \"u_customer_tier\": \"3\"\n  }\n"
	assert.Equal(t, 2, strings.Count(got, patch), "only the changed field is written to ServiceNow")
	assert.Contains(t, got, "Both ways give the same result.")
}

func TestRunTakesNoArguments(t *testing.T) {
	var out, errOut strings.Builder
	assert.Equal(t, 2, run(context.Background(), []string{"-x"}, nil, &out, &errOut))
	assert.Contains(t, errOut.String(), "takes no arguments")
}
