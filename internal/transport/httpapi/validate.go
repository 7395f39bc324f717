package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/facelambda/facelambda/internal/core/fault"
)

// fieldErr returns an error with code about field.
func fieldErr(code, field, format string, args ...any) error {
	return fault.OnField(code, clip(field), format, args...)
}

// clip shortens a caller's string quoted in a message or a log line.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// textLimits bounds the free-text fields of every request, by JSON member
// or form field name, in bytes. A field not listed is bounded by the size
// of its part (maxField) or body.
var textLimits = map[string]int{
	"friendlyName": 256, "correlationId": 256, "description": 1024, "name": 64,
	"imageKey": 512, "digest": 128, "id": 128, "refid": 256, "encoder": 64,
	"mode": 64, "imageType": 64, "qualityMode": 64, "level": 64, "threshold": 64,
	"type": 64, "securityLevel": 64, "candidateImageType": 64, "referenceImageType": 64,
	"contentType": 128, "callbackURL": 2048, "signature": 16 << 10, "template": 64 << 10,
	"imageRotationEnabled": 16, "signatureDisabled": 16,
}

// checkText refuses a value of field over its limit.
func checkText(field, value string) error {
	if max, ok := textLimits[field]; ok && len(value) > max {
		return fieldErr(fault.CodeFieldTooLong, field, "%s is longer than %d bytes", field, max)
	}
	return nil
}

// checkStrings applies textLimits to every string member of v (a struct,
// or a pointer, slice or map of them), by JSON name; prefix names the
// enclosing object in the error.
func checkStrings(prefix string, v any) error {
	return walkStrings(prefix, reflect.ValueOf(v))
}

func walkStrings(prefix string, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return walkStrings(prefix, v.Elem())
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil
		}
		for i := range v.Len() {
			if err := walkStrings(prefix, v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			name, ok := jsonName(sf)
			if !ok {
				continue
			}
			fv := v.Field(i)
			for fv.Kind() == reflect.Pointer && !fv.IsNil() {
				fv = fv.Elem()
			}
			if fv.Kind() == reflect.String {
				if err := checkText(name, fv.String()); err != nil {
					if prefix != "" {
						if fe := fault.As(err); fe != nil && fe.Field != "" {
							fe.Field = prefix + "." + fe.Field
							fe.Message = prefix + "." + fe.Message
						}
					}
					return err
				}
				continue
			}
			p := prefix
			if !sf.Anonymous {
				p = joinField(prefix, name)
			}
			if err := walkStrings(p, fv); err != nil {
				return err
			}
		}
	}
	return nil
}

func joinField(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// jsonName is the member name encoding/json gives a struct field; ok is
// false for fields it skips.
func jsonName(sf reflect.StructField) (string, bool) {
	tag := sf.Tag.Get("json")
	if tag == "-" {
		return "", false
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = sf.Name
	}
	return name, true
}

// jsonFields lists the member names encoding/json decodes into values of
// t (a struct or a pointer to one), embedded structs included.
func jsonFields(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := range t.NumField() {
		sf := t.Field(i)
		ft := sf.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if sf.Anonymous && ft.Kind() == reflect.Struct && sf.Tag.Get("json") == "" {
			out = append(out, jsonFields(ft)...)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name, ok := jsonName(sf); ok {
			out = append(out, name)
		}
	}
	return out
}

// fieldSet is a set of accepted member names.
type fieldSet map[string]bool

// fieldsOf returns the members of the given values' types and the extra
// names.
func fieldsOf(values []any, extra ...string) fieldSet {
	s := fieldSet{}
	for _, v := range values {
		for _, n := range jsonFields(reflect.TypeOf(v)) {
			s[n] = true
		}
	}
	for _, n := range extra {
		s[n] = true
	}
	return s
}

// has reports whether name is accepted; fold compares as encoding/json
// matches members (case-insensitively).
func (s fieldSet) has(name string, fold bool) bool {
	if s[name] {
		return true
	}
	if fold {
		for k := range s {
			if strings.EqualFold(k, name) {
				return true
			}
		}
	}
	return false
}

// objectKeys returns the member names of the JSON object raw, in order; a
// name given twice (compared as fold says) is a DUPLICATE_FIELD. raw that
// is not an object gives an error naming what it is.
func objectKeys(raw []byte, prefix string, fold bool) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("expected a JSON object")
	}
	seen := map[string]bool{}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := tok.(string)
		norm := k
		if fold {
			norm = strings.ToLower(k)
		}
		if seen[norm] {
			f := joinField(prefix, k)
			return nil, fieldErr(fault.CodeDuplicateField, f, "%s is given twice", clip(f))
		}
		seen[norm] = true
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the JSON object")
	}
	return keys, nil
}

// checkMembers refuses members of the JSON object raw that allowed does not
// list (UNKNOWN_FIELD) and members given twice (DUPLICATE_FIELD).
func checkMembers(raw []byte, prefix string, allowed fieldSet, fold bool) error {
	keys, err := objectKeys(raw, prefix, fold)
	if err != nil {
		if fe := fault.As(err); fe != nil && fe.Field != "" {
			return err
		}
		what := "request body"
		if prefix != "" {
			what = prefix
		}
		return fault.Invalid("%s is not a JSON object: %v", what, err)
	}
	for _, k := range keys {
		if !allowed.has(k, fold) {
			f := joinField(prefix, k)
			return fieldErr(fault.CodeUnknownField, f, "unknown field %q (docs/api.md lists the fields of each endpoint)", clip(f))
		}
	}
	return nil
}

// decodeStrict decodes the JSON object raw into v (a pointer to a struct):
// members v does not have, duplicate members and over-long text fields are
// refused with the field named.
func decodeStrict(raw []byte, prefix string, v any) error {
	if err := checkMembers(raw, prefix, fieldsOf([]any{v}), true); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		what := "request body"
		if prefix != "" {
			what = prefix
		}
		return fault.Invalid("%s is not valid JSON for this endpoint: %v", what, err)
	}
	return checkStrings(prefix, v)
}
