package capture

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Parse parses a capture container (a ZIP archive) from hostile input,
// with the checks described in the package documentation. Errors wrap
// [ErrInvalid] or [ErrTooLarge]. The frames are returned in manifest order.
func Parse(archive []byte, lim Limits) (*Capture, error) {
	lim = lim.normalize()
	if int64(len(archive)) > lim.MaxTotalBytes+zipOverhead {
		return nil, fmt.Errorf("%w: archive of %d bytes", ErrTooLarge, len(archive))
	}
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		return nil, fmt.Errorf("%w: not a ZIP archive: %v", ErrInvalid, err)
	}
	if len(zr.File) > lim.MaxFrames+1 {
		return nil, fmt.Errorf("%w: %d archive entries, at most %d", ErrTooLarge, len(zr.File), lim.MaxFrames+1)
	}
	entries := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		if _, dup := entries[f.Name]; dup {
			return nil, fmt.Errorf("%w: archive entry %q appears twice", ErrInvalid, f.Name)
		}
		entries[f.Name] = f
	}
	mf, ok := entries[ManifestName]
	if !ok {
		return nil, fmt.Errorf("%w: no %s in the archive", ErrInvalid, ManifestName)
	}
	data, err := readEntry(mf, MaxManifestBytes)
	if err != nil {
		return nil, err
	}
	m, err := decodeManifest(data, lim.MaxFrames)
	if err != nil {
		return nil, err
	}
	listed := make(map[string]struct{}, len(m.Frames))
	for _, f := range m.Frames {
		listed[f.File] = struct{}{}
	}
	for _, f := range zr.File {
		if _, ok := listed[f.Name]; !ok && f.Name != ManifestName {
			return nil, fmt.Errorf("%w: archive entry %q is not listed in the manifest", ErrInvalid, f.Name)
		}
	}

	c := &Capture{Manifest: *m, Frames: make([]Frame, len(m.Frames))}
	var total int64
	for i, ref := range m.Frames {
		f, ok := entries[ref.File]
		if !ok {
			return nil, fmt.Errorf("%w: frame %s is missing from the archive", ErrInvalid, ref.File)
		}
		limit := min(lim.MaxFrameBytes, lim.MaxTotalBytes-total)
		data, err := readEntry(f, limit)
		if errors.Is(err, ErrTooLarge) && limit < lim.MaxFrameBytes {
			return nil, fmt.Errorf("%w: frames exceed %d bytes in total", ErrTooLarge, lim.MaxTotalBytes)
		}
		if err != nil {
			return nil, err
		}
		if err := checkJPEG(ref.File, data); err != nil {
			return nil, err
		}
		total += int64(len(data))
		c.Frames[i] = Frame{Time: frameTime(ref.T), Data: data}
	}
	return c, nil
}

// readEntry reads an archive entry of at most limit bytes. It does not
// trust the header's sizes: the data are inflated through a limit, then
// their size and CRC-32 are checked against the header's.
func readEntry(f *zip.File, limit int64) ([]byte, error) {
	if f.Flags&0x1 != 0 {
		return nil, fmt.Errorf("%w: archive entry %q is encrypted", ErrInvalid, f.Name)
	}
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%w: archive entry %q declares %d bytes, at most %d", ErrTooLarge, f.Name, f.UncompressedSize64, limit)
	}
	raw, err := f.OpenRaw()
	if err != nil {
		return nil, fmt.Errorf("%w: archive entry %q: %v", ErrInvalid, f.Name, err)
	}
	var r io.Reader
	switch f.Method {
	case zip.Store:
		r = raw
	case zip.Deflate:
		fr := flate.NewReader(raw)
		defer fr.Close()
		r = fr
	default:
		return nil, fmt.Errorf("%w: archive entry %q uses compression method %d", ErrInvalid, f.Name, f.Method)
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: archive entry %q exceeds %d bytes", ErrTooLarge, f.Name, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: archive entry %q: %v", ErrInvalid, f.Name, err)
	}
	if uint64(len(data)) != f.UncompressedSize64 || crc32.ChecksumIEEE(data) != f.CRC32 {
		return nil, fmt.Errorf("%w: archive entry %q does not match its size or checksum", ErrInvalid, f.Name)
	}
	return data, nil
}

// Build writes a capture container: the manifest m (deflated) and the
// frames (stored, in the manifest's order: frames[i] is m.Frames[i]). It
// refuses a manifest or frames that [Parse] would refuse, the limits
// aside.
func Build(m Manifest, frames [][]byte) ([]byte, error) {
	if err := m.check(0); err != nil {
		return nil, fmt.Errorf("capture: build: %w", err)
	}
	if len(frames) != len(m.Frames) {
		return nil, fmt.Errorf("capture: build: %d frames for %d manifest entries", len(frames), len(m.Frames))
	}
	for i, data := range frames {
		if err := checkJPEG(m.Frames[i].File, data); err != nil {
			return nil, fmt.Errorf("capture: build: %w", err)
		}
	}
	js, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("capture: build: encoding manifest: %w", err)
	}
	if len(js) > MaxManifestBytes {
		return nil, fmt.Errorf("capture: build: manifest of %d bytes, at most %d", len(js), MaxManifestBytes)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if err := writeEntry(zw, ManifestName, zip.Deflate, js); err != nil {
		return nil, err
	}
	for i, data := range frames {
		if err := writeEntry(zw, m.Frames[i].File, zip.Store, data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("capture: build: closing archive: %w", err)
	}
	return buf.Bytes(), nil
}

// writeEntry adds an entry to the archive being built.
func writeEntry(zw *zip.Writer, name string, method uint16, data []byte) error {
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
	if err != nil {
		return fmt.Errorf("capture: build: adding %s: %w", name, err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("capture: build: writing %s: %w", name, err)
	}
	return nil
}
