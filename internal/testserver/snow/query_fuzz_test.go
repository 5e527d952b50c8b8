package snow

import (
	"testing"
)

// FuzzCompileQuery checks that no encoded query makes the parser or the
// evaluator panic, and that every refusal is a well-formed API error.
func FuzzCompileQuery(f *testing.F) {
	for _, q := range []string{
		"active=true^ORDERBYnumber", "state=1^ORstate=2^NQpriority<=2", "caller_id.email=a@b.c^EQ",
		"sys_updated_onBETWEENjavascript:gs.daysAgoStart(1)@javascript:gs.daysAgoEnd(0)",
		"short_descriptionLIKEx^ORDERBYDESCsys_updated_on", "nameINa,b,c", "bogus=1^", "^^OR^NQ",
		"sys_updated_onRELATIVEGT@hour@ago@1", "javascript:gs.dateGenerate('2024-01-01','end')",
		"caller_idDYNAMIC90d1921e5f510100a9ad2572f2b477fe", "sys_class_nameINSTANCEOFtask",
		"reassignment_countGT_FIELDreopen_count", "RLQUERYx^ENDRLQUERY", "sla_dueONToday@a@b",
	} {
		f.Add(q)
	}
	s, _ := newFake(f)
	mustSeed(f, s, "incident", map[string]any{"short_description": "x", "caller_id": AdminSysID})
	f.Fuzz(func(t *testing.T, q string) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		inc := s.schema.tables["incident"]
		for _, mode := range []InvalidQueryMode{InvalidQueryIgnore, InvalidQueryNoRows, InvalidQueryForbidden} {
			cq, err := compileQuery(q, queryEnv{s: s, t: inc, now: t0, userID: AdminSysID, userName: "admin", mode: mode})
			if err != nil {
				ae := asAPIError(err)
				if ae.status != 400 && ae.status != 403 {
					t.Fatalf("query %q: status %d", q, ae.status)
				}
				continue
			}
			s.selectRows(inc, cq, listParams{limit: 10}, OrderInsertion)
		}
	})
}
