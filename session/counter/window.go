package counter

import "fmt"

// Window sizes (spec 4.6.5: MSG_COUNTER_WINDOW_SIZE; connectedhomeip
// CHIP_CONFIG_MESSAGE_COUNTER_WINDOW_SIZE). Sizes other than 32 are a
// research extension; the bitmap is a uint64, so MaxWindowSize is 64.
const (
	DefaultWindowSize = 32
	MaxWindowSize     = 64
)

// halfRange is the rollover comparison's limit: with rollover, counter c is
// ahead of max iff 1 <= (c-max) mod 2^32 <= 2^31-1 (spec 4.6.5.1;
// connectedhomeip PeerMessageCounter.h ClassifyWithRollover).
const halfRange = 1 << 31

// Policy is a reception window's rule set, fixed at construction (spec
// 4.6.5-4.6.7).
type Policy uint8

// Policies. PolicySecureUnicast is the zero value, so a zero Window is the SDK's
// initial secure-session state.
const (
	// PolicySecureUnicast: no rollover; starts synchronized at max 0 with an empty
	// bitmap (connectedhomeip PairingSession kInitialSyncValue); counters
	// behind the window are rejected.
	PolicySecureUnicast Policy = iota
	// PolicyGroup: rollover with half range 2^31; trust-first (the first counter
	// from a peer synchronizes the window); counters behind the window are
	// rejected.
	PolicyGroup
	// PolicyUnencrypted: rollover; trust-first; a counter behind the window means
	// the peer rebooted with a new random counter, so it is accepted and
	// becomes the new max.
	PolicyUnencrypted
)

var policyNames = [...]string{PolicySecureUnicast: "secure", PolicyGroup: "group", PolicyUnencrypted: "unencrypted"}

// String returns "secure", "group", "unencrypted" or "policy(N)".
func (p Policy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("policy(%d)", uint8(p))
}

// ParsePolicy maps a String form back to a Policy.
func ParsePolicy(s string) (Policy, bool) {
	for i, n := range policyNames {
		if n == s {
			return Policy(i), true
		}
	}
	return 0, false
}

// Init says how a window's bitmap starts when a counter synchronizes it: the
// first counter trusted from a peer (PolicyGroup, PolicyUnencrypted) or a
// message counter synchronization point (SyncNext). It is a research knob:
// the spec and the C++ SDK disagree.
type Init uint8

// Window initialisations.
const (
	// InitDefault is the zero value: the policy's default, InitSpec for
	// PolicyGroup and InitSDK for PolicyUnencrypted and PolicySecureUnicast.
	InitDefault Init = iota
	// InitSpec sets the bitmap to all ones: "only new messages with counter
	// greater than max_message_counter SHALL be accepted" (spec 4.6.5.4,
	// Message Reception State Initialization). Counters below the trusted
	// one are rejected, so a group message captured before a receiver's
	// reboot cannot be replayed once trust-first has resynchronized
	// (connectedhomeip issue #72535).
	InitSpec
	// InitSDK leaves the bitmap empty: the Size counters below the trusted
	// one are each accepted once (connectedhomeip src/transport/
	// PeerMessageCounter.h SetCounter: mWindow.reset()). It is the right
	// start for unencrypted sessions (matter.js PR #4098: with a full bitmap
	// a standalone ack that overtakes a PASE response makes the response a
	// duplicate, and PASE stalls).
	InitSDK
)

var initNames = [...]string{InitDefault: "default", InitSpec: "spec", InitSDK: "sdk"}

// String returns "default", "spec", "sdk" or "init(N)".
func (i Init) String() string {
	if int(i) < len(initNames) {
		return initNames[i]
	}
	return fmt.Sprintf("init(%d)", uint8(i))
}

// ParseInit maps "spec" and "sdk" (and "default", or "") to an Init.
func ParseInit(s string) (Init, bool) {
	if s == "" {
		return InitDefault, true
	}
	for i, n := range initNames {
		if n == s {
			return Init(i), true
		}
	}
	return 0, false
}

// Resolve returns the initialisation a window of policy p uses: i itself,
// or the policy's default for InitDefault and unknown values.
func (i Init) Resolve(p Policy) Init {
	switch i {
	case InitSpec, InitSDK:
		return i
	}
	if p == PolicyGroup {
		return InitSpec
	}
	return InitSDK
}

// Verdict classifies a received counter. Verdicts are outcomes, not errors:
// a duplicate is normal protocol life (house rule 6).
type Verdict uint8

// Verdicts. Accepted reports which ones admit the message.
const (
	// Invalid is the zero value; Verify never returns it.
	Invalid Verdict = iota
	// First: accepted; the window was not synchronized and this counter
	// synchronizes it (PolicyGroup and PolicyUnencrypted trust-first).
	First
	// Future: accepted; ahead of max (no rollover: c > max; rollover:
	// 1 <= c-max <= 2^31-1).
	Future
	// InWindow: accepted; within the Size counters below max and not yet seen.
	InWindow
	// Reset: accepted (PolicyUnencrypted only); behind the window, taken as a
	// rebooted peer; it becomes the new max and the bitmap is cleared.
	Reset
	// Duplicate: max itself, or in the window with its bit set.
	Duplicate
	// BehindWindow: rejected (PolicySecureUnicast, PolicyGroup); older than the window
	// or, for PolicyGroup, a jump of 2^31 or more. The SDK handles it exactly as a
	// duplicate (a secure message with R=1 is still acked).
	BehindWindow
)

var verdictNames = [...]string{
	Invalid:      "invalid",
	First:        "first",
	Future:       "future",
	InWindow:     "in-window",
	Reset:        "reset",
	Duplicate:    "duplicate",
	BehindWindow: "behind-window",
}

// String returns the verdict's name, or "verdict(N)".
func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return fmt.Sprintf("verdict(%d)", uint8(v))
}

// Accepted reports whether the message is new: First, Future, InWindow or
// Reset. Every other verdict is a duplicate as far as the SDK is concerned
// (spec 4.6.7: drop, but let MRP re-ack a secure unicast message with R=1).
func (v Verdict) Accepted() bool { return v >= First && v <= Reset }

// SizeError reports a window size outside 1..MaxWindowSize.
type SizeError struct {
	Size int
}

var _ error = (*SizeError)(nil)

func (e *SizeError) Error() string {
	return fmt.Sprintf("counter: window size %d out of range 1..%d", e.Size, MaxWindowSize)
}

// Window is a per-peer message reception state (spec 4.6.5): the largest
// accepted counter (max) and a bitmap where bit i set means counter
// max-1-i has been seen (connectedhomeip src/transport/PeerMessageCounter.h
// convention; max itself is implicitly seen). The window covers the Size
// counters max-1 .. max-Size.
//
// The zero value is a usable PolicySecureUnicast window of DefaultWindowSize at
// max 0, the SDK's state for a new secure session. A Window is a small
// value: copy it freely. Not safe for concurrent use.
type Window struct {
	max    uint32
	policy Policy
	size   uint8  // 0 means DefaultWindowSize
	init   Init   // how a synchronizing counter sets the bitmap (Resolve)
	st     state  // unsynced, synced, or synced with max not yet received
	bits   uint64 // bit i set <=> counter max-1-i seen; bits at and above the size are stale (see Bitmap)
	mask   uint64 // bits the window covers; 0 until primed (zero value)
}

// state is a window's synchronization state. PolicySecureUnicast counts as
// synced even in the zero value (stUnsynced, not yet primed).
type state uint8

const (
	stUnsynced state = iota
	stSynced         // max has been received
	stOpen           // synchronized by SyncNext with InitSDK: max itself not yet received
)

// NewWindow returns an empty window with the given policy and size. Size 0
// means DefaultWindowSize; sizes above MaxWindowSize or negative give a
// *SizeError. PolicySecureUnicast windows start synchronized at max 0; PolicyGroup and
// PolicyUnencrypted windows start unsynchronized (the first counter is trusted).
//
// The bitmap a synchronizing counter leaves is the policy's default
// initialisation (Init.Resolve: all ones for PolicyGroup, empty otherwise);
// NewWindowInit chooses it.
func NewWindow(p Policy, size int) (Window, error) {
	return NewWindowInit(p, size, InitDefault)
}

// NewWindowInit is NewWindow with the initialisation of the bitmap when a
// counter synchronizes the window (trust-first, spec 4.6.5.4, 4.18.4).
// PolicySecureUnicast windows start synchronized at max 0 whatever init
// says: no counter lies below 0 without rollover, so the two
// initialisations cannot differ there.
func NewWindowInit(p Policy, size int, init Init) (Window, error) {
	if size < 0 || size > MaxWindowSize {
		return Window{}, &SizeError{Size: size}
	}
	if p > PolicyUnencrypted {
		return Window{}, fmt.Errorf("counter: unknown window policy %d", uint8(p))
	}
	if init > InitSDK {
		return Window{}, fmt.Errorf("counter: unknown window initialisation %d", uint8(init))
	}
	w := Window{policy: p, size: uint8(size), init: init.Resolve(p)}
	w.prime()
	return w, nil
}

// prime fills the derived fields: the zero value has none. A secure
// unicast window is synchronized from the start (max 0).
func (w *Window) prime() {
	w.mask = 1<<w.limit() - 1 // size 64: 1<<64 == 0, minus 1 is all ones
	if w.policy == PolicySecureUnicast {
		w.st = stSynced
	}
}

// Init returns the initialisation a synchronizing counter applies.
func (w *Window) Init() Init { return w.init.Resolve(w.policy) }

// Policy returns the window's rule set.
func (w *Window) Policy() Policy { return w.policy }

// Size returns the number of counters below max that the bitmap tracks.
func (w *Window) Size() int { return int(w.limit()) }

// Synced reports whether the window has a max (always true for PolicySecureUnicast).
func (w *Window) Synced() bool { return w.st != stUnsynced || w.policy == PolicySecureUnicast }

// MaxReceived reports whether the counter Max itself has been received.
// It is false only after SyncNext with InitSDK, until that counter arrives
// or a later one does.
func (w *Window) MaxReceived() bool { return w.st != stOpen }

// Max returns the largest accepted counter (0 if not synchronized).
func (w *Window) Max() uint32 { return w.max }

// Bitmap returns the seen-bitmap: bit i set <=> counter Max()-1-i was seen.
func (w *Window) Bitmap() uint64 { return w.bits & w.mask }

// String formats the state as "max=0x64 win=0x00000001" (the notation of
// the worked cases), "max=0x64 win=0x80000000 open" when max itself has not
// been received (SyncNext), or "unsynced".
func (w *Window) String() string {
	if !w.Synced() {
		return "unsynced"
	}
	open := ""
	if w.st == stOpen {
		open = " open"
	}
	if w.Size() <= 32 {
		return fmt.Sprintf("max=%#x win=0x%08x%s", w.max, w.Bitmap(), open)
	}
	return fmt.Sprintf("max=%#x win=0x%016x%s", w.max, w.Bitmap(), open)
}

// Sync sets the window to max=c with an empty bitmap, whatever the
// window's Init (connectedhomeip PeerMessageCounter.h SetCounter). Tests
// and the SDK ports use it to force a state.
func (w *Window) Sync(c uint32) {
	if w.mask == 0 {
		w.prime()
	}
	w.max, w.bits, w.st = c, 0, stSynced
}

// SyncInit initialises the reception state at max=c (spec 4.6.5.4) with
// the window's Init: all ones (InitSpec) or empty (InitSDK). This is what a
// trusted first counter does.
func (w *Window) SyncInit(c uint32) {
	if w.mask == 0 {
		w.prime()
	}
	w.max, w.st = c, stSynced
	w.bits = 0
	if w.Init() == InitSpec {
		w.bits = w.mask
	}
}

// SyncNext synchronizes the window from a counter synchronization point:
// next is the counter the peer's next message will carry (a
// MsgCounterSyncRsp's Synchronized Counter, spec 4.18.5). Every counter from
// next on is new. Below next, init decides (InitDefault: the window's own):
//
//   - InitSDK opens the Size counters next-Size .. next-1: each is accepted
//     once, so messages the peer sent just before the synchronization point
//     (the ones queued while it ran) are still taken, and older ones are
//     not. This is what connectedhomeip's 2021 PeerMessageCounter::
//     VerifyChallenge did ("reset all bits, accept all packets in the
//     window"; its window then counted offsets from max, max itself
//     included, so the synchronized counter was not yet received either).
//   - InitSpec closes them (spec 4.6.5.4 applied at the synchronization
//     point): only counters from next on are new.
//
// The state is max = next-1 with max marked not received (MaxReceived) for
// InitSDK, since the peer may have used next-1 without our seeing it.
func (w *Window) SyncNext(next uint32, init Init) {
	if w.mask == 0 {
		w.prime()
	}
	if init == InitDefault {
		init = w.Init()
	}
	w.max = next - 1
	if init == InitSpec {
		w.st, w.bits = stSynced, w.mask
		return
	}
	// Open max (next-1) and the Size-1 counters below it; the counter
	// just past the window's reach (bit Size-1, next-1-Size) stays closed
	// so that exactly Size counters below next are open.
	w.st = stOpen
	w.bits = 1 << (w.limit() - 1)
}

// Unsync forgets all state: the next counter is trusted again (PolicyGroup and
// PolicyUnencrypted). For PolicySecureUnicast it returns to max 0, empty bitmap.
func (w *Window) Unsync() {
	w.max, w.bits, w.st = 0, 0, stUnsynced
	w.prime()
}

// limit returns the window size as a uint32 (the zero value means the default).
func (w *Window) limit() uint32 {
	if w.size == 0 {
		return DefaultWindowSize
	}
	return uint32(w.size)
}

// ahead reports whether c, at forward distance d = c-max (mod 2^32), is a
// future counter under the window's policy (spec 4.6.5.1; notes 3.2
// "Future"): no rollover compares plainly, rollover takes the forward half
// range 1..2^31-1.
func (w *Window) ahead(c, d uint32) bool {
	if w.policy == PolicySecureUnicast {
		return c > w.max
	}
	return d < halfRange
}

// Verify classifies counter c without changing the window (spec 4.6.5,
// 4.6.7). Call it after the message authenticated; call Commit only if the
// verdict is Accepted.
func (w *Window) Verify(c uint32) Verdict {
	// Fast path (inlined): the next counter in order is the common case.
	if c-w.max == 1 && c != 0 && w.st != stUnsynced { // synced implies primed
		return Future
	}
	return w.verify(c)
}

func (w *Window) verify(c uint32) Verdict {
	if w.st == stUnsynced && w.policy != PolicySecureUnicast {
		return First
	}
	d := c - w.max
	if d == 0 {
		if w.st == stOpen {
			return InWindow // synchronized just below it, not yet received
		}
		return Duplicate
	}
	if w.ahead(c, d) {
		return Future
	}
	if off := w.max - c; off <= w.limit() {
		if w.bits&(1<<(off-1)) != 0 {
			return Duplicate
		}
		return InWindow
	}
	if w.policy == PolicyUnencrypted {
		return Reset
	}
	return BehindWindow
}

// Commit records counter c as received. It applies the same classification
// as Verify, so it is safe to call for any counter: a verdict that is not
// Accepted leaves the window unchanged. In-window counters set their bit;
// future and reset counters become the new max, shifting the bitmap by
// shift = c-max: the old max lands in bit shift-1, so a jump of exactly
// Size keeps it in the top bit, and larger jumps clear the bitmap.
func (w *Window) Commit(c uint32) {
	// Fast path: the next counter in order shifts the bitmap by one.
	if c-w.max == 1 && c != 0 && w.st == stSynced { // synced implies primed
		w.bits = w.bits<<1 | 1 // bits above the window are never read unmasked
		w.max = c
		return
	}
	w.commit(c)
}

func (w *Window) commit(c uint32) {
	if w.mask == 0 {
		w.prime() // zero value
	}
	if w.st == stUnsynced {
		w.SyncInit(c) // trust first (spec 4.18.4, 4.6.5.4)
		return
	}
	d := c - w.max
	if d == 0 {
		w.st = stSynced // an open max is received now; a duplicate changes nothing
		return
	}
	n := w.limit()
	if !w.ahead(c, d) {
		if off := w.max - c; off <= n {
			w.bits |= 1 << (off - 1) // already set for a duplicate: no change
			return
		}
		if w.policy != PolicyUnencrypted {
			return // behind the window: rejected
		}
		// Unencrypted reset: d >= 2^31 here, so the bitmap clears below.
	}
	var old uint64 = 1 // the old max lands in bit d-1, unless it was never received
	if w.st == stOpen {
		old = 0
	}
	if d <= n {
		// d is 1..64 here; Go defines x<<64 == 0.
		w.bits = w.bits<<d | old<<(d-1)
	} else {
		w.bits = 0
	}
	w.max, w.st = c, stSynced
}
