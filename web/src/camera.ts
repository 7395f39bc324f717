// The camera: opening it, and grabbing JPEG frames from it at a steady rate.

import { Frame } from "./container";

/** CameraError is a failure to open the camera, with the page's code. */
export class CameraError extends Error {
  constructor(
    readonly code: "CAMERA_DENIED" | "NO_CAMERA" | "CAMERA_BUSY" | "UNSUPPORTED_BROWSER",
    message: string,
  ) {
    super(message);
    this.name = "CameraError";
  }
}

/** openCamera opens the user-facing camera and plays it in video. */
export async function openCamera(video: HTMLVideoElement): Promise<MediaStream> {
  const md = navigator.mediaDevices;
  if (!md || typeof md.getUserMedia !== "function") {
    throw new CameraError("UNSUPPORTED_BROWSER", "getUserMedia is not available (insecure page or old browser)");
  }
  let stream: MediaStream;
  try {
    stream = await md.getUserMedia({
      audio: false,
      video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } },
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
    // Autoplay of a muted stream is allowed; a refusal shows as no size below.
  }
  await waitFor(() => video.videoWidth > 0 && video.videoHeight > 0, 5000);
  if (video.videoWidth === 0) {
    stopCamera(stream);
    throw new CameraError("CAMERA_BUSY", "the camera gives no picture");
  }
  return stream;
}

/** stopCamera releases the camera. */
export function stopCamera(stream: MediaStream | null): void {
  stream?.getTracks().forEach((t) => t.stop());
}

async function waitFor(ok: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!ok() && performance.now() < end) {
    await sleep(50);
  }
}

/** sleep resolves after ms. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Grabber takes frames of a video as JPEG (the video's size, its longer
 * side at most maxSide pixels), every interval ms, unmirrored (the server
 * reads TURN_LEFT in the camera's own frame), with their times since the
 * first frame.
 */
export class Grabber {
  private readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly pending: Promise<void>[] = [];
  private readonly frames: (Frame | null)[] = [];
  private timer = 0;
  private t0 = -1;
  private last = -1;

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly interval: number,
    private readonly maxFrames: number,
    maxSide = 640,
    private readonly quality = 0.8,
  ) {
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
  start(): void {
    this.grab();
    this.timer = window.setInterval(() => this.grab(), this.interval);
  }

  private grab(): void {
    if (this.frames.length >= this.maxFrames) {
      return;
    }
    const now = performance.now();
    if (this.t0 < 0) {
      this.t0 = now;
    }
    const t = Math.round(now - this.t0);
    if (this.last >= 0 && t <= this.last) {
      return; // timestamps must strictly increase
    }
    this.last = t;
    this.ctx.drawImage(this.video, 0, 0, this.canvas.width, this.canvas.height);
    const i = this.frames.length;
    this.frames.push(null);
    this.pending.push(
      new Promise<void>((resolve) => {
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
              () => resolve(),
            );
          },
          "image/jpeg",
          this.quality,
        );
      }),
    );
  }

  /** stop ends the capture and returns the frames, in order. */
  async stop(): Promise<Frame[]> {
    window.clearInterval(this.timer);
    await Promise.all(this.pending);
    return this.frames.filter((f): f is Frame => f !== null);
  }
}

/** FaceHint is what a quick look at the picture suggests. */
export type FaceHint = "none" | "small" | "ok";

interface DetectedFace {
  boundingBox: { width: number; height: number };
}
interface FaceDetectorLike {
  detect(src: HTMLVideoElement): Promise<DetectedFace[]>;
}

/**
 * faceDetector returns the browser's face detector (the Shape Detection
 * API, in few browsers), or null. It only guides the user: the server
 * judges.
 */
export function faceDetector(): FaceDetectorLike | null {
  const FD = (globalThis as any).FaceDetector;
  if (typeof FD !== "function") {
    return null;
  }
  try {
    return new FD({ fastMode: true, maxDetectedFaces: 2 }) as FaceDetectorLike;
  } catch {
    return null;
  }
}

/** faceHint says whether a face is seen, and whether it is large enough. */
export async function faceHint(fd: FaceDetectorLike, video: HTMLVideoElement): Promise<FaceHint | null> {
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
