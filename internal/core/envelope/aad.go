package envelope

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// AAD is what a sealed blob is bound to.
type AAD struct {
	Tenant  string
	ClassID uint64
	// Purpose names what the plaintext is (e.g. "template", "thumbnail",
	// "gallery-shard"), so a blob of one kind cannot stand for another.
	Purpose string
	// Subject, when not empty, names the record the plaintext belongs to
	// within the tenant and purpose (a session face: "<session>/<face>"; a
	// stored object: its key). It is bound by the GCM additional data only,
	// not by the data key's context, so data keys stay shared across the
	// subjects of a tenant and purpose (few KMS calls). An empty Subject
	// adds nothing to the additional data: blobs sealed before the field
	// existed open as before.
	Subject string
}

func (a AAD) check() error {
	if a.Tenant == "" || a.Purpose == "" {
		return errors.New("envelope: AAD needs a tenant and a purpose")
	}
	if len(a.Tenant) > maxField || len(a.Purpose) > maxField || len(a.Subject) > maxSubject {
		return fmt.Errorf("envelope: AAD fields longer than %d bytes (subject %d)", maxField, maxSubject)
	}
	return nil
}

// bytes is the canonical encoding of the AAD fields.
func (a AAD) bytes() []byte {
	b := []byte(aadLabel)
	b = binary.BigEndian.AppendUint16(b, uint16(len(a.Tenant)))
	b = append(b, a.Tenant...)
	b = binary.BigEndian.AppendUint64(b, a.ClassID)
	b = binary.BigEndian.AppendUint16(b, uint16(len(a.Purpose)))
	b = append(b, a.Purpose...)
	if a.Subject != "" {
		b = binary.BigEndian.AppendUint16(b, uint16(len(a.Subject)))
		b = append(b, a.Subject...)
	}
	return b
}

// KeyContext is the encryption context of a data key.
type KeyContext map[string]string

// keyContext of the AAD: tenant and purpose, and the class id for a key
// of one seal.
func (a AAD) keyContext(withClass bool) KeyContext {
	c := KeyContext{"tenant": a.Tenant, "purpose": a.Purpose}
	if withClass {
		c["classId"] = strconv.FormatUint(a.ClassID, 10)
	}
	return c
}
