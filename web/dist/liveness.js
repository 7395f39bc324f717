// web/src/api.ts
var ApiError = class extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
    this.name = "ApiError";
  }
};
var Api = class {
  constructor(apiBase, sessionId, token) {
    this.token = token;
    this.base = apiBase.replace(/\/+$/, "") + "/v2/bio-sessions/" + encodeURIComponent(sessionId);
  }
  async call(method, path, body, contentType) {
    const headers = { Authorization: "Bearer " + this.token };
    if (contentType) {
      headers["Content-Type"] = contentType;
    }
    let res;
    try {
      res = await fetch(this.base + path, { method, headers, body, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" });
    } catch (e) {
      throw new ApiError(0, "NETWORK_ERROR", "the service could not be reached: " + String(e));
    }
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!res.ok) {
      const code = json && typeof json.code === "string" ? json.code : "HTTP_" + res.status;
      const msg = json && typeof json.message === "string" ? json.message : res.statusText;
      throw new ApiError(res.status, code, msg);
    }
    return json;
  }
  /** initParameters starts the attempt: the challenges and the session key. */
  initParameters(req = {}) {
    return this.call("POST", "/init-liveness-parameters", JSON.stringify(req), "application/json");
  }
  /** submitSealed sends a sealed capture to replay-liveness-metadata. */
  submitSealed(encryptedMetaData, encryptedMasterSecret) {
    const form = new FormData();
    form.append("encryptedMetaData", new Blob([encryptedMetaData], { type: "application/octet-stream" }), "metadata.bin");
    form.append("encryptedMasterSecret", new Blob([encryptedMasterSecret], { type: "application/octet-stream" }), "secret.bin");
    return this.call("POST", "/replay-liveness-metadata", form);
  }
  /** createUpload asks for a presigned PUT for the capture container. */
  createUpload() {
    return this.call("POST", "/liveness-uploads");
  }
  /** result reads the attempt's result ({livenessMode} of the parameters). */
  result(mode) {
    return this.call("GET", "/liveness-challenge-result/" + encodeURIComponent(mode));
  }
};
async function put(u, data) {
  let res;
  try {
    res = await fetch(u.url, { method: u.method || "PUT", headers: u.headers || { "Content-Type": "application/zip" }, body: data, credentials: "omit", referrerPolicy: "no-referrer" });
  } catch (e) {
    throw new ApiError(0, "UPLOAD_FAILED", "the upload could not be sent: " + String(e));
  }
  if (!res.ok) {
    throw new ApiError(res.status, "UPLOAD_FAILED", "the upload was refused with HTTP " + res.status);
  }
}
function modeOf(type) {
  return type === "MEDIUM" ? "LIVENESS_MEDIUM" : "LIVENESS_HIGH";
}

// web/src/camera.ts
var CameraError = class extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
    this.name = "CameraError";
  }
};
async function openCamera(video) {
  const md = navigator.mediaDevices;
  if (!md || typeof md.getUserMedia !== "function") {
    throw new CameraError("UNSUPPORTED_BROWSER", "getUserMedia is not available (insecure page or old browser)");
  }
  let stream;
  try {
    stream = await md.getUserMedia({
      audio: false,
      video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } }
    });
  } catch (e) {
    const name = e instanceof Error ? e.name : "";
    switch (name) {
      case "NotAllowedError":
      case "SecurityError":
        throw new CameraError("CAMERA_DENIED", "camera access was refused");
      case "NotFoundError":
      case "OverconstrainedError":
        throw new CameraError("NO_CAMERA", "no camera was found");
      case "NotReadableError":
      case "AbortError":
        throw new CameraError("CAMERA_BUSY", "the camera could not be started");
      default:
        throw new CameraError("NO_CAMERA", "the camera could not be opened: " + String(e));
    }
  }
  video.muted = true;
  video.playsInline = true;
  video.srcObject = stream;
  try {
    await video.play();
  } catch {
  }
  await waitFor(() => video.videoWidth > 0 && video.videoHeight > 0, 5e3);
  if (video.videoWidth === 0) {
    stopCamera(stream);
    throw new CameraError("CAMERA_BUSY", "the camera gives no picture");
  }
  return stream;
}
function stopCamera(stream) {
  stream?.getTracks().forEach((t) => t.stop());
}
async function waitFor(ok, ms) {
  const end = performance.now() + ms;
  while (!ok() && performance.now() < end) {
    await sleep(50);
  }
}
function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
var Grabber = class {
  constructor(video, interval, maxFrames2, maxSide = 640, quality = 0.8) {
    this.video = video;
    this.interval = interval;
    this.maxFrames = maxFrames2;
    this.quality = quality;
    this.pending = [];
    this.frames = [];
    this.timer = 0;
    this.t0 = -1;
    this.last = -1;
    const w = video.videoWidth;
    const h = video.videoHeight;
    const scale = Math.min(1, maxSide / Math.max(w, h));
    this.canvas = document.createElement("canvas");
    this.canvas.width = Math.round(w * scale);
    this.canvas.height = Math.round(h * scale);
    const ctx = this.canvas.getContext("2d");
    if (!ctx) {
      throw new Error("capture: no 2D canvas");
    }
    this.ctx = ctx;
  }
  /** start grabs a frame now and then every interval ms. */
  start() {
    this.grab();
    this.timer = window.setInterval(() => this.grab(), this.interval);
  }
  grab() {
    if (this.frames.length >= this.maxFrames) {
      return;
    }
    const now = performance.now();
    if (this.t0 < 0) {
      this.t0 = now;
    }
    const t = Math.round(now - this.t0);
    if (this.last >= 0 && t <= this.last) {
      return;
    }
    this.last = t;
    this.ctx.drawImage(this.video, 0, 0, this.canvas.width, this.canvas.height);
    const i = this.frames.length;
    this.frames.push(null);
    this.pending.push(
      new Promise((resolve) => {
        this.canvas.toBlob(
          (b) => {
            if (!b) {
              resolve();
              return;
            }
            b.arrayBuffer().then(
              (buf) => {
                this.frames[i] = { data: new Uint8Array(buf), t };
                resolve();
              },
              () => resolve()
            );
          },
          "image/jpeg",
          this.quality
        );
      })
    );
  }
  /** stop ends the capture and returns the frames, in order. */
  async stop() {
    window.clearInterval(this.timer);
    await Promise.all(this.pending);
    return this.frames.filter((f) => f !== null);
  }
};
function faceDetector() {
  const FD = globalThis.FaceDetector;
  if (typeof FD !== "function") {
    return null;
  }
  try {
    return new FD({ fastMode: true, maxDetectedFaces: 2 });
  } catch {
    return null;
  }
}
async function faceHint(fd, video) {
  try {
    const faces = await fd.detect(video);
    if (faces.length === 0) {
      return "none";
    }
    const h = Math.max(...faces.map((f) => f.boundingBox.height));
    return h < video.videoHeight * 0.3 ? "small" : "ok";
  } catch {
    return null;
  }
}

// web/src/zip.ts
var crcTable = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      c = c & 1 ? 3988292384 ^ c >>> 1 : c >>> 1;
    }
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(data) {
  let c = 4294967295;
  for (let i = 0; i < data.length; i++) {
    c = crcTable[(c ^ data[i]) & 255] ^ c >>> 8;
  }
  return (c ^ 4294967295) >>> 0;
}
var dosDate = 0 << 9 | 1 << 5 | 1;
var dosTime = 0;
var versionNeeded = 20;
function buildZip(entries) {
  const enc = new TextEncoder();
  const names = entries.map((e) => enc.encode(e.name));
  let size = 22;
  entries.forEach((e, i) => {
    size += 30 + names[i].length + e.data.length + 46 + names[i].length;
  });
  if (size > 4294967295 || entries.length > 65535) {
    throw new Error("zip: archive too large");
  }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let p = 0;
  const u16 = (v) => {
    dv.setUint16(p, v, true);
    p += 2;
  };
  const u32 = (v) => {
    dv.setUint32(p, v >>> 0, true);
    p += 4;
  };
  const bytes = (b) => {
    out.set(b, p);
    p += b.length;
  };
  const offsets = [];
  const crcs = [];
  entries.forEach((e, i) => {
    offsets.push(p);
    crcs.push(crc32(e.data));
    u32(67324752);
    u16(versionNeeded);
    u16(0);
    u16(0);
    u16(dosTime);
    u16(dosDate);
    u32(crcs[i]);
    u32(e.data.length);
    u32(e.data.length);
    u16(names[i].length);
    u16(0);
    bytes(names[i]);
    bytes(e.data);
  });
  const cd = p;
  entries.forEach((e, i) => {
    u32(33639248);
    u16(versionNeeded);
    u16(versionNeeded);
    u16(0);
    u16(0);
    u16(dosTime);
    u16(dosDate);
    u32(crcs[i]);
    u32(e.data.length);
    u32(e.data.length);
    u16(names[i].length);
    u16(0);
    u16(0);
    u16(0);
    u16(0);
    u32(0);
    u32(offsets[i]);
    bytes(names[i]);
  });
  const cdSize = p - cd;
  u32(101010256);
  u16(0);
  u16(0);
  u16(entries.length);
  u16(entries.length);
  u32(cdSize);
  u32(cd);
  u16(0);
  return out;
}

// web/src/container.ts
var manifestName = "capture.json";
var maxFrames = 150;
function frameName(i) {
  return String(i).padStart(3, "0") + ".jpg";
}
function checkText(field, s, min, max) {
  const n = new TextEncoder().encode(s).length;
  if (n < min || n > max) {
    throw new Error(`capture: ${field} has ${n} bytes, want ${min}..${max}`);
  }
  if (/[\u0000-\u001f\u007f-\u009f]/.test(s)) {
    throw new Error(`capture: ${field} holds a control character`);
  }
}
function buildManifest(sessionId, serverRandom, frames, deviceInfo2) {
  checkText("sessionId", sessionId, 1, 256);
  checkText("serverRandom", serverRandom, 1, 256);
  if (frames.length === 0) {
    throw new Error("capture: no frames");
  }
  const m = { version: 1, sessionId, serverRandom, frames: [] };
  frames.forEach((f, i) => {
    const t = Math.round(f.t);
    if (!(t >= 0 && t <= 36e5) || i > 0 && t <= m.frames[i - 1].t) {
      throw new Error(`capture: frame ${i}: time ${f.t} ms is not after the previous one`);
    }
    if (f.data.length < 2 || f.data[0] !== 255 || f.data[1] !== 216) {
      throw new Error(`capture: frame ${i} is not a JPEG`);
    }
    m.frames.push({ file: frameName(i), t });
  });
  if (deviceInfo2) {
    const d = {};
    for (const k of ["osType", "osVersion", "deviceModel"]) {
      const v = deviceInfo2[k];
      if (v) {
        checkText("deviceInfo." + k, v, 0, 128);
        d[k] = v;
      }
    }
    m.deviceInfo = d;
  }
  return m;
}
function buildContainer(sessionId, serverRandom, frames, deviceInfo2) {
  const m = buildManifest(sessionId, serverRandom, frames, deviceInfo2);
  const entries = [{ name: manifestName, data: new TextEncoder().encode(JSON.stringify(m)) }];
  frames.forEach((f, i) => entries.push({ name: m.frames[i].file, data: f.data }));
  return buildZip(entries);
}

// web/src/messages.ts
var challengePrompts = {
  TURN_LEFT: { text: "Turn your head to your left, then look back at the camera", arrow: "left" },
  TURN_RIGHT: { text: "Turn your head to your right, then look back at the camera", arrow: "right" },
  LOOK_UP: { text: "Look up, then look back at the camera", arrow: "up" },
  LOOK_DOWN: { text: "Look down, then look back at the camera", arrow: "down" },
  BLINK: { text: "Blink slowly" }
};
function promptFor(action) {
  return challengePrompts[action] || { text: "Follow the instruction on the screen" };
}
var prompts = {
  idle: "Press Start when you are ready.",
  camera: "Allow the use of your camera when your browser asks.",
  fit: "Fit your face in the oval",
  closer: "Move closer",
  ready: "Fit your face in the oval and look at the camera",
  sealing: "Securing your video",
  uploading: "Sending",
  waiting: "Checking"
};
var statusSentences = {
  SUCCESS: "You're verified.",
  FAILED: "We could not verify you.",
  SPOOF: "We could not verify you.",
  TIMEOUT: "We could not verify you: the time to do the steps ran out.",
  ERROR: "We could not verify you: something went wrong while checking your video."
};
function adviceFor(status, diagnostic) {
  if (status === "SUCCESS") {
    return "";
  }
  const d = (diagnostic || "").toLowerCase();
  if (status === "SPOOF") {
    return "Make sure it is you in front of the camera, in good light, and try again.";
  }
  if (status === "TIMEOUT") {
    return "Try again, and do each step when it is shown.";
  }
  if (d.includes("face not visible") || d === "no face") {
    return "Move closer, keep your whole face in the oval, and try again.";
  }
  if (d.includes("multiple faces")) {
    return "Make sure only you are in front of the camera, and try again.";
  }
  if (d.includes("face changed")) {
    return "Keep the same person in front of the camera throughout, and try again.";
  }
  if (d.includes("not performed") || d.includes("wrong challenge order") || d.includes("no head movement")) {
    return "Try again: do each step when it is shown, moving your head clearly, then look back at the camera.";
  }
  if (d.includes("too few frames") || d.includes("too far apart") || d.includes("timestamps")) {
    return "Your device could not film steadily. Close other apps or tabs and try again.";
  }
  return "Try again in good light, with your face in the oval.";
}
var errorSentences = {
  // The page's own codes.
  CAMERA_DENIED: "We cannot use your camera. Allow camera access for this page in your browser's settings, then reload the page.",
  NO_CAMERA: "We could not find a camera. Connect a camera, or use a device that has one, then reload the page.",
  CAMERA_BUSY: "Your camera is in use by another app. Close it, then reload the page.",
  UNSUPPORTED_BROWSER: "This browser cannot film here. Use a recent browser, on a secure (https) page.",
  MISSING_PARAMETERS: "This link is incomplete. Ask for a new one.",
  UPLOAD_FAILED: "We could not send your video. Check your connection and try again.",
  NETWORK_ERROR: "We could not reach the service. Check your connection and try again.",
  CAPTURE_FAILED: "We could not film you. Reload the page and try again.",
  PAGE_HIDDEN: "The page must stay open and in front while you do the steps. Ask for a new link and try again.",
  RESULT_TIMEOUT: "Checking your video is taking too long. Try again later.",
  // The API's codes (docs/api.md).
  TOKEN_EXPIRED: "This link has expired. Ask for a new one.",
  TOKEN_INVALID: "This link is not valid. Ask for a new one.",
  TOKEN_REPLAYED: "This link was already used. Ask for a new one.",
  TOKEN_SCOPE: "This link cannot be used here. Ask for a new one.",
  NOT_FOUND: "This verification no longer exists. Ask for a new link.",
  LIVENESS_EXPIRED: "The time to do the steps ran out. Ask for a new link and try again.",
  TOO_MANY_ATTEMPTS: "There have been too many attempts. Ask for a new link.",
  LIVENESS_IN_PROGRESS: "A verification is already being checked. Wait a moment, then ask for a new link.",
  REPLAYED: "This video was already sent. Ask for a new link.",
  WRONG_SERVER_RANDOM: "This verification was restarted elsewhere. Ask for a new link.",
  WRONG_SESSION: "This link does not match this verification. Ask for a new one.",
  DECRYPTION_FAILED: "Your video could not be read by the service. Ask for a new link and try again.",
  REQUEST_TOO_LARGE: "Your video is too large to send. Try again in a steadier position.",
  INVALID_IMAGE: "Your camera's pictures could not be read. Try another camera or browser.",
  INVALID_REQUEST: "Your video could not be read by the service. Try again with another browser.",
  SERVER_BUSY: "The service is busy. Wait a minute and try again.",
  GPU_UNAVAILABLE: "The service is busy. Wait a minute and try again.",
  NOT_CONFIGURED: "Face verification is not available at the moment.",
  INTERNAL_ERROR: "Something went wrong on our side. Try again later."
};
function sentenceFor(code) {
  return errorSentences[code] || "Something went wrong. Try again later, or ask for a new link.";
}

// web/src/seal.ts
var label = "facelambda-capture-v1";
var magic = "FLC1";
var nonceSize = 12;
function sealAD(sessionId, serverRandom) {
  const enc = new TextEncoder();
  const parts = [enc.encode(label), new Uint8Array([0]), enc.encode(sessionId), new Uint8Array([0]), enc.encode(serverRandom)];
  return concat(parts);
}
function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
function webCrypto() {
  const c = globalThis.crypto;
  if (!c || !c.subtle) {
    throw new Error("seal: WebCrypto is not available (the page must be served over https)");
  }
  return c.subtle;
}
async function sealCapture(jwk, sessionId, serverRandom, container) {
  const subtle = webCrypto();
  if (jwk.kty !== "RSA" || !jwk.n || !jwk.e) {
    throw new Error("seal: the session key is not an RSA JWK");
  }
  const pub = await subtle.importKey(
    "jwk",
    { kty: "RSA", n: jwk.n, e: jwk.e, alg: "RSA-OAEP-256", ext: true },
    { name: "RSA-OAEP", hash: "SHA-256" },
    false,
    ["encrypt"]
  );
  const secret = globalThis.crypto.getRandomValues(new Uint8Array(32));
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(nonceSize));
  const aes = await subtle.importKey("raw", secret, { name: "AES-GCM" }, false, ["encrypt"]);
  const enc = new TextEncoder();
  const [wrapped, sealed] = await Promise.all([
    subtle.encrypt({ name: "RSA-OAEP", label: enc.encode(label) }, pub, secret),
    subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: sealAD(sessionId, serverRandom), tagLength: 128 }, aes, container)
  ]);
  secret.fill(0);
  return {
    encryptedMetaData: concat([enc.encode(magic), nonce, new Uint8Array(sealed)]),
    encryptedMasterSecret: new Uint8Array(wrapped)
  };
}

// web/src/liveness.ts
var defaultChallengeMs = 3e3;
var defaultReadyMs = 1500;
var frameIntervalMs = 100;
var pendingStatuses = ["INITIALIZED", "IN_PROGRESS"];
function el(tag, attrs = {}, text = "") {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    e.setAttribute(k, v);
  }
  if (text) {
    e.textContent = text;
  }
  return e;
}
var svgNS = "http://www.w3.org/2000/svg";
function svg(tag, attrs) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    e.setAttribute(k, v);
  }
  return e;
}
function buildUi(root) {
  root.replaceChildren();
  root.classList.add("fl-liveness");
  const stage = el("div", { class: "fl-stage", "aria-hidden": "true" });
  const video = el("video", { class: "fl-video", muted: "", playsinline: "", autoplay: "" });
  const overlay = svg("svg", { class: "fl-overlay", viewBox: "0 0 300 400", preserveAspectRatio: "xMidYMid slice" });
  const mask = svg("mask", { id: "fl-oval-mask" });
  mask.append(svg("rect", { x: "0", y: "0", width: "300", height: "400", fill: "white" }), svg("ellipse", { cx: "150", cy: "190", rx: "100", ry: "135", fill: "black" }));
  const defs = svg("defs", {});
  defs.append(mask);
  overlay.append(
    defs,
    svg("rect", { class: "fl-dim", x: "0", y: "0", width: "300", height: "400", mask: "url(#fl-oval-mask)" }),
    svg("ellipse", { class: "fl-oval", cx: "150", cy: "190", rx: "100", ry: "135" })
  );
  const arrow = svg("svg", { class: "fl-arrow", viewBox: "0 0 100 100" });
  arrow.append(svg("path", { d: "M60 15 L25 50 L60 85 M25 50 L90 50" }));
  stage.append(video, overlay, arrow);
  const step = el("p", { class: "fl-step", id: "step" });
  const prompt = el("p", { class: "fl-prompt", id: "prompt", "aria-live": "assertive", "aria-atomic": "true" });
  const start = el("button", { type: "button", id: "start", class: "fl-button" }, "Start");
  const result = el("div", { id: "result", class: "fl-result", role: "status", hidden: "" });
  const error = el("div", { id: "error", class: "fl-error", role: "alert", hidden: "" });
  const next = el("a", { id: "continue", class: "fl-button", hidden: "" }, "Continue");
  root.append(stage, step, prompt, start, result, error, next);
  return { root, video, stage, arrow, step, prompt, start, result, error, next };
}
var Client = class {
  constructor(o, ui, api) {
    this.o = o;
    this.ui = ui;
    this.api = api;
    this.stream = null;
  }
  setState(s, prompt) {
    if ((s === "done" || s === "error") && this.o.returnUrl) {
      this.ui.next.href = this.o.returnUrl;
      this.ui.next.hidden = false;
    }
    document.body.dataset.state = s;
    this.ui.root.dataset.state = s;
    if (prompt !== void 0) {
      this.ui.prompt.textContent = prompt;
    }
    this.o.onState?.(s);
  }
  setChallenge(action, i = 0, n = 0) {
    const { arrow, step, root } = this.ui;
    if (action === null) {
      delete document.body.dataset.challenge;
      delete root.dataset.challenge;
      arrow.removeAttribute("data-dir");
      step.textContent = "";
      return;
    }
    document.body.dataset.challenge = action;
    root.dataset.challenge = action;
    const p = promptFor(action);
    if (p.arrow) {
      arrow.setAttribute("data-dir", p.arrow);
    } else {
      arrow.removeAttribute("data-dir");
    }
    step.textContent = `Step ${i + 1} of ${n}`;
    this.ui.prompt.textContent = p.text;
  }
  async run() {
    const { ui } = this;
    ui.start.disabled = true;
    ui.start.hidden = true;
    ui.result.hidden = true;
    ui.error.hidden = true;
    try {
      this.setState("camera", prompts.camera);
      this.stream = await openCamera(ui.video);
      ui.stage.classList.add("fl-live");
      const params = await this.api.initParameters(this.o.parameters);
      const frames = await this.perform(params);
      stopCamera(this.stream);
      this.stream = null;
      ui.stage.classList.remove("fl-live");
      await this.send(params, frames);
      const res = await this.waitResult(modeOf(params.type));
      return this.done(res);
    } catch (e) {
      return this.fail(e);
    } finally {
      stopCamera(this.stream);
      this.stream = null;
      this.setChallenge(null);
    }
  }
  /** perform shows "get ready", then each challenge, while filming. */
  async perform(p) {
    const { ui, o } = this;
    const n = p.challenges.length;
    if (n === 0) {
      throw new ApiError(0, "INTERNAL_ERROR", "the parameters have no challenge");
    }
    let per = o.challengeMs && o.challengeMs > 0 ? o.challengeMs : defaultChallengeMs;
    if (p.timeout > 0) {
      per = Math.min(per, Math.floor((p.timeout - 1e3) / n));
    }
    per = Math.max(per, 500);
    const interval = Math.max(frameIntervalMs, Math.ceil(n * per / (maxFrames - 2)));
    const readyMs = Math.min(Math.max(o.readyMs ?? defaultReadyMs, 0), 2e3);
    this.setState("ready", prompts.ready);
    ui.step.textContent = n === 1 ? "Get ready: one short step" : `Get ready: ${n} short steps`;
    await this.guide(readyMs);
    const grabber = new Grabber(ui.video, interval, maxFrames);
    let hidden = false;
    const onVisibility = () => {
      hidden = hidden || document.hidden;
    };
    document.addEventListener("visibilitychange", onVisibility);
    this.setState("challenge");
    grabber.start();
    for (let i = 0; i < n; i++) {
      this.setChallenge(p.challenges[i], i, n);
      await sleep(per);
    }
    const frames = await grabber.stop();
    document.removeEventListener("visibilitychange", onVisibility);
    this.setChallenge(null);
    if (hidden) {
      throw new ApiError(0, "PAGE_HIDDEN", "the page was hidden during the challenges");
    }
    if (frames.length < 2) {
      throw new ApiError(0, "CAPTURE_FAILED", "the camera gave no frames");
    }
    return frames;
  }
  /** guide waits ms, telling the user to come closer when the browser can see faces. */
  async guide(ms) {
    const fd = faceDetector();
    const end = performance.now() + ms;
    while (performance.now() < end) {
      if (fd) {
        const h = await faceHint(fd, this.ui.video);
        if (h === "small") {
          this.ui.prompt.textContent = prompts.closer;
        } else if (h === "none") {
          this.ui.prompt.textContent = prompts.fit;
        } else if (h === "ok") {
          this.ui.prompt.textContent = prompts.ready;
        }
      }
      await sleep(Math.min(250, Math.max(0, end - performance.now())));
    }
  }
  /** send builds, seals and sends the capture (sealed in the request, or uploaded when large). */
  async send(p, frames) {
    this.setState("sealing", prompts.sealing);
    const container = buildContainer(this.o.sessionId, p.serverRandom, frames, deviceInfo());
    const limit = this.o.directLimitBytes ?? 4e6;
    if (container.length + 32 <= limit) {
      const sealed = await sealCapture(p.publicKey, this.o.sessionId, p.serverRandom, container);
      this.setState("uploading", prompts.uploading);
      await this.api.submitSealed(sealed.encryptedMetaData, sealed.encryptedMasterSecret);
      return;
    }
    this.setState("uploading", prompts.uploading);
    const u = await this.api.createUpload();
    await put(u, container);
  }
  /** waitResult polls the result until the analysis is over. */
  async waitResult(mode) {
    this.setState("waiting", prompts.waiting);
    const end = performance.now() + (this.o.resultTimeoutMs ?? 18e4);
    for (; ; ) {
      const r = await this.api.result(mode);
      if (!pendingStatuses.includes(r.livenessStatus)) {
        return r;
      }
      if (performance.now() > end) {
        throw new ApiError(0, "RESULT_TIMEOUT", "no result in time");
      }
      await sleep(1e3);
    }
  }
  done(r) {
    const { result } = this.ui;
    const status = r.livenessStatus;
    result.dataset.status = status;
    result.replaceChildren();
    const ok = status === "SUCCESS";
    result.classList.toggle("fl-ok", ok);
    result.append(el("p", { class: "fl-verdict" }, statusSentences[status] || statusSentences.ERROR));
    const advice = adviceFor(status, r.diagnostic);
    if (advice) {
      result.append(el("p", { class: "fl-advice" }, advice));
    }
    result.hidden = false;
    this.setState("done", "");
    const out = { status, error: "" };
    this.o.onDone?.(out);
    result.tabIndex = -1;
    result.focus();
    return out;
  }
  fail(e) {
    let code = "CAPTURE_FAILED";
    if (e instanceof CameraError || e instanceof ApiError) {
      code = e.code;
    }
    if (typeof console !== "undefined") {
      console.warn("facelambda liveness:", code, e);
    }
    const { error } = this.ui;
    error.dataset.code = code;
    error.textContent = sentenceFor(code);
    error.hidden = false;
    this.setState("error", "");
    const out = { status: "", error: code };
    this.o.onDone?.(out);
    return out;
  }
};
function deviceInfo() {
  return { osType: "browser" };
}
function startLiveness(options) {
  const ui = buildUi(options.element);
  const apiBase = options.apiBase || location.origin;
  const api = new Api(apiBase, options.sessionId, options.token);
  const c = new Client({ ...options, returnUrl: sameOrigin(options.returnUrl) }, ui, api);
  c.setState("idle", prompts.idle);
  if (!options.sessionId || !options.token) {
    ui.start.hidden = true;
    ui.error.dataset.code = "MISSING_PARAMETERS";
    ui.error.textContent = sentenceFor("MISSING_PARAMETERS");
    ui.error.hidden = false;
    c.setState("error", "");
    return Promise.resolve({ status: "", error: "MISSING_PARAMETERS" });
  }
  return new Promise((resolve) => {
    ui.start.addEventListener("click", () => c.run().then(resolve), { once: true });
    ui.start.focus();
  });
}
function sameOrigin(u) {
  if (!u) {
    return void 0;
  }
  try {
    const abs = new URL(u, location.href);
    return abs.origin === location.origin && (abs.protocol === "https:" || abs.protocol === "http:") ? abs.href : void 0;
  } catch {
    return void 0;
  }
}
function pageParameters(hash) {
  const q = new URLSearchParams(hash.replace(/^#/, ""));
  return { sessionId: q.get("session") || "", token: q.get("token") || "", apiBase: q.get("api") || "", returnUrl: q.get("return") || "" };
}
if (typeof document !== "undefined") {
  const root = document.querySelector("[data-facelambda-liveness]");
  if (root) {
    const p = pageParameters(location.hash);
    history.replaceState(null, "", location.pathname + location.search);
    void startLiveness({ element: root, sessionId: p.sessionId, token: p.token, apiBase: p.apiBase || void 0, returnUrl: p.returnUrl || void 0 });
  }
}
export {
  adviceFor,
  buildContainer,
  buildManifest,
  buildZip,
  crc32,
  frameName,
  pageParameters,
  promptFor,
  sealAD,
  sealCapture,
  sentenceFor,
  startLiveness
};
