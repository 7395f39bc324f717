// Secure capture, version 1 (internal/core/capture/secure.go), with
// WebCrypto: the container is encrypted with AES-256-GCM under a fresh
// key K, and K with RSA-OAEP (SHA-256, MGF1-SHA-256) under the session's
// public key.

import { Bytes } from "./zip";
const label = "facelambda-capture-v1"; // OAEP label and AD prefix
const magic = "FLC1"; // encryptedMetaData prefix
const nonceSize = 12;

/** SessionKey is the publicKey of the liveness parameters (a JWK). */
export interface SessionKey {
  kty: string;
  n: string;
  e: string;
  alg?: string;
  use?: string;
}

/** Sealed is what replay-liveness-metadata takes. */
export interface Sealed {
  encryptedMetaData: Bytes;
  encryptedMasterSecret: Bytes;
}

/** sealAD is label || 0x00 || sessionId || 0x00 || serverRandom, in UTF-8. */
export function sealAD(sessionId: string, serverRandom: string): Bytes {
  const enc = new TextEncoder();
  const parts = [enc.encode(label), new Uint8Array([0]), enc.encode(sessionId), new Uint8Array([0]), enc.encode(serverRandom)];
  return concat(parts);
}

/** concat joins byte arrays. */
export function concat(parts: Bytes[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function webCrypto(): SubtleCrypto {
  const c = globalThis.crypto;
  if (!c || !c.subtle) {
    // subtle exists only in secure contexts (https, or http on localhost).
    throw new Error("seal: WebCrypto is not available (the page must be served over https)");
  }
  return c.subtle;
}

/**
 * sealCapture encrypts a capture container for the session whose public
 * key is jwk, bound to sessionId and serverRandom: encryptedMetaData =
 * "FLC1" || nonce || AES-256-GCM(K, nonce, container, AD) (tag appended),
 * encryptedMasterSecret = RSA-OAEP-256(K, label).
 */
export async function sealCapture(jwk: SessionKey, sessionId: string, serverRandom: string, container: Bytes): Promise<Sealed> {
  const subtle = webCrypto();
  if (jwk.kty !== "RSA" || !jwk.n || !jwk.e) {
    throw new Error("seal: the session key is not an RSA JWK");
  }
  const pub = await subtle.importKey(
    "jwk",
    { kty: "RSA", n: jwk.n, e: jwk.e, alg: "RSA-OAEP-256", ext: true },
    { name: "RSA-OAEP", hash: "SHA-256" },
    false,
    ["encrypt"],
  );
  const secret = globalThis.crypto.getRandomValues(new Uint8Array(32));
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(nonceSize));
  const aes = await subtle.importKey("raw", secret, { name: "AES-GCM" }, false, ["encrypt"]);
  const enc = new TextEncoder();
  const [wrapped, sealed] = await Promise.all([
    subtle.encrypt({ name: "RSA-OAEP", label: enc.encode(label) }, pub, secret),
    subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: sealAD(sessionId, serverRandom), tagLength: 128 }, aes, container),
  ]);
  secret.fill(0);
  return {
    encryptedMetaData: concat([enc.encode(magic), nonce, new Uint8Array(sealed)]),
    encryptedMasterSecret: new Uint8Array(wrapped),
  };
}
