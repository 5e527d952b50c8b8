package servicenow

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTimeReadsEveryShape(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	cases := []struct {
		name string
		in   string
		want time.Time
		err  string
	}{
		{"a raw value", `"2026-03-14 09:26:53"`, want, ""},
		{"empty", `""`, time.Time{}, ""},
		{"null", `null`, time.Time{}, ""},
		{"the display_value=all object keeps the raw value", `{"display_value":"2026-03-14 02:26:53","value":"2026-03-14 09:26:53"}`, want, ""},
		{"a leap day", `"2024-02-29 23:59:59"`, time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC), ""},
		{"an impossible date", `"2026-02-30 10:00:00"`, time.Time{}, "not a date-time"},
		{"a user-format display value", `"03/14/2026 09:26:53 AM"`, time.Time{}, "not a date-time"},
		{"RFC 3339 is not ServiceNow's format", `"2026-03-14T09:26:53Z"`, time.Time{}, "not a date-time"},
		{"a number", `12`, time.Time{}, "not a date-time"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got Time
			err := json.Unmarshal([]byte(tc.in), &got)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.True(t, tc.want.Equal(got.Time), "got %v", got)
		})
	}
}

func TestTimeWritesUTC(t *testing.T) {
	t.Parallel()
	pst := time.FixedZone("PST", -8*3600)
	tm := NewTime(time.Date(2026, 3, 14, 1, 26, 53, 999, pst))
	assert.Equal(t, "2026-03-14 09:26:53", tm.String())
	b, err := json.Marshal(tm)
	require.NoError(t, err)
	assert.Equal(t, `"2026-03-14 09:26:53"`, string(b))
	b, err = json.Marshal(Time{})
	require.NoError(t, err)
	assert.Equal(t, `""`, string(b))
	assert.True(t, NewTime(time.Time{}).IsZero())
}

func FuzzParseTime(f *testing.F) {
	f.Add("2026-03-14 09:26:53")
	f.Add("0000-00-00 00:00:00")
	f.Add("9999-12-31 23:59:59")
	f.Add("2026-13-01 00:00:00")
	f.Add("2026-03-14 24:00:00")
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTime(s)
		if err != nil {
			return
		}
		if s == "" {
			if !tm.IsZero() {
				t.Fatal("empty string gave a non-zero time")
			}
			return
		}
		// Anything accepted round-trips exactly and agrees with time.Parse.
		if tm.String() != s {
			t.Fatalf("ParseTime(%q).String() = %q", s, tm.String())
		}
		ref, err := time.ParseInLocation(TimeLayout, s, time.UTC)
		if err != nil || !ref.Equal(tm.Time) {
			t.Fatalf("ParseTime(%q) = %v, time.Parse = %v, %v", s, tm, ref, err)
		}
	})
}

func TestDateBoolInt(t *testing.T) {
	t.Parallel()
	var d Date
	require.NoError(t, json.Unmarshal([]byte(`"2026-12-31"`), &d))
	assert.Equal(t, "2026-12-31", d.String())
	require.NoError(t, json.Unmarshal([]byte(`""`), &d))
	assert.True(t, d.IsZero())
	require.Error(t, json.Unmarshal([]byte(`"31/12/2026"`), &d))

	for in, want := range map[string]Bool{`"true"`: true, `"false"`: false, `""`: false, `true`: true, `"1"`: true, `{"display_value":"true","value":"true"}`: true} {
		var b Bool
		require.NoError(t, json.Unmarshal([]byte(in), &b), in)
		assert.Equal(t, want, b, in)
	}
	var b Bool
	assert.Error(t, json.Unmarshal([]byte(`"yes"`), &b))
	out, _ := json.Marshal(Bool(true))
	assert.Equal(t, `"true"`, string(out))

	for in, want := range map[string]Int{`"15"`: 15, `""`: 0, `"102,197"`: 102197, `7`: 7, `"-3"`: -3, `{"display_value":"1,204","value":"1204"}`: 1204} {
		var n Int
		require.NoError(t, json.Unmarshal([]byte(in), &n), in)
		assert.Equal(t, want, n, in)
	}
	var n Int
	assert.Error(t, json.Unmarshal([]byte(`"fifteen"`), &n))
	out, _ = json.Marshal(Int(42))
	assert.Equal(t, `"42"`, string(out))
}

func TestReferenceReadsEveryShape(t *testing.T) {
	t.Parallel()
	const id = "681ccaf9c0a8016400b98a06818d57c7"
	const link = "https://acme.service-now.com/api/now/v2/table/sys_user/" + id
	cases := []struct {
		name string
		in   string
		want Reference
	}{
		{"value mode", `{"link":"` + link + `","value":"` + id + `"}`, Reference{Value: id, Link: link}},
		{"an empty reference is the empty string", `""`, Reference{}},
		{"exclude_reference_link gives the bare sys_id", `"` + id + `"`, Reference{Value: id}},
		{"display_value=true has no value", `{"display_value":"Joe Employee","link":"` + link + `"}`, Reference{DisplayValue: "Joe Employee", Link: link}},
		{"display_value=all has all three", `{"display_value":"Joe Employee","link":"` + link + `","value":"` + id + `"}`, Reference{Value: id, Link: link, DisplayValue: "Joe Employee"}},
		{"a non-hex value such as global", `{"link":"https://x/sys_user_group/global","value":"global"}`, Reference{Value: "global", Link: "https://x/sys_user_group/global"}},
		{"null", `null`, Reference{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got Reference
			require.NoError(t, json.Unmarshal([]byte(tc.in), &got))
			assert.Equal(t, tc.want, got)
		})
	}
	var r Reference
	assert.Error(t, json.Unmarshal([]byte(`42`), &r))
	out, err := json.Marshal(struct {
		Caller Reference `json:"caller_id"`
	}{Ref(id)})
	require.NoError(t, err)
	assert.Equal(t, `{"caller_id":"`+id+`"}`, string(out), "a reference is written as its sys_id")
}

func TestRecordDecodesTheListShape(t *testing.T) {
	t.Parallel()
	var env struct{ Result []Record }
	require.NoError(t, json.Unmarshal(testdata(t, "incident_list_raw.json"), &env))
	require.Len(t, env.Result, 2)
	r := env.Result[0]
	assert.Equal(t, "INC0010042", r.Get("number"))
	assert.Equal(t, "57af7aec73d423002728660c4cf6a71c", r.SysID())
	assert.Equal(t, "gold", r.Get("u_customer_tier"), "custom fields are kept")
	assert.Equal(t, "5137153cc611227c000bbd1bd8cd2005", r.Ref("caller_id").Value)
	assert.Contains(t, r.Ref("caller_id").Link, "/sys_user/5137153cc611227c000bbd1bd8cd2005")
	assert.Equal(t, "", r.Get("problem_id"))
	assert.True(t, r.Ref("problem_id").IsZero())
	assert.Equal(t, "global", r.Ref("sys_domain").Value)
	up, err := r.Time("sys_updated_on")
	require.NoError(t, err)
	assert.Equal(t, "2026-03-14 09:26:53", up.String())
	n, err := r.Int("sys_mod_count")
	require.NoError(t, err)
	assert.Equal(t, Int(4), n)
	active, err := r.Bool("active")
	require.NoError(t, err)
	assert.True(t, bool(active))
	_, err = r.Time("short_description")
	var ve *ValueError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "short_description", ve.Field)
	assert.False(t, r.Has("nope"))
	assert.Contains(t, r.Fields(), "u_customer_tier")
	assert.Equal(t, "Printer \"P-12\" jams — étage 3 ✓", env.Result[1].Get("short_description"), "escapes and UTF-8 survive")

	r.Set("state", "7")
	out, err := json.Marshal(Record{"state": r["state"], "caller_id": r["caller_id"]})
	require.NoError(t, err)
	assert.JSONEq(t, `{"state":"7","caller_id":"5137153cc611227c000bbd1bd8cd2005"}`, string(out), "a record writes raw values")
	assert.Equal(t, "7", r.Values()["state"])
}

func TestTypedRecordsDecodeTheFixtureShapes(t *testing.T) {
	t.Parallel()
	var incs struct{ Result []Incident }
	require.NoError(t, json.Unmarshal(testdata(t, "incident_list_raw.json"), &incs))
	inc := incs.Result[0]
	assert.Equal(t, "INC0010042", inc.Number)
	assert.Equal(t, IncidentStateResolved, inc.State)
	assert.Equal(t, "1", inc.Impact)
	assert.Equal(t, "5137153cc611227c000bbd1bd8cd2005", inc.CallerID.Value)
	assert.Equal(t, "Solution provided", inc.CloseCode)
	assert.Equal(t, Int(1), inc.ReassignmentCount)
	assert.Equal(t, Int(4), inc.SysModCount)
	assert.True(t, bool(inc.Active))
	assert.Equal(t, "incident", inc.SysClassName)
	assert.True(t, inc.ClosedAt.IsZero())
	assert.Equal(t, "2026-03-14 09:26:53", inc.ResolvedAt.String())
	assert.Equal(t, "Since the client update the tunnel resets.\r\nUser on site B.", inc.Description)
	assert.Equal(t, "sf:inc_01JD8W6Q", incs.Result[1].CorrelationID)

	var req struct{ Result ServiceRequest }
	require.NoError(t, json.Unmarshal(testdata(t, "sc_request_create_201.json"), &req))
	assert.Equal(t, "REQ0010017", req.Result.Number)
	assert.Equal(t, "no value", req.Result.RequestedFor.Value, "references are not validated by the instance")
	assert.Equal(t, "{link=https://instance.serviceno", req.Result.OpenedBy.Value)
	assert.Equal(t, "in_process", req.Result.RequestState)

	var rels struct{ Result []CIRelationship }
	require.NoError(t, json.Unmarshal(testdata(t, "cmdb_rel_ci_fields.json"), &rels))
	assert.Equal(t, RelTypeDependsOn, rels.Result[0].Type.Value)
	assert.Equal(t, "3a1f8b2fc0a8000b0045a2b3c4d5e6f7", rels.Result[0].Parent.Value)
	assert.Equal(t, "", rels.Result[0].SysID, "sysparm_fields left sys_id out")

	var cis struct{ Result []CI }
	require.NoError(t, json.Unmarshal(testdata(t, "cmdb_ci_exclude_links.json"), &cis))
	assert.Equal(t, "cmdb_ci_linux_server", cis.Result[0].SysClassName)
	assert.Equal(t, "aa0a6df8c611227601cd2ed45989e0ac", cis.Result[0].Manufacturer.Value, "bare sys_id with exclude_reference_link")
	assert.Equal(t, Int(12), cis.Result[0].SysModCount)
}

func TestSplitDisplayKeepsRawValues(t *testing.T) {
	t.Parallel()
	var env struct{ Result map[string]json.RawMessage }
	require.NoError(t, json.Unmarshal(testdata(t, "incident_get_display_all.json"), &env))
	raw, display, err := splitDisplay(env.Result)
	require.NoError(t, err)
	var inc Incident
	require.NoError(t, json.Unmarshal(raw, &inc))
	inc.setDisplayValues(display)
	assert.Equal(t, "6", inc.State)
	assert.Equal(t, "Resolved", inc.Display("state"))
	assert.Equal(t, "5137153cc611227c000bbd1bd8cd2005", inc.CallerID.Value)
	assert.Equal(t, "Fred Luddy", inc.CallerID.DisplayValue)
	assert.Equal(t, Int(1204), inc.ReassignmentCount)
	assert.Equal(t, "2026-03-14 09:26:53", inc.SysUpdatedOn.String(), "the raw UTC value, not the user's local time")
	assert.Equal(t, "2026-03-14 02:26:53", inc.Display("sys_updated_on"))
}

func FuzzReferenceFastPath(f *testing.F) {
	f.Add(`{"link":"https://x/y","value":"abc"}`)
	f.Add(`{"display_value":"Joe","link":"l"}`)
	f.Add(`{ "value" : null , "link":"x" }`)
	f.Add(`{"value":"a\"b"}`)
	f.Add(`{}`)
	f.Add(`{"value":"x","extra":"y"}`)
	f.Fuzz(func(t *testing.T, in string) {
		link, val, disp, hasVal, hasDisp, ok := scanRefObject([]byte(in))
		if !ok {
			return
		}
		// What the fast path accepts, encoding/json must read the same way.
		var v struct {
			Value        *string `json:"value"`
			Link         string  `json:"link"`
			DisplayValue *string `json:"display_value"`
		}
		dec := json.NewDecoder(bytes.NewReader([]byte(in)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refuses it: %v", in, err)
		}
		if v.Link != link || (v.Value != nil) != hasVal || (v.DisplayValue != nil) != hasDisp ||
			(hasVal && *v.Value != val) || (hasDisp && *v.DisplayValue != disp) {
			t.Fatalf("fast path read %q differently", in)
		}
	})
}
