// Package counter holds Matter message counters: the outbound counters a
// node stamps on messages (spec 4.6.1-4.6.3) and the reception window that
// detects duplicates and replays on the receiving side (spec 4.6.5-4.6.7).
//
// Everything here is pure and sans-I/O: randomness is injected (a Source),
// persistence goes through a Store, and no value is safe for concurrent use
// (the simulator is single-threaded).
//
// Outbound counters:
//
//   - Unencrypted: the node's global unencrypted counter; wraps mod 2^32.
//   - Secure: one per secure unicast session; never wraps, and after
//     0xFFFFFFFF has been used Next returns ErrExhausted (spec 4.6.1.2:
//     the session must be closed, because reusing a counter reuses an
//     AES-CCM nonce).
//   - Group: the node's group data (C=0) and group control (C=1) counters,
//     persisted with a look-ahead of MinIncrement through a Store so that a
//     reboot never reuses a value (spec 4.6.1; connectedhomeip
//     src/transport/GroupPeerMessageCounter.cpp).
//
// Reception window: a Window holds the largest accepted counter and a
// bitmap of the Size counters below it. Its Policy (SecureUnicast, Group,
// Unencrypted) is fixed at construction, and so is its Init: whether a
// counter that synchronizes the window (a trusted first counter, spec
// 4.18.4) leaves the bitmap all ones (InitSpec, spec 4.6.5.4; the default
// for PolicyGroup) or empty (InitSDK, the C++ SDK; the default for
// PolicyUnencrypted, see matter.js PR #4098). SyncNext sets the window
// from a message counter synchronization point (spec 4.18.5). Verify classifies a counter without
// side effects; Commit records an accepted one and must be called only after
// the message authenticated (decrypt, then Verify, then Commit; SDK
// SessionManager.cpp).
package counter
