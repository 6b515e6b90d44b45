// Package interop holds mattersim's live interoperability tests against
// matter.js, an independent Matter implementation (docs/interop.md).
//
// The tests are behind the build tag "interop" and run with
// scripts/interop.sh (make interop); they need root (network namespaces),
// iproute2 and Node >= 20.19 with interop/node_modules installed by
// scripts/setup-interop.sh, and skip with a reason otherwise. Every
// matter.js process runs inside a network namespace the test creates
// (internal/netns), because matter.js sends mDNS on every non-loopback
// interface.
//
// Files: device.mjs and controller.mjs (matter.js peers), bench-pase.mjs
// (matter.js PASE rate), pase_probe.py (a byte-level PASE cross-check, not
// an independent implementation), harness_test.go (helpers that start
// peers in a namespace and wait for their "INTEROP:" lines).
package interop
