// The calls the page makes to the API, with the session's client token.

import { Bytes } from "./zip";
import { SessionKey } from "./seal";

/** Parameters is the answer of init-liveness-parameters (what the page uses). */
export interface Parameters {
  type: string;
  timeout: number;
  nbChallenge: number;
  serverRandom: string;
  challenges: string[];
  publicKey: SessionKey;
  expires: string;
}

/** Result is the part of a challenge result the page reads. */
export interface Result {
  livenessStatus: string;
  diagnostic: string | null;
  livenessMode: string;
}

/** ParametersRequest is the optional body of init-liveness-parameters. */
export interface ParametersRequest {
  type?: "MEDIUM" | "HIGH";
  timeout?: number;
  securityLevel?: string;
  nbChallenge?: number;
}

/** Upload is the answer of liveness-uploads: a presigned PUT. */
export interface Upload {
  url: string;
  method: string;
  headers?: Record<string, string>;
  maxBytes?: number;
}

/**
 * ApiError is an error answer of the API (its error object's code and
 * message), or a failure to reach it (code NETWORK_ERROR, status 0).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Api calls one bio-session's liveness routes with a client token. */
export class Api {
  private readonly base: string;
  constructor(
    apiBase: string,
    sessionId: string,
    private readonly token: string,
  ) {
    this.base = apiBase.replace(/\/+$/, "") + "/v2/bio-sessions/" + encodeURIComponent(sessionId);
  }

  private async call<T>(method: string, path: string, body?: BodyInit, contentType?: string): Promise<T> {
    const headers: Record<string, string> = { Authorization: "Bearer " + this.token };
    if (contentType) {
      headers["Content-Type"] = contentType;
    }
    let res: Response;
    try {
      res = await fetch(this.base + path, { method, headers, body, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" });
    } catch (e) {
      throw new ApiError(0, "NETWORK_ERROR", "the service could not be reached: " + String(e));
    }
    const text = await res.text();
    let json: any = null;
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
    return json as T;
  }

  /** initParameters starts the attempt: the challenges and the session key. */
  initParameters(req: ParametersRequest = {}): Promise<Parameters> {
    return this.call<Parameters>("POST", "/init-liveness-parameters", JSON.stringify(req), "application/json");
  }

  /** submitSealed sends a sealed capture to replay-liveness-metadata. */
  submitSealed(encryptedMetaData: Bytes, encryptedMasterSecret: Bytes): Promise<unknown> {
    const form = new FormData();
    form.append("encryptedMetaData", new Blob([encryptedMetaData], { type: "application/octet-stream" }), "metadata.bin");
    form.append("encryptedMasterSecret", new Blob([encryptedMasterSecret], { type: "application/octet-stream" }), "secret.bin");
    return this.call("POST", "/replay-liveness-metadata", form);
  }

  /** createUpload asks for a presigned PUT for the capture container. */
  createUpload(): Promise<Upload> {
    return this.call<Upload>("POST", "/liveness-uploads");
  }

  /** result reads the attempt's result ({livenessMode} of the parameters). */
  result(mode: string): Promise<Result> {
    return this.call<Result>("GET", "/liveness-challenge-result/" + encodeURIComponent(mode));
  }
}

/** put sends the container to a presigned upload URL. */
export async function put(u: Upload, data: Bytes): Promise<void> {
  let res: Response;
  try {
    res = await fetch(u.url, { method: u.method || "PUT", headers: u.headers || { "Content-Type": "application/zip" }, body: data, credentials: "omit", referrerPolicy: "no-referrer" });
  } catch (e) {
    throw new ApiError(0, "UPLOAD_FAILED", "the upload could not be sent: " + String(e));
  }
  if (!res.ok) {
    throw new ApiError(res.status, "UPLOAD_FAILED", "the upload was refused with HTTP " + res.status);
  }
}

/** modeOf is the livenessMode of a parameters' type. */
export function modeOf(type: string): string {
  return type === "MEDIUM" ? "LIVENESS_MEDIUM" : "LIVENESS_HIGH";
}
