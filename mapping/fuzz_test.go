package mapping

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/stackflow-tech/snowsync/servicenow"
)

// fuzzMapping maps every default table plus a custom key of each kind, so
// the fuzzers reach every conversion.
func fuzzMapping(t testing.TB) *Mapping {
	cfg := DefaultConfig()
	cfg.Table("sc_request").Direction = Bidirectional
	cfg.FieldMappings = []FieldMappingSpec{
		{Table: "incident", ServiceNowField: "u_tier", StackFlowField: "attributes.tier", ValueMap: ValueMap{"1": "gold", "2": "silver"}},
		{Table: "incident", ServiceNowField: "u_count", StackFlowField: "attributes.count", Transform: TransformInt},
		{Table: "incident", ServiceNowField: "u_flag", StackFlowField: "attributes.flag", Transform: TransformBool},
		{Table: "incident", ServiceNowField: "u_day", StackFlowField: "attributes.day", Transform: TransformDate},
		{Table: "incident", ServiceNowField: "u_at", StackFlowField: "attributes.at", Transform: TransformDateTime},
		{Table: "incident", ServiceNowField: "u_code", StackFlowField: "attributes.code", Transform: TransformUpper},
	}
	cfg.Mappers = map[string][]FieldMapper{"incident": {siteMapper{}}}
	return mustNew(t, cfg)
}

// exercise runs everything a syncer does with one pair of records and
// must never panic; errors are fine.
func exercise(tm *TableMap, sn servicenow.Record, sf map[string]any) {
	r := newResolver()
	snc, errSN := tm.ProjectServiceNow(sn)
	sfc, errSF := tm.ProjectStackFlow(sf)
	if errSN == nil {
		_ = snc.Hash()
		if conv, err := tm.ConvertToStackFlow(snc, r); err == nil {
			_, _ = tm.StackFlowBody(conv)
		}
		_, _ = tm.NewStackFlow(snc, sn, r)
		for _, k := range tm.keys {
			if _, err := k.canonSN(snc[k.info.Name], k.sn.field); err != nil && k.sn.kind != snDotRef {
				panic("a projected value is not canonical: " + err.Error())
			}
		}
	}
	if errSF == nil {
		if conv, err := tm.ConvertToServiceNow(sfc, r); err == nil {
			_, _ = tm.ServiceNowBody(conv, snc, r)
		}
		_, _ = tm.NewServiceNow(sfc, "x_1", r)
	}
	if errSN == nil && errSF == nil {
		_, _ = tm.Converged(snc, sfc, r)
		_, _ = tm.Merge(MergeInput{CurSN: snc, CurSF: sfc, Resolver: r, UpdatedSN: time.Unix(1, 0), UpdatedSF: time.Unix(2, 0)})
		_, _ = tm.Merge(MergeInput{BaseSN: Canon{}, CurSN: snc, BaseSF: sfc, CurSF: Canon{}, Resolver: r, Origin: StackFlow})
	}
}

func seedRecords(f *testing.F, suffix string) {
	files, err := filepath.Glob(filepath.Join("testdata", "records", "*."+suffix+".json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// FuzzProjectServiceNow feeds arbitrary Table API bodies through every
// table: no input makes the mapping panic.
func FuzzProjectServiceNow(f *testing.F) {
	seedRecords(f, "servicenow")
	f.Add([]byte(`{"result":{"state":"5","short_description":"\r\n","cmdb_ci":{"value":"nope"}}}`))
	m := fuzzMapping(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var env struct {
			Result servicenow.Record `json:"result"`
		}
		if json.Unmarshal(data, &env) != nil {
			return
		}
		for _, tm := range m.Tables() {
			full := emptySN(tm)
			for k, v := range env.Result {
				full[k] = v
			}
			exercise(tm, env.Result, map[string]any{})
			exercise(tm, full, map[string]any{})
		}
	})
}

// FuzzProjectStackFlow feeds arbitrary StackFlow records through every
// table: no input makes the mapping panic.
func FuzzProjectStackFlow(f *testing.F) {
	seedRecords(f, "stackflow")
	f.Add([]byte(`{"priority": 1e400, "title": 7, "attributes": {"tier": [1, {"a": null}]}}`))
	m := fuzzMapping(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var rec map[string]any
		if dec.Decode(&rec) != nil {
			return
		}
		for _, tm := range m.Tables() {
			full := emptySF(tm)
			for k, v := range rec {
				full[k] = v
			}
			exercise(tm, servicenow.Record{}, rec)
			exercise(tm, emptySN(tm), full)
		}
	})
}

// TestNoRecordMakesAMapperPanic draws random records for every table
// (random values of random JSON types in every mapped field) and runs
// every operation on them.
func TestNoRecordMakesAMapperPanic(t *testing.T) {
	m := fuzzMapping(t)
	text := rapid.OneOf(
		rapid.String(),
		rapid.SampledFrom([]string{"", "1", "6", "7", "-5", "101", "true", "0", "2026-03-02 09:15:27", "2026-03-02",
			"2026-03-10T20:00:00.250Z", ciLinuxSN, ciLinuxSF, "beth.anglin@example.com", "Network", "Depends on::Used by",
			" a\r\nb ", "\xff\xfe", "e\u0301", "1,234", "9999999999999999999999"}),
	)
	anyValue := rapid.OneOf(
		rapid.Map(text, func(s string) any { return s }),
		rapid.Map(rapid.Int64(), func(n int64) any { return json.Number(strconv.FormatInt(n, 10)) }),
		rapid.Map(rapid.Float64(), func(f float64) any { return f }),
		rapid.Map(rapid.Bool(), func(b bool) any { return b }),
		rapid.Just[any](nil),
		rapid.Just[any](map[string]any{"x": []any{json.Number("1"), nil}}),
	)
	rapid.Check(t, func(rt *rapid.T) {
		tables := m.Tables()
		tm := tables[rapid.IntRange(0, len(tables)-1).Draw(rt, "table")]
		sn := servicenow.Record{}
		for _, f := range tm.ServiceNowFields() {
			if rapid.IntRange(0, 9).Draw(rt, "drop "+f) == 0 {
				continue
			}
			sn[f] = servicenow.Value{Value: text.Draw(rt, f)}
		}
		sf := map[string]any{}
		attrs := map[string]any{}
		for f := range moduleFields[tm.Module()] {
			if rapid.IntRange(0, 9).Draw(rt, "drop sf "+f) == 0 {
				continue
			}
			sf[f] = anyValue.Draw(rt, "sf "+f)
		}
		for _, a := range []string{"tier", "count", "flag", "day", "at", "code", "rack", "site"} {
			attrs[a] = anyValue.Draw(rt, "attr "+a)
		}
		sf["attributes"] = attrs
		exercise(tm, sn, sf)
	})
}
