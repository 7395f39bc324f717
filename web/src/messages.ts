// Everything the page says to the end user, in plain words. Scores and
// measures are never shown: only the outcome and what to do next.

/** Prompt is what the user is asked to do during a challenge. */
export interface Prompt {
  text: string;
  /** arrow is the direction of the on-screen arrow, if any. */
  arrow?: "left" | "right" | "up" | "down";
}

/**
 * challengePrompts maps the API's actions to prompts. TURN_LEFT is the
 * user's own left; the preview is mirrored (like a mirror), so their left
 * is on the left of the screen.
 */
export const challengePrompts: Record<string, Prompt> = {
  TURN_LEFT: { text: "Turn your head to your left, then look back at the camera", arrow: "left" },
  TURN_RIGHT: { text: "Turn your head to your right, then look back at the camera", arrow: "right" },
  LOOK_UP: { text: "Look up, then look back at the camera", arrow: "up" },
  LOOK_DOWN: { text: "Look down, then look back at the camera", arrow: "down" },
  BLINK: { text: "Blink slowly" },
};

/** promptFor is the prompt of an action (a generic one for an unknown action). */
export function promptFor(action: string): Prompt {
  return challengePrompts[action] || { text: "Follow the instruction on the screen" };
}

export const prompts = {
  idle: "Press Start when you are ready.",
  camera: "Allow the use of your camera when your browser asks.",
  fit: "Fit your face in the oval",
  closer: "Move closer",
  ready: "Fit your face in the oval and look at the camera",
  sealing: "Securing your video",
  uploading: "Sending",
  waiting: "Checking",
};

/** statusSentences says a liveness status in words. */
export const statusSentences: Record<string, string> = {
  SUCCESS: "You're verified.",
  FAILED: "We could not verify you.",
  SPOOF: "We could not verify you.",
  TIMEOUT: "We could not verify you: the time to do the steps ran out.",
  ERROR: "We could not verify you: something went wrong while checking your video.",
};

/**
 * adviceFor is the retry advice for a failed result, from its diagnostic
 * (internal/core/challenge). It never explains how a spoof was caught.
 */
export function adviceFor(status: string, diagnostic: string | null): string {
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

/** errorSentences says an error code (the API's, or the page's own) in words. */
export const errorSentences: Record<string, string> = {
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
  INTERNAL_ERROR: "Something went wrong on our side. Try again later.",
};

/** sentenceFor says an error in words; unknown codes get a generic sentence. */
export function sentenceFor(code: string): string {
  return errorSentences[code] || "Something went wrong. Try again later, or ask for a new link.";
}
