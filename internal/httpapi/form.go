package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/facelambda/facelambda/internal/biometric"
	"github.com/facelambda/facelambda/internal/decode"
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
}

// readForm parses the request body. imageFields name the binary parts; in a
// JSON body they hold base64 strings.
func readForm(w http.ResponseWriter, r *http.Request, imageFields ...string) (*form, error) {
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia,
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
	case strings.HasPrefix(ct, "multipart/"):
		if params["boundary"] == "" {
			return nil, biometric.Invalid("multipart body without a boundary")
		}
		if err := f.readMultipart(r, isImage); err != nil {
			return nil, err
		}
	default:
		return nil, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia,
			fmt.Sprintf("Content-Type %s is not supported: use multipart/form-data, multipart/mixed or application/json", ct))
	}
	return f, nil
}

func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Sprintf("request body exceeds %d bytes", mbe.Limit))
	}
	return biometric.Invalid("cannot read the request body: %v", err)
}

func (f *form) readJSON(body io.Reader, isImage map[string]bool) error {
	raw, err := io.ReadAll(body)
	if err != nil {
		return bodyError(err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return biometric.Invalid("request body is not a JSON object: %v", err)
	}
	for k, v := range obj {
		var s string
		switch {
		case isImage[k]:
			if err := json.Unmarshal(v, &s); err != nil {
				return biometric.Invalid("%s must be a base64 string", k)
			}
			b, err := decodeBase64(s)
			if err != nil {
				return biometric.Invalid("%s is not valid base64: %v", k, err)
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

func (f *form) readMultipart(r *http.Request, isImage map[string]bool) error {
	mr, err := r.MultipartReader()
	if err != nil {
		return biometric.Invalid("cannot read the multipart body: %v", err)
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return bodyError(err)
		}
		name := p.FormName()
		pct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if name == "" {
			// multipart/mixed parts may carry no name: infer it from the type.
			switch {
			case pct == "application/json":
				name = "face"
			case strings.HasPrefix(pct, "image/") || pct == "application/octet-stream":
				name = "image"
			}
		}
		limit := int64(maxField)
		if isImage[name] {
			limit = decode.DefaultMaxBytes + 1
		}
		b, err := io.ReadAll(io.LimitReader(p, limit+1))
		if err != nil {
			return bodyError(err)
		}
		if int64(len(b)) > limit {
			if isImage[name] {
				return errorf(http.StatusRequestEntityTooLarge, biometric.CodeImageTooLarge,
					fmt.Sprintf("%s: image exceeds %d bytes", name, decode.DefaultMaxBytes))
			}
			return errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Sprintf("part %s exceeds %d bytes", name, maxField))
		}
		switch {
		case isImage[name]:
			f.files[name] = b
		case pct == "application/json" || (len(bytes.TrimSpace(b)) > 0 && (bytes.TrimSpace(b)[0] == '{' || bytes.TrimSpace(b)[0] == '[')):
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
		return nil, biometric.Invalid("the %s part is missing", name)
	}
	if len(b) == 0 {
		return nil, biometric.Invalid("the %s part is empty", name)
	}
	return b, nil
}

// object decodes a JSON part into v; ok is false when the part is absent.
func (f *form) object(name string, v any) (bool, error) {
	raw, ok := f.json[name]
	if !ok {
		return false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		return true, biometric.Invalid("%s is not valid JSON for this endpoint: %v", name, err)
	}
	return true, nil
}

// boolField parses an optional boolean field.
func (f *form) boolField(name string) (bool, error) {
	s, ok := f.fields[name]
	if !ok || s == "" || s == "null" {
		return false, nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return false, biometric.Invalid("%s must be true or false, got %q", name, s)
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
