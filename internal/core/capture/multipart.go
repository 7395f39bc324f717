package capture

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
)

// Multipart part names.
const (
	metadataPartName = "metadata"
	framePartName    = "frame"
)

// ReadMultipart reads a capture sent as multipart/form-data: one part
// named "metadata" holding the manifest JSON (at most [MaxManifestBytes])
// and one file part named "frame" per frame, whose filename is the frame's
// file name in the manifest. Parts may come in any order. It applies the
// same checks and limits as [Parse]; errors wrap [ErrInvalid] or
// [ErrTooLarge] (the latter also when the body's reader fails with an
// [http.MaxBytesError] or the part headers are too large). The frames are
// returned in manifest order.
func ReadMultipart(mr *multipart.Reader, lim Limits) (*Capture, error) {
	lim = lim.normalize()
	var (
		meta     []byte
		haveMeta bool
		files    = make(map[string][]byte)
		total    int64
	)
	for parts := 0; ; parts++ {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, bodyError("reading part", err)
		}
		if parts >= lim.MaxFrames+1 {
			return nil, fmt.Errorf("%w: more than %d parts", ErrTooLarge, lim.MaxFrames+1)
		}
		name, filename, err := partNames(p)
		if err != nil {
			return nil, err
		}
		switch name {
		case metadataPartName:
			if haveMeta {
				return nil, fmt.Errorf("%w: metadata part sent twice", ErrInvalid)
			}
			if meta, err = readPart(p, "metadata", MaxManifestBytes); err != nil {
				return nil, err
			}
			haveMeta = true
		case framePartName:
			if !validName(filename) {
				return nil, fmt.Errorf("%w: frame part: bad filename %q", ErrInvalid, filename)
			}
			if _, dup := files[filename]; dup {
				return nil, fmt.Errorf("%w: frame %s sent twice", ErrInvalid, filename)
			}
			limit := min(lim.MaxFrameBytes, lim.MaxTotalBytes-total)
			data, err := readPart(p, "frame "+filename, limit)
			if errors.Is(err, ErrTooLarge) && limit < lim.MaxFrameBytes {
				return nil, fmt.Errorf("%w: frames exceed %d bytes in total", ErrTooLarge, lim.MaxTotalBytes)
			}
			if err != nil {
				return nil, err
			}
			files[filename] = data
			total += int64(len(data))
		default:
			return nil, fmt.Errorf("%w: unexpected part %q", ErrInvalid, name)
		}
	}
	if !haveMeta {
		return nil, fmt.Errorf("%w: no metadata part", ErrInvalid)
	}
	m, err := decodeManifest(meta, lim.MaxFrames)
	if err != nil {
		return nil, err
	}
	listed := make(map[string]struct{}, len(m.Frames))
	for _, f := range m.Frames {
		listed[f.File] = struct{}{}
	}
	for name := range files {
		if _, ok := listed[name]; !ok {
			return nil, fmt.Errorf("%w: frame part %q is not listed in the manifest", ErrInvalid, name)
		}
	}
	c := &Capture{Manifest: *m, Frames: make([]Frame, len(m.Frames))}
	for i, ref := range m.Frames {
		data, ok := files[ref.File]
		if !ok {
			return nil, fmt.Errorf("%w: frame %s is missing from the body", ErrInvalid, ref.File)
		}
		if err := checkJPEG(ref.File, data); err != nil {
			return nil, err
		}
		c.Frames[i] = Frame{Time: frameTime(ref.T), Data: data}
	}
	return c, nil
}

// partNames returns the form field name and the raw filename of a part's
// Content-Disposition. Unlike [multipart.Part.FileName], the filename is
// not reduced to its base name, so that a path is refused, not rewritten.
func partNames(p *multipart.Part) (name, filename string, err error) {
	disp, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return "", "", fmt.Errorf("%w: part Content-Disposition: %v", ErrInvalid, err)
	}
	if disp != "form-data" {
		return "", "", fmt.Errorf("%w: part disposition %q, want form-data", ErrInvalid, disp)
	}
	return params["name"], params["filename"], nil
}

// readPart reads a part of at most limit bytes.
func readPart(p *multipart.Part, what string, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(p, limit+1))
	if err != nil {
		return nil, bodyError(what, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s exceeds %d bytes", ErrTooLarge, what, limit)
	}
	return data, nil
}

// bodyError wraps an error met reading the body: ErrTooLarge when the
// body's size limit or the part header limit was hit, ErrInvalid
// otherwise. The original error stays wrapped.
func bodyError(what string, err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || errors.Is(err, multipart.ErrMessageTooLarge) {
		return fmt.Errorf("%w: %s: %w", ErrTooLarge, what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrInvalid, what, err)
}
