package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	yaml "go.yaml.in/yaml/v3"
)

// LoadFieldMappings reads declarative field mappings from JSON or YAML
// (detected: JSON starts with "[" or "{"). It accepts the list itself or
// an object with a field_mappings key (such as the Integration Hub's
// saved configuration, whose other keys are ignored). Unknown keys inside
// a mapping are errors. Malformed input is a *ConfigError; the mappings
// themselves are checked by New.
func LoadFieldMappings(data []byte) ([]FieldMappingSpec, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, nil
	}
	if trimmed[0] == '[' || trimmed[0] == '{' {
		return loadJSON(trimmed)
	}
	return loadYAML(trimmed)
}

// LoadFieldMappingsFile reads field mappings from a JSON or YAML file.
func LoadFieldMappingsFile(path string) ([]FieldMappingSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mapping: reading field mappings: %w", err)
	}
	specs, err := LoadFieldMappings(data)
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			for i := range ce.Problems {
				ce.Problems[i].Field = path + ": " + ce.Problems[i].Field
			}
		}
		return nil, err
	}
	return specs, nil
}

func loadErr(format string, args ...any) error {
	return &ConfigError{Problems: []ConfigProblem{{
		Field:   "field_mappings",
		Message: fmt.Sprintf(format, args...),
		Fix:     "write a list of {table, servicenow_field, stackflow_field, direction} objects, or an object with field_mappings",
	}}}
}

func loadJSON(data []byte) ([]FieldMappingSpec, error) {
	list := data
	if data[0] == '{' {
		var top map[string]json.RawMessage
		if err := json.Unmarshal(data, &top); err != nil {
			return nil, loadErr("invalid JSON: %v", err)
		}
		raw, ok := top["field_mappings"]
		if !ok {
			return nil, loadErr("the JSON object has no field_mappings key")
		}
		list = raw
	}
	dec := json.NewDecoder(bytes.NewReader(list))
	dec.DisallowUnknownFields()
	var specs []FieldMappingSpec
	if err := dec.Decode(&specs); err != nil {
		return nil, loadErr("invalid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, loadErr("invalid JSON: data after the list")
	}
	return specs, nil
}

func loadYAML(data []byte) ([]FieldMappingSpec, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, loadErr("invalid YAML: %v", err)
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil, nil
	}
	n := root.Content[0]
	if n.Kind == yaml.MappingNode {
		var list *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "field_mappings" {
				list = n.Content[i+1]
			}
		}
		if list == nil {
			return nil, loadErr("the YAML mapping has no field_mappings key")
		}
		n = list
	}
	if n.Kind != yaml.SequenceNode {
		return nil, loadErr("line %d: want a list of field mappings", n.Line)
	}
	// Decode the list with unknown keys refused: the document itself when
	// it is the list (so line numbers stay right), else the list alone.
	src := data
	if n != root.Content[0] {
		out, err := yaml.Marshal(n)
		if err != nil {
			return nil, loadErr("invalid YAML: %v", err)
		}
		src = out
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	var specs []FieldMappingSpec
	if err := dec.Decode(&specs); err != nil && err != io.EOF {
		return nil, loadErr("invalid YAML: %v", err)
	}
	return specs, nil
}
