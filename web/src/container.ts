// The capture container of internal/core/capture: a ZIP holding
// capture.json (the manifest) and one JPEG per frame.

import { buildZip, Bytes, ZipEntry } from "./zip";

/** Frame is one captured JPEG and its time in ms since the first frame. */
export interface Frame {
  data: Bytes;
  t: number;
}

/** DeviceInfo is the optional, informative deviceInfo of the manifest. */
export interface DeviceInfo {
  osType?: string;
  osVersion?: string;
  deviceModel?: string;
}

/** Manifest is the container's capture.json. */
export interface Manifest {
  version: 1;
  sessionId: string;
  serverRandom: string;
  frames: { file: string; t: number }[];
  deviceInfo?: DeviceInfo;
}

/** manifestName is the name of the manifest entry. */
export const manifestName = "capture.json";

/** maxFrames is the most frames the server accepts in a capture. */
export const maxFrames = 150;

/** frameName names frame i: 000.jpg, 001.jpg, ... */
export function frameName(i: number): string {
  return String(i).padStart(3, "0") + ".jpg";
}

// The same checks the server makes (manifest.go), so a bad capture fails
// here with a clear message instead of at the server.
function checkText(field: string, s: string, min: number, max: number): void {
  const n = new TextEncoder().encode(s).length;
  if (n < min || n > max) {
    throw new Error(`capture: ${field} has ${n} bytes, want ${min}..${max}`);
  }
  if (/[\u0000-\u001f\u007f-\u009f]/.test(s)) {
    throw new Error(`capture: ${field} holds a control character`);
  }
}

/** buildManifest returns the manifest of frames for the session's attempt. */
export function buildManifest(sessionId: string, serverRandom: string, frames: Frame[], deviceInfo?: DeviceInfo): Manifest {
  checkText("sessionId", sessionId, 1, 256);
  checkText("serverRandom", serverRandom, 1, 256);
  if (frames.length === 0) {
    throw new Error("capture: no frames");
  }
  const m: Manifest = { version: 1, sessionId, serverRandom, frames: [] };
  frames.forEach((f, i) => {
    const t = Math.round(f.t);
    if (!(t >= 0 && t <= 3600000) || (i > 0 && t <= m.frames[i - 1].t)) {
      throw new Error(`capture: frame ${i}: time ${f.t} ms is not after the previous one`);
    }
    if (f.data.length < 2 || f.data[0] !== 0xff || f.data[1] !== 0xd8) {
      throw new Error(`capture: frame ${i} is not a JPEG`);
    }
    m.frames.push({ file: frameName(i), t });
  });
  if (deviceInfo) {
    const d: DeviceInfo = {};
    for (const k of ["osType", "osVersion", "deviceModel"] as const) {
      const v = deviceInfo[k];
      if (v) {
        checkText("deviceInfo." + k, v, 0, 128);
        d[k] = v;
      }
    }
    m.deviceInfo = d;
  }
  return m;
}

/**
 * buildContainer returns the capture container (a ZIP) of frames for the
 * session's attempt: capture.json first, then the frames in order.
 */
export function buildContainer(sessionId: string, serverRandom: string, frames: Frame[], deviceInfo?: DeviceInfo): Bytes {
  const m = buildManifest(sessionId, serverRandom, frames, deviceInfo);
  const entries: ZipEntry[] = [{ name: manifestName, data: new TextEncoder().encode(JSON.stringify(m)) }];
  frames.forEach((f, i) => entries.push({ name: m.frames[i].file, data: f.data }));
  return buildZip(entries);
}
