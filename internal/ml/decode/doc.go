// Package decode turns untrusted uploaded image bytes into a packed
// [raster.RGB], safely and fast.
//
// # Formats
//
// The format is detected from magic bytes, never from a file name or a
// declared content type: JPEG (baseline, progressive, grayscale, CMYK/YCCK),
// PNG (every bit depth and colour type), WebP (lossy, lossless, with alpha;
// not animated) and the first frame of a GIF. Anything else, including
// HEIC/AVIF, TIFF and BMP, is [ErrUnsupported].
//
// # Safety
//
// Limits are enforced before any pixel memory is allocated: the byte limit
// first, then the pixel limit from the dimensions in the header (an own
// parser for JPEG and WebP, image.DecodeConfig for PNG and GIF). A JPEG is
// also checked for an end-of-image marker after its first scan (a truncated
// upload is [ErrCorrupt] before decoding starts) and for an absurd number of
// progressive scans, a known CPU-exhaustion vector. Panics inside decoders
// are recovered and reported as [ErrCorrupt]. Every error wraps one of the
// sentinel errors, so callers can test it with errors.Is; [StatusCode] maps
// them to HTTP status codes.
//
// Within the limits, peak memory for an image of P pixels is about 3P bytes
// for the output, plus, for a JPEG on the pure-Go path, 1.5P-3P for
// image/jpeg's planes (and 4 bytes per coefficient, 6P-12P, while a
// progressive JPEG decodes), or, with libjpeg-turbo, about 3P for a
// progressive JPEG's coefficients even when scaling. Size MaxPixels to the
// memory of the function that runs this.
//
// # Pixels
//
// Alpha (PNG, WebP, transparent GIF pixels) is composited over white, so
// transparent backgrounds come out white rather than black. 16-bit PNG
// samples are reduced to their high byte. A GIF's first frame is placed on a
// white canvas of the GIF's logical screen size.
//
// The EXIF orientation (tag 0x0112) is read from a JPEG APP1 "Exif" segment
// or a WebP "EXIF" chunk and applied to the pixels, so the returned image is
// upright. PNG eXIf chunks are ignored.
//
// # Scaling
//
// When [Options.MinSide] is positive, the image is reduced by the smallest
// factor M/8 (M = 1..8) whose scaled shorter side is still at least MinSide,
// with each side rounded up (ceil(side*M/8)), exactly as libjpeg-turbo
// scales. A JPEG on the libjpeg-turbo path is scaled in the DCT domain, which
// makes decoding much cheaper; every other image (and JPEG on the pure-Go
// path) is decoded at full size and then reduced by a box filter to the same
// dimensions, so both paths return images of identical size. The
// destination pixel i covers source pixels i*8/M to (i+1)*8/M on both paths,
// so [Result.Scale] (M/8) maps coordinates back to the original pixels.
//
// # libjpeg-turbo
//
// With cgo enabled and without the noturbo build tag, JPEG is decoded by
// libjpeg-turbo's TurboJPEG API, linked statically so the binary needs no
// shared library at run time. JPEGs that TurboJPEG cannot convert to RGB
// (CMYK, YCCK) or that it fails on are decoded by image/jpeg instead.
// libjpeg-turbo is lenient: it returns pixels, with a warning, for damaged
// files. This package treats the warnings that mean the pixels are damaged
// (premature end of file or of entropy-coded data, bad Huffman or arithmetic
// codes, lost restart markers) as [ErrCorrupt], like image/jpeg does, and
// accepts the benign ones (extraneous bytes before a marker, an unknown JFIF
// revision, an odd progression sequence, and so on), which are common in
// files from real cameras and editors; the first such warning is reported in
// [Result.Warning]. Trailing bytes after the end-of-image marker are ignored
// by both paths.
package decode
