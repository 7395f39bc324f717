package httpapi

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/ml/decode"
)

// Limits on request bodies.
const (
	// MaxBody caps a whole request: two images at the image limit plus JSON.
	MaxBody = 2*decode.DefaultMaxBytes + 1<<20
	// maxField caps a non-image form field or JSON part.
	maxField = 1 << 20
)

// form is a request body reduced to named text fields, JSON parts and
// binary parts, whatever its encoding (multipart/form-data, multipart/mixed
// or application/json with base64 images).
type form struct {
	fields map[string]string
	json   map[string]json.RawMessage
	files  map[string][]byte
	// names lists every field and part, in order.
	names []string
}

// readForm parses the request body. imageFields name the binary parts; in a
// JSON body they hold base64 strings. A field or part given twice is a
// DUPLICATE_FIELD, a text field over its limit (textLimits) a
// FIELD_TOO_LONG; handlers refuse unknown ones with only.
func readForm(w http.ResponseWriter, r *http.Request, imageFields ...string) (*form, error) {
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, fault.New(fault.CodeUnsupportedMedia,
			"Content-Type must be multipart/form-data, multipart/mixed or application/json")
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	f := &form{fields: map[string]string{}, json: map[string]json.RawMessage{}, files: map[string][]byte{}}
	isImage := map[string]bool{}
	for _, n := range imageFields {
		isImage[n] = true
	}
	switch {
	case ct == "application/json":
		if err := f.readJSON(r.Body, isImage); err != nil {
			return nil, err
		}
	case ct == "multipart/form-data" || ct == "multipart/mixed":
		if params["boundary"] == "" {
			return nil, fault.Invalid("multipart body without a boundary")
		}
		if err := f.readMultipart(r.Body, params["boundary"], isImage); err != nil {
			return nil, err
		}
	default:
		return nil, fault.Newf(fault.CodeUnsupportedMedia,
			"Content-Type %s is not supported: use multipart/form-data, multipart/mixed or application/json", clip(ct))
	}
	for name, v := range f.fields {
		if _, isJSON := f.json[name]; isJSON {
			continue // checked member by member when decoded
		}
		if err := checkText(name, v); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// add records a field or part name; a second one is refused.
func (f *form) add(name string) error {
	if slices.Contains(f.names, name) {
		return fieldErr(fault.CodeDuplicateField, name, "%s is given twice: send one %s", clip(name), clip(name))
	}
	f.names = append(f.names, name)
	return nil
}

// only refuses fields and parts that allowed does not name.
func (f *form) only(allowed fieldSet) error {
	for _, n := range f.names {
		if !allowed[n] {
			return fieldErr(fault.CodeUnknownField, n, "unknown field %q (docs/api.md lists the fields of each endpoint)", clip(n))
		}
	}
	return nil
}

func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fault.Newf(fault.CodeRequestTooLarge, "request body exceeds %d bytes", mbe.Limit)
	}
	return fault.Invalid("cannot read the request body: %v", err)
}

func (f *form) readJSON(body io.Reader, isImage map[string]bool) error {
	raw, err := io.ReadAll(body)
	if err != nil {
		return bodyError(err)
	}
	keys, err := objectKeys(raw, "", false)
	if err != nil {
		if fe := fault.As(err); fe != nil && fe.Field != "" {
			return err
		}
		return fault.Invalid("request body is not a JSON object: %v", err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return fault.Invalid("request body is not a JSON object: %v", err)
	}
	for _, k := range keys {
		v := obj[k]
		f.names = append(f.names, k)
		var s string
		switch {
		case isImage[k]:
			if err := json.Unmarshal(v, &s); err != nil {
				return fieldErr(fault.CodeInvalidRequest, k, "%s must be a base64 string", clip(k))
			}
			b, err := decodeBase64(s)
			if err != nil {
				return fieldErr(fault.CodeInvalidRequest, k, "%s is not valid base64: %v", clip(k), err)
			}
			f.files[k] = b
		case json.Unmarshal(v, &s) == nil:
			f.fields[k] = s
		default:
			f.json[k] = v
			f.fields[k] = strings.TrimSpace(string(v))
		}
	}
	return nil
}

// decodeBase64 accepts standard or URL base64, padded or not, and a data:
// URL prefix.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "data:") {
		if i := strings.Index(s, ","); i >= 0 {
			s = s[i+1:]
		}
	}
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// partName is the name of a part: the name parameter of its
// Content-Disposition whatever the disposition (curl -F under
// multipart/mixed writes "attachment; name=..."), else one inferred from
// the part for unnamed multipart/mixed parts: a JSON object is the face
// part, an image (or other bytes) the image part.
func partName(p *multipart.Part, head []byte) string {
	if _, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition")); err == nil && params["name"] != "" {
		return params["name"]
	}
	pct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
	switch {
	case pct == "application/json" || pct != "" && !strings.HasPrefix(pct, "image/") && looksJSON(head):
		return "face"
	case strings.HasPrefix(pct, "image/") || pct == "application/octet-stream" || pct == "":
		if looksJSON(head) {
			return "face"
		}
		return "image"
	}
	return ""
}

// looksJSON reports whether b starts like a JSON object.
func looksJSON(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n\ufeff")
	return len(b) > 0 && b[0] == '{'
}

func (f *form) readMultipart(body io.Reader, boundary string, isImage map[string]bool) error {
	mr := multipart.NewReader(body, boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return bodyError(err)
		}
		br := bufio.NewReader(p)
		head, _ := br.Peek(64)
		name := partName(p, head)
		if name == "" {
			return fault.Invalid("a multipart part has no name and a type (%s) that names none", clip(p.Header.Get("Content-Type")))
		}
		if err := f.add(name); err != nil {
			return err
		}
		limit := int64(maxField)
		if isImage[name] {
			limit = decode.DefaultMaxBytes + 1
		}
		text, isText := textLimits[name]
		if isText && !isImage[name] {
			limit = int64(text)
		}
		b, err := io.ReadAll(io.LimitReader(br, limit+1))
		if err != nil {
			return bodyError(err)
		}
		if int64(len(b)) > limit && isText && !isImage[name] {
			return checkText(name, string(b))
		}
		if int64(len(b)) > limit {
			if isImage[name] {
				return fault.Newf(fault.CodeImageTooLarge, "%s: image exceeds %d bytes", clip(name), decode.DefaultMaxBytes)
			}
			return fault.OnField(fault.CodeRequestTooLarge, clip(name), "part %s exceeds %d bytes", clip(name), maxField)
		}
		pct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch {
		case isImage[name]:
			f.files[name] = b
		case pct == "application/json" || looksJSON(b) || bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")):
			f.json[name] = json.RawMessage(b)
			f.fields[name] = strings.TrimSpace(string(b))
		default:
			f.fields[name] = strings.TrimSpace(string(b))
		}
	}
}

// image returns a required binary part.
func (f *form) image(name string) ([]byte, error) {
	b, ok := f.files[name]
	if !ok {
		return nil, fault.Invalid("the %s part is missing", name)
	}
	if len(b) == 0 {
		return nil, fault.Invalid("the %s part is empty", name)
	}
	return b, nil
}

// object decodes a JSON part into v strictly (decodeStrict: the part's
// members are v's); ok is false when the part is absent.
func (f *form) object(name string, v any) (bool, error) {
	raw, ok := f.json[name]
	if !ok {
		if s, isText := f.fields[name]; isText && s != "" {
			return true, fieldErr(fault.CodeInvalidRequest, name, "%s must be a JSON object", clip(name))
		}
		return false, nil
	}
	return true, decodeStrict(raw, name, v)
}

// boolField parses an optional boolean field.
func (f *form) boolField(name string) (bool, error) {
	s, ok := f.fields[name]
	if !ok || s == "" || s == "null" {
		return false, nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return false, fieldErr(fault.CodeInvalidRequest, name, "%s must be true or false, got %q", clip(name), clip(s))
	}
	return v, nil
}

// queryBool parses an optional boolean query parameter (absent: false).
func queryBool(r *http.Request, name string) (bool, error) {
	q := r.URL.Query()
	if len(q[name]) > 1 {
		return false, fieldErr(fault.CodeDuplicateField, name, "%s is given twice", name)
	}
	s := q.Get(name)
	if s == "" {
		return false, nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return false, fieldErr(fault.CodeInvalidRequest, name, "%s must be true or false, got %q", name, clip(s))
	}
	return v, nil
}

const (
	maxImageBytes  = decode.DefaultMaxBytes
	maxImagePixels = decode.DefaultMaxPixels
)

// fieldsAsJSON rebuilds a JSON object from the form's fields (JSON bodies
// keep their nested objects).
func (f *form) fieldsAsJSON() map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range f.fields {
		if raw, ok := f.json[k]; ok {
			out[k] = raw
			continue
		}
		b, _ := json.Marshal(v)
		out[k] = b
	}
	return out
}
