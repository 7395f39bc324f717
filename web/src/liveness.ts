// The facelambda liveness client: opens the camera, has the user perform
// the challenges the server drew, films them, seals the capture for the
// bio-session and sends it, then shows the outcome in words.
//
// The page served at /web/liveness.html calls startLiveness with the
// parameters of its URL fragment; an integrator's page may import this
// module and call startLiveness itself (web/README.md).

import { Api, ApiError, modeOf, Parameters, ParametersRequest, put, Result } from "./api";
import { CameraError, faceDetector, faceHint, Grabber, openCamera, sleep, stopCamera } from "./camera";
import { buildContainer, DeviceInfo, maxFrames } from "./container";
import { adviceFor, prompts, promptFor, sentenceFor, statusSentences } from "./messages";
import { sealCapture } from "./seal";

export { buildContainer, buildManifest, frameName } from "./container";
export { sealCapture, sealAD } from "./seal";
export { buildZip, crc32 } from "./zip";
export { adviceFor, sentenceFor, promptFor } from "./messages";

/** State is the page's state, also in document.body.dataset.state. */
export type State = "idle" | "camera" | "ready" | "challenge" | "sealing" | "uploading" | "waiting" | "done" | "error";

/** Outcome is how an attempt ended. */
export interface Outcome {
  /** status is the API's livenessStatus (SUCCESS, FAILED, SPOOF, ...), or "" on error. */
  status: string;
  /** error is the error code (the API's, or CAMERA_DENIED, NO_CAMERA, UPLOAD_FAILED, ...), or "". */
  error: string;
}

/** Options of startLiveness. */
export interface Options {
  /** element receives the user interface. */
  element: HTMLElement;
  /** sessionId is the bio-session id. */
  sessionId: string;
  /** token is the session's client token (flct_...), from the integrator's backend. */
  token: string;
  /** apiBase is the API's base URL (default: the page's origin). */
  apiBase?: string;
  /** parameters is the body of init-liveness-parameters (default: the service's defaults). */
  parameters?: ParametersRequest;
  /** challengeMs is how long each challenge is shown (default 3000; shortened to fit the timeout). */
  challengeMs?: number;
  /** readyMs is the "get ready" time before the first challenge (default 1500, at most 2000). */
  readyMs?: number;
  /** directLimitBytes: a sealed capture up to this size is sent in the request, a larger one uploaded (default 4,000,000: API Gateway and Lambda take about 4.4 MiB of binary). */
  directLimitBytes?: number;
  /** resultTimeoutMs bounds the wait for the result (default 180000). */
  resultTimeoutMs?: number;
  /** returnUrl, on the page's own origin, is offered as a "Continue" link once the attempt is over. */
  returnUrl?: string;
  /** onState is told every state change. */
  onState?: (s: State) => void;
  /** onDone is told the outcome. */
  onDone?: (o: Outcome) => void;
}

const defaultChallengeMs = 3000;
const defaultReadyMs = 1500;
const frameIntervalMs = 100; // about 10 frames a second
const pendingStatuses = ["INITIALIZED", "IN_PROGRESS"];

/** Ui holds the elements of the interface. */
interface Ui {
  root: HTMLElement;
  video: HTMLVideoElement;
  stage: HTMLElement;
  arrow: SVGElement;
  step: HTMLElement;
  prompt: HTMLElement;
  start: HTMLButtonElement;
  result: HTMLElement;
  error: HTMLElement;
  next: HTMLAnchorElement;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text = ""): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    e.setAttribute(k, v);
  }
  if (text) {
    e.textContent = text;
  }
  return e;
}

const svgNS = "http://www.w3.org/2000/svg";
function svg(tag: string, attrs: Record<string, string>): SVGElement {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    e.setAttribute(k, v);
  }
  return e;
}

/** buildUi makes the interface inside root (the ids are the page's contract). */
function buildUi(root: HTMLElement): Ui {
  root.replaceChildren();
  root.classList.add("fl-liveness");
  const stage = el("div", { class: "fl-stage", "aria-hidden": "true" });
  const video = el("video", { class: "fl-video", muted: "", playsinline: "", autoplay: "" });
  // The face outline: the picture dimmed outside an oval.
  const overlay = svg("svg", { class: "fl-overlay", viewBox: "0 0 300 400", preserveAspectRatio: "xMidYMid slice" });
  const mask = svg("mask", { id: "fl-oval-mask" });
  mask.append(svg("rect", { x: "0", y: "0", width: "300", height: "400", fill: "white" }), svg("ellipse", { cx: "150", cy: "190", rx: "100", ry: "135", fill: "black" }));
  const defs = svg("defs", {});
  defs.append(mask);
  overlay.append(
    defs,
    svg("rect", { class: "fl-dim", x: "0", y: "0", width: "300", height: "400", mask: "url(#fl-oval-mask)" }),
    svg("ellipse", { class: "fl-oval", cx: "150", cy: "190", rx: "100", ry: "135" }),
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

/** Client runs one attempt on a Ui. */
class Client {
  private stream: MediaStream | null = null;

  constructor(
    private readonly o: Options,
    private readonly ui: Ui,
    private readonly api: Api,
  ) {}

  setState(s: State, prompt?: string): void {
    if ((s === "done" || s === "error") && this.o.returnUrl) {
      this.ui.next.href = this.o.returnUrl;
      this.ui.next.hidden = false;
    }
    document.body.dataset.state = s;
    this.ui.root.dataset.state = s;
    if (prompt !== undefined) {
      this.ui.prompt.textContent = prompt;
    }
    this.o.onState?.(s);
  }

  private setChallenge(action: string | null, i = 0, n = 0): void {
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

  async run(): Promise<Outcome> {
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
  private async perform(p: Parameters): Promise<import("./container").Frame[]> {
    const { ui, o } = this;
    const n = p.challenges.length;
    if (n === 0) {
      throw new ApiError(0, "INTERNAL_ERROR", "the parameters have no challenge");
    }
    // Each challenge gets challengeMs, shortened so that the whole capture
    // fits the attempt's timeout (with a second to spare).
    let per = o.challengeMs && o.challengeMs > 0 ? o.challengeMs : defaultChallengeMs;
    if (p.timeout > 0) {
      per = Math.min(per, Math.floor((p.timeout - 1000) / n));
    }
    per = Math.max(per, 500);
    // About 10 frames a second, fewer when the capture would exceed the
    // server's frame limit.
    const interval = Math.max(frameIntervalMs, Math.ceil((n * per) / (maxFrames - 2)));
    const readyMs = Math.min(Math.max(o.readyMs ?? defaultReadyMs, 0), 2000);

    this.setState("ready", prompts.ready);
    ui.step.textContent = n === 1 ? "Get ready: one short step" : `Get ready: ${n} short steps`;
    await this.guide(readyMs);

    const grabber = new Grabber(ui.video, interval, maxFrames);
    // A hidden page is filmed a frame a second at best: the capture would
    // fail for gaps, so it is not sent.
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
  private async guide(ms: number): Promise<void> {
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
  private async send(p: Parameters, frames: import("./container").Frame[]): Promise<void> {
    this.setState("sealing", prompts.sealing);
    const container = buildContainer(this.o.sessionId, p.serverRandom, frames, deviceInfo());
    const limit = this.o.directLimitBytes ?? 4_000_000;
    if (container.length + 32 <= limit) {
      const sealed = await sealCapture(p.publicKey, this.o.sessionId, p.serverRandom, container);
      this.setState("uploading", prompts.uploading);
      await this.api.submitSealed(sealed.encryptedMetaData, sealed.encryptedMasterSecret);
      return;
    }
    // Too large for one request: the presigned upload takes the container
    // itself (over TLS; the bucket encrypts it at rest).
    this.setState("uploading", prompts.uploading);
    const u = await this.api.createUpload();
    await put(u, container);
  }

  /** waitResult polls the result until the analysis is over. */
  private async waitResult(mode: string): Promise<Result> {
    this.setState("waiting", prompts.waiting);
    const end = performance.now() + (this.o.resultTimeoutMs ?? 180000);
    for (;;) {
      const r = await this.api.result(mode);
      if (!pendingStatuses.includes(r.livenessStatus)) {
        return r;
      }
      if (performance.now() > end) {
        throw new ApiError(0, "RESULT_TIMEOUT", "no result in time");
      }
      await sleep(1000);
    }
  }

  private done(r: Result): Outcome {
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

  private fail(e: unknown): Outcome {
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
}

/** deviceInfo is the little the manifest says about the device: a browser. */
function deviceInfo(): DeviceInfo {
  return { osType: "browser" };
}

/**
 * startLiveness puts the liveness interface in options.element. Nothing
 * happens until the user activates its Start button (#start): then the
 * camera opens and the attempt runs. The promise resolves with the
 * outcome.
 */
export function startLiveness(options: Options): Promise<Outcome> {
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

/** sameOrigin returns u when it is a URL of the page's own origin (no open redirect), else undefined. */
function sameOrigin(u: string | undefined): string | undefined {
  if (!u) {
    return undefined;
  }
  try {
    const abs = new URL(u, location.href);
    return abs.origin === location.origin && (abs.protocol === "https:" || abs.protocol === "http:") ? abs.href : undefined;
  } catch {
    return undefined;
  }
}

/** pageParameters reads #session=..&token=..[&api=..][&return=..] from a URL fragment. */
export function pageParameters(hash: string): { sessionId: string; token: string; apiBase: string; returnUrl: string } {
  const q = new URLSearchParams(hash.replace(/^#/, ""));
  return { sessionId: q.get("session") || "", token: q.get("token") || "", apiBase: q.get("api") || "", returnUrl: q.get("return") || "" };
}

// On the served page, start from the URL fragment.
if (typeof document !== "undefined") {
  const root = document.querySelector<HTMLElement>("[data-facelambda-liveness]");
  if (root) {
    const p = pageParameters(location.hash);
    // The token is single-use and short-lived; still, keep it out of the
    // browser's history and of anything that reads the address later.
    history.replaceState(null, "", location.pathname + location.search);
    void startLiveness({ element: root, sessionId: p.sessionId, token: p.token, apiBase: p.apiBase || undefined, returnUrl: p.returnUrl || undefined });
  }
}
