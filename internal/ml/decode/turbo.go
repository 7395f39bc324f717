//go:build cgo && !noturbo

package decode

/*
#cgo LDFLAGS: -l:libturbojpeg.a
#include <string.h>
#include <turbojpeg.h>

enum { FL_OK = 0, FL_WARNING = 1, FL_FATAL = 2 };

// fl_result carries a call's outcome back to Go. The message is copied
// here, in the same C call, because TurboJPEG keeps it in thread-local
// storage and the calling goroutine may change threads between cgo calls.
typedef struct {
	int width, height, subsamp, colorspace;
	int status;
	char msg[200];
} fl_result;

static void fl_status(tjhandle h, int rc, fl_result *r) {
	const char *s;
	if (rc == 0) {
		r->status = FL_OK;
		r->msg[0] = 0;
		return;
	}
	r->status = tjGetErrorCode(h) == TJERR_WARNING ? FL_WARNING : FL_FATAL;
	s = tjGetErrorStr2(h);
	strncpy(r->msg, s ? s : "unknown error", sizeof r->msg - 1);
	r->msg[sizeof r->msg - 1] = 0;
}

static void fl_header(tjhandle h, const unsigned char *buf, unsigned long n, fl_result *r) {
	fl_status(h, tjDecompressHeader3(h, buf, n, &r->width, &r->height, &r->subsamp, &r->colorspace), r);
}

static void fl_decompress(tjhandle h, const unsigned char *buf, unsigned long n,
                          unsigned char *dst, int w, int ht, fl_result *r) {
	fl_status(h, tjDecompress2(h, buf, n, dst, w, w * 3, ht, TJPF_RGB, TJFLAG_LIMITSCANS), r);
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/facelambda/facelambda/internal/ml/raster"
)

// Turbo reports whether JPEG decoding uses libjpeg-turbo: true when built
// with cgo and without the noturbo tag.
const Turbo = true

// decompressor owns a TurboJPEG decompression handle. Handles are not safe
// for concurrent use, so each call takes one from a pool; the handle is
// destroyed when the pool drops its decompressor and the GC collects it.
type decompressor struct {
	h C.tjhandle
}

var decompressors = sync.Pool{
	New: func() any {
		h := C.tjInitDecompress()
		if h == nil {
			return nil
		}
		d := &decompressor{h: h}
		runtime.AddCleanup(d, func(h C.tjhandle) { C.tjDestroy(h) }, h)
		return d
	},
}

// turboEighths[m] reports whether TurboJPEG can scale by m/8.
var turboEighths = sync.OnceValue(func() (s [9]bool) {
	s[8] = true
	var n C.int
	f := C.tjGetScalingFactors(&n)
	if f == nil {
		return s
	}
	for _, sf := range unsafe.Slice(f, int(n)) {
		num, denom := int(sf.num), int(sf.denom)
		if denom > 0 && 8*num%denom == 0 {
			if m := 8 * num / denom; m >= 1 && m <= 8 {
				s[m] = true
			}
		}
	}
	return s
})

// damagingWarnings are the libjpeg warnings that mean the returned pixels
// are partly made up: the data ended early or entropy decoding lost sync.
var damagingWarnings = []string{
	"Premature end of JPEG file",    // JWRN_JPEG_EOF
	"premature end of data segment", // JWRN_HIT_MARKER
	"bad Huffman code",              // JWRN_HUFF_BAD_CODE
	"bad arithmetic code",           // JWRN_ARITH_BAD_CODE
	"instead of RST",                // JWRN_MUST_RESYNC
}

// turboDecode decodes a JPEG with libjpeg-turbo, scaled by eighths/8 in the
// DCT domain. Errors wrapping errTurboFallback ask for image/jpeg instead;
// the others are final. A benign libjpeg warning is returned with the image.
func turboDecode(data []byte, h jpegHeader, eighths int) (*raster.RGB, string, error) {
	d, _ := decompressors.Get().(*decompressor)
	if d == nil {
		return nil, "", fmt.Errorf("%w: cannot create a decompressor", errTurboFallback)
	}
	defer runtime.KeepAlive(d)
	src := (*C.uchar)(unsafe.Pointer(&data[0]))
	n := C.ulong(len(data))

	var r C.fl_result
	C.fl_header(d.h, src, n, &r)
	if r.status == C.FL_FATAL {
		return nil, "", fmt.Errorf("%w: %s", errTurboFallback, C.GoString(&r.msg[0]))
	}
	// A warning here still fills in the header fields; decompression
	// reports it again and it is judged there.
	if int(r.width) != h.width || int(r.height) != h.height {
		decompressors.Put(d)
		return nil, "", fmt.Errorf("%w: JPEG frame is %dx%d to libjpeg-turbo but %dx%d to the header parser",
			ErrCorrupt, r.width, r.height, h.width, h.height)
	}
	if r.colorspace == C.TJCS_CMYK || r.colorspace == C.TJCS_YCCK {
		decompressors.Put(d)
		return nil, "", errTurboColorspace
	}

	if !turboEighths()[eighths] {
		eighths = 8
	}
	img := raster.New(scaled(h.width, eighths), scaled(h.height, eighths))
	C.fl_decompress(d.h, src, n, (*C.uchar)(unsafe.Pointer(&img.Pix[0])), C.int(img.W), C.int(img.H), &r)
	msg := C.GoString(&r.msg[0])
	switch r.status {
	case C.FL_OK:
		decompressors.Put(d)
		return img, "", nil
	case C.FL_WARNING:
		// The decompression finished; the handle is reusable.
		decompressors.Put(d)
		for _, w := range damagingWarnings {
			if strings.Contains(msg, w) {
				return nil, "", fmt.Errorf("%w: JPEG data is damaged (libjpeg-turbo: %s)", ErrCorrupt, msg)
			}
		}
		return img, msg, nil
	}
	// After a fatal error the handle is dropped rather than reused.
	return nil, "", fmt.Errorf("%w: %s", errTurboFallback, msg)
}
