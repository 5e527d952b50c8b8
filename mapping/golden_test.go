package mapping

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGoldenToStackFlow maps a realistic ServiceNow record of every
// default table to StackFlow: its canonical projection, the create body,
// and the StackFlow projection of the stored result, which must equal the
// converted ServiceNow values (what was written reads back unchanged).
func TestGoldenToStackFlow(t *testing.T) {
	m := mustNew(t, DefaultConfig())
	for _, tm := range m.Tables() {
		t.Run(tm.Table(), func(t *testing.T) {
			r := newResolver()
			rec := loadSN(t, tm.Table())
			sn, err := tm.ProjectServiceNow(rec)
			require.NoError(t, err)
			body, err := tm.NewStackFlow(sn, rec, r)
			require.NoError(t, err)
			stored := storeSF(t, emptySF(tm), body)
			sf, err := tm.ProjectStackFlow(stored)
			require.NoError(t, err)
			want, err := tm.ConvertToStackFlow(sn, r)
			require.NoError(t, err)
			assert.Equal(t, want, sf, "the StackFlow record reads back as the converted ServiceNow values")
			diff, err := tm.Converged(sn, sf, r)
			require.NoError(t, err)
			assert.Empty(t, diff, "a fresh copy has converged")
			golden(t, tm.Table()+".to_stackflow.json", map[string]any{
				"servicenow_fields": tm.ServiceNowFields(),
				"servicenow_canon":  sn,
				"stackflow_create":  body,
				"stackflow_canon":   sf,
			})
		})
	}
}

// TestGoldenToServiceNow maps a realistic StackFlow record of every table
// that can flow to ServiceNow (sc_request made bidirectional) to a
// ServiceNow create body, and checks the stored result reads back as the
// converted StackFlow values. CMDB tables only flow to StackFlow: their
// golden file pins the StackFlow projection.
func TestGoldenToServiceNow(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Table("sc_request").Direction = Bidirectional
	m := mustNew(t, cfg)
	for _, tm := range m.Tables() {
		t.Run(tm.Table(), func(t *testing.T) {
			r := newResolver()
			rec := loadSF(t, tm.Table())
			sf, err := tm.ProjectStackFlow(rec)
			require.NoError(t, err)
			if !tm.Direction().Flows(StackFlow) {
				golden(t, tm.Table()+".to_servicenow.json", map[string]any{"stackflow_canon": sf, "direction": tm.Direction()})
				return
			}
			id, _ := rec["id"].(string)
			body, err := tm.NewServiceNow(sf, id, r)
			require.NoError(t, err)
			assert.NotContains(t, body, "priority", "priority is never written to ServiceNow")
			assert.Equal(t, id, body["correlation_id"])
			assert.Equal(t, "StackFlow", body["correlation_display"])
			stored := storeSN(tm, emptySN(tm), body, r)
			sn, err := tm.ProjectServiceNow(stored)
			require.NoError(t, err)
			want, err := tm.ConvertToServiceNow(sf, r)
			require.NoError(t, err)
			for k, v := range want {
				assert.Equal(t, v, sn[k], "key %s reads back as written", k)
			}
			golden(t, tm.Table()+".to_servicenow.json", map[string]any{
				"stackflow_canon":   sf,
				"servicenow_create": body,
				"servicenow_canon":  sn,
			})
		})
	}
}
