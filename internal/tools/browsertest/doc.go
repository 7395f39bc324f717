// Package browsertest holds the end-to-end test of the browser capture
// page (TestBrowserLiveness): `facelambda serve` with a fixed challenge list,
// headless Chromium whose camera plays a real clip, and the page running the
// whole loop from the integrator's session and client token to the verdict.
// It has no code outside its tests; the README (Set up) says what it needs.
package browsertest
