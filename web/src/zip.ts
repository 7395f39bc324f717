// A minimal ZIP writer: stored (uncompressed) entries, as the capture
// container of internal/core/capture accepts them. JPEG frames do not
// compress, and the manifest is small, so no deflate is needed.

/** Bytes is a byte array over an ArrayBuffer (what fetch, Blob and WebCrypto take). */
export type Bytes = Uint8Array<ArrayBuffer>;

const crcTable: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    t[n] = c >>> 0;
  }
  return t;
})();

/** crc32 is the CRC-32 (IEEE) of data, as ZIP records it. */
export function crc32(data: Bytes): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) {
    c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** ZipEntry is one file of an archive: an ASCII name and its bytes. */
export interface ZipEntry {
  name: string;
  data: Bytes;
}

// DOS date of 1980-01-01 (the earliest a ZIP can say) and time 00:00.
const dosDate = (0 << 9) | (1 << 5) | 1;
const dosTime = 0;
const versionNeeded = 20;

/**
 * buildZip writes a ZIP archive of entries, every one stored (method 0),
 * with sizes and CRC-32 in the local headers (no data descriptors).
 */
export function buildZip(entries: ZipEntry[]): Bytes {
  const enc = new TextEncoder();
  const names = entries.map((e) => enc.encode(e.name));
  let size = 22; // end of central directory
  entries.forEach((e, i) => {
    size += 30 + names[i].length + e.data.length + 46 + names[i].length;
  });
  if (size > 0xffffffff || entries.length > 0xffff) {
    throw new Error("zip: archive too large");
  }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let p = 0;
  const u16 = (v: number) => {
    dv.setUint16(p, v, true);
    p += 2;
  };
  const u32 = (v: number) => {
    dv.setUint32(p, v >>> 0, true);
    p += 4;
  };
  const bytes = (b: Uint8Array) => {
    out.set(b, p);
    p += b.length;
  };
  const offsets: number[] = [];
  const crcs: number[] = [];
  entries.forEach((e, i) => {
    offsets.push(p);
    crcs.push(crc32(e.data));
    u32(0x04034b50);
    u16(versionNeeded);
    u16(0); // flags
    u16(0); // method: stored
    u16(dosTime);
    u16(dosDate);
    u32(crcs[i]);
    u32(e.data.length);
    u32(e.data.length);
    u16(names[i].length);
    u16(0); // extra
    bytes(names[i]);
    bytes(e.data);
  });
  const cd = p;
  entries.forEach((e, i) => {
    u32(0x02014b50);
    u16(versionNeeded); // made by
    u16(versionNeeded);
    u16(0);
    u16(0);
    u16(dosTime);
    u16(dosDate);
    u32(crcs[i]);
    u32(e.data.length);
    u32(e.data.length);
    u16(names[i].length);
    u16(0); // extra
    u16(0); // comment
    u16(0); // disk
    u16(0); // internal attributes
    u32(0); // external attributes
    u32(offsets[i]);
    bytes(names[i]);
  });
  const cdSize = p - cd;
  u32(0x06054b50);
  u16(0);
  u16(0);
  u16(entries.length);
  u16(entries.length);
  u32(cdSize);
  u32(cd);
  u16(0);
  return out;
}
