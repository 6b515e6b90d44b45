// Package mcsp holds the wire format and the timing constants of the Message
// Counter Synchronization Protocol (spec 4.18, 4.16 in Matter 1.0): how a
// receiver of group messages under the cache-and-sync policy learns a
// sender's group data message counter.
//
// Both messages are Secure Channel messages (protocol 0) secured with the
// operational group key being synchronized: session type group, the C flag
// (control message counter), S=1 and DSIZ=1, the destination being the
// peer's node id (spec 4.18.3, 4.18.5; connectedhomeip
// src/transport/raw/MessageHeader.h IsValidMCSPMsg). The payloads are not
// TLV:
//
//	MsgCounterSyncReq (opcode 0x00): Challenge            8 bytes
//	MsgCounterSyncRsp (opcode 0x01): Synchronized Counter u32 little-endian
//	                                 Response             8 bytes (the challenge echoed)
//
// The field order of the response follows the spec's table (Synchronized
// Counter, then Response) and is the order of connectedhomeip's
// MessageCounterManager::SendMsgCounterSyncResp and of project-chip/rs-matter
// src/sc/mcsp.rs MsgCounterSyncRsp::write. The codecs here are syntactic;
// the session core rejects a Synchronized Counter of 0 (connectedhomeip
// HandleMsgCounterSyncResp; rs-matter: "the initiator must silently ignore
// such a reply").
package mcsp

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Timing constants (spec 4.18, MCSP parameters; the values the project
// started from and that independent ports quote). The session core takes
// both from its Config so that scenarios can sweep them.
const (
	// DefaultSyncReqJitter is MSG_COUNTER_SYNC_REQ_JITTER: a request
	// triggered by a multicast message waits a uniformly random time in
	// [0, jitter] first (spec 4.18.5), so that a group's receivers do not
	// all answer a sender at once.
	DefaultSyncReqJitter = 500 * time.Millisecond
	// DefaultSyncTimeout is MSG_COUNTER_SYNC_TIMEOUT: with no valid
	// response this long after the request was sent, the synchronization
	// exchange is closed and the messages waiting on it are discarded.
	DefaultSyncTimeout = 400 * time.Millisecond
)

// Sizes (connectedhomeip MessageCounterManager.h kChallengeSize,
// kCounterSize, kSyncRespMsgSize).
const (
	ChallengeSize = 8
	RequestLen    = ChallengeSize
	ResponseLen   = 4 + ChallengeSize
)

// Challenge is the 64-bit random value that binds a response to its request
// (spec 4.18.3.1: generated with Crypto_DRBG).
type Challenge [ChallengeSize]byte

func (c Challenge) String() string { return fmt.Sprintf("%x", c[:]) }

// Request is a MsgCounterSyncReq payload.
type Request struct {
	Challenge Challenge
}

// Response is a MsgCounterSyncRsp payload.
type Response struct {
	// Counter is the Synchronized Counter: the responder's current Global
	// Group Encrypted Data Message Counter (spec 4.18.5), the value its
	// next group data message will carry.
	Counter uint32
	// Response echoes the request's Challenge.
	Response Challenge
}

// DecodeError reports a payload of the wrong length. Decoding is otherwise
// total: any 8 or 12 bytes are a request or a response.
type DecodeError struct {
	Message string // "MsgCounterSyncReq" or "MsgCounterSyncRsp"
	Len     int    // the length received
	Want    int    // the only valid length
}

var _ error = (*DecodeError)(nil)

func (e *DecodeError) Error() string {
	return fmt.Sprintf("mcsp: %s payload is %d bytes, want %d", e.Message, e.Len, e.Want)
}

// Append appends the encoded request to b.
func (r Request) Append(b []byte) []byte { return append(b, r.Challenge[:]...) }

// DecodeRequest parses a MsgCounterSyncReq payload; any length but
// RequestLen is an error (trailing bytes are not ignored, as in
// connectedhomeip HandleMsgCounterSyncReq and rs-matter).
func DecodeRequest(p []byte) (Request, error) {
	var r Request
	if len(p) != RequestLen {
		return r, &DecodeError{Message: "MsgCounterSyncReq", Len: len(p), Want: RequestLen}
	}
	copy(r.Challenge[:], p)
	return r, nil
}

// Append appends the encoded response to b: counter, then challenge.
func (r Response) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, r.Counter)
	return append(b, r.Response[:]...)
}

// DecodeResponse parses a MsgCounterSyncRsp payload of exactly ResponseLen
// bytes.
func DecodeResponse(p []byte) (Response, error) {
	var r Response
	if len(p) != ResponseLen {
		return r, &DecodeError{Message: "MsgCounterSyncRsp", Len: len(p), Want: ResponseLen}
	}
	r.Counter = binary.LittleEndian.Uint32(p)
	copy(r.Response[:], p[4:])
	return r, nil
}
