package im

import (
	"errors"
	"time"

	"mattersim/clock"
	"mattersim/session/mrp"
)

// Subscriber timing, as connectedhomeip's ReadClient computes it
// (src/app/ReadClient.cpp; constants from src/lib/core/CHIPConfig.h and
// src/app/InteractionModelTimeout.h).
const (
	// ExpectedIMProcessingTime is app::kExpectedIMProcessingTime: the time a
	// peer is granted to process an IM message before answering.
	ExpectedIMProcessingTime = 2 * time.Second
	// CHIP_RESUBSCRIBE_MAX_FIBONACCI_STEP_INDEX, _WAIT_TIME_MULTIPLIER_MS,
	// _MIN_WAIT_TIME_INTERVAL_PERCENT_PER_STEP, _MAX_RETRY_WAIT_INTERVAL_MS.
	ResubscribeMaxFibonacciStep = 14
	ResubscribeWaitMultiplier   = 10 * time.Second
	ResubscribeMinWaitPercent   = 30
	ResubscribeMaxRetryWait     = 5538 * time.Second
	// sdkMaxRetrans is CHIP_CONFIG_RMP_DEFAULT_MAX_RETRANS (4 retries after
	// the first transmission).
	sdkMaxRetrans = 4
)

// ErrLivenessTimeout is the cause a SubscriptionClient reports when no
// report arrived within the liveness timeout (the SDK's
// OnLivenessTimeoutCallback, CHIP_ERROR_TIMEOUT).
var ErrLivenessTimeout = errors.New("im: subscription liveness timeout")

// sdkMaxBackoff is ReliableMessageMgr::GetBackoff(base, n,
// computeMaxPossible=true) (src/messaging/ReliableMessageMgr.cpp), in the
// SDK's integer milliseconds: margin 1127/1024, base 16/10 raised to
// clamp(n−1, 0, 4), maximal jitter (1024+255)/1024.
func sdkMaxBackoff(base time.Duration, n int) time.Duration {
	ms := int64(base/time.Millisecond) * 1127 / 1024
	e := min(max(n-1, 0), 4)
	num, den := int64(1), int64(1)
	for range e {
		num, den = num*16, den*10
	}
	ms = ms * num / den
	ms = ms * (1024 + 255) / 1024
	return time.Duration(ms) * time.Millisecond
}

// sdkRetransmissionTimeout is GetRetransmissionTimeout
// (src/messaging/ReliableMessageProtocolConfig.cpp): the sum of the
// maximal backoffs of all five transmissions. For an initial message each
// step's base is the active interval while sinceActivity plus the time
// elapsed so far is under the active threshold, else the idle interval;
// otherwise (a response) it is always the active interval.
func sdkRetransmissionTimeout(iv mrp.Intervals, sinceActivity time.Duration, initial bool) time.Duration {
	iv = iv.Normalize()
	var t time.Duration
	for i := 0; i <= sdkMaxRetrans; i++ {
		base := iv.Active
		if initial && sinceActivity+t >= iv.ActiveThreshold {
			base = iv.Idle
		}
		t += sdkMaxBackoff(base, i)
	}
	return t
}

// LivenessTimeout is ReadClient::ComputeLivenessCheckTimerTimeout: how long
// a subscriber waits for the next report before it declares the
// subscription lost. It is the negotiated max interval plus a round trip as
// the publisher sees it: the time for the report to reach us with all MRP
// retransmissions (GetMessageReceiptTimeout with our own intervals, the
// peer assumed to believe us idle: ourLastActivity = 0, a first message),
// the processing allowance, and the time for our answer to reach the peer
// (our retransmissions with the peer's intervals, not a first message).
// local and peer are the MRP intervals of this node and of the publisher
// (zero fields: spec defaults). With defaults on both sides the margin is
// 7041 ms + 2000 ms + 4224 ms = 13.265 s.
func LivenessTimeout(maxInterval time.Duration, local, peer mrp.Intervals) time.Duration {
	receipt := sdkRetransmissionTimeout(local, time.Duration(1<<62), true)
	back := sdkRetransmissionTimeout(peer, 0, false)
	return maxInterval + receipt + ExpectedIMProcessingTime + back
}

// fibonacci is GetFibonacciForIndex (src/lib/support/FibonacciUtils.cpp):
// F(0)=0, F(1)=1.
func fibonacci(n uint32) uint64 {
	a, b := uint64(0), uint64(1)
	for range n {
		a, b = b, a+b
	}
	return a
}

// ResubscribeDelay is ReadClient::ComputeTimeTillNextSubscription: the wait
// before resubscription attempt number retries+1 (retries counts the
// attempts already made since the last established subscription). The
// window's top is F(retries)·10 s up to Fibonacci step 14, then 5538 s; the
// wait is drawn uniformly from [30 %, 100 %) of it with the 32-bit random
// value r (the SDK's Crypto::GetRandU32() % (max − min)). The first retry
// (retries = 0) has an empty window and waits 0.
func ResubscribeDelay(retries uint32, r uint32) time.Duration {
	var maxMs uint64
	if retries <= ResubscribeMaxFibonacciStep {
		maxMs = fibonacci(retries) * uint64(ResubscribeWaitMultiplier/time.Millisecond)
	} else {
		maxMs = uint64(ResubscribeMaxRetryWait / time.Millisecond)
	}
	if maxMs == 0 {
		return 0
	}
	minMs := ResubscribeMinWaitPercent * maxMs / 100
	return time.Duration(minMs+uint64(r)%(maxMs-minMs)) * time.Millisecond
}

// ClientState is where a SubscriptionClient stands (the SDK's
// ReadClient::ClientState, plus the resubscribe wait).
type ClientState uint8

// Client states.
const (
	ClientIdle                      ClientState = iota // not subscribed, nothing scheduled
	ClientAwaitingInitialReport                        // SubscribeRequest sent, priming chunks arriving
	ClientAwaitingSubscribeResponse                    // priming done, StatusResponse sent
	ClientActive                                       // established; liveness timer running
	ClientResubscribeWait                              // lost; resubscribe timer running
)

// ClientOutputKind says what a ClientOutput is.
type ClientOutputKind uint8

// Client output kinds.
const (
	// ClientSend: send Payload with Opcode, on a new exchange when
	// NewExchange, else on the exchange of the message just handled.
	ClientSend ClientOutputKind = iota + 1
	// ClientReport: a complete (reassembled) report with data.
	ClientReport
	// ClientEstablished: the SubscribeResponse arrived.
	ClientEstablished
	// ClientLost: the subscription ended (Err says why); when a resubscribe
	// is scheduled, Delay is its wait.
	ClientLost
)

// ClientOutput is one output of a SubscriptionClient.
type ClientOutput struct {
	Kind           ClientOutputKind
	NewExchange    bool
	Opcode         Opcode
	Payload        []byte
	ExpectResponse bool
	Report         *ReportData // ClientReport
	SubscriptionID uint32
	MaxInterval    time.Duration // ClientEstablished
	Err            error         // ClientLost
	Resubscribe    bool          // ClientLost: a resubscribe is scheduled after Delay
	Delay          time.Duration
	// ReestablishCASE (ClientLost): the SDK marks the session defunct and
	// sets up a new CASE session before resubscribing when the cause is a
	// timeout (DefaultResubscribePolicy: aReestablishCASE = cause ==
	// CHIP_ERROR_TIMEOUT). Set for ErrLivenessTimeout; the driver decides.
	ReestablishCASE bool
}

// Rand is the random source a SubscriptionClient draws resubscribe jitter
// from (math/rand/v2's *rand.Rand and *rand.PCG-backed sources fit).
type Rand interface{ Uint32() uint32 }

// SubscriptionClient is the subscriber side of one subscription (the SDK's
// ReadClient of InteractionType::Subscribe with auto-resubscribe): it sends
// the SubscribeRequest, answers every ReportData chunk that asks for it
// with a StatusResponse, reassembles chunked reports, arms the liveness
// timer (LivenessTimeout) when the SubscribeResponse arrives and after every
// report, and when the subscription is lost (liveness expiry, a failed
// setup exchange, an error status) waits ResubscribeDelay and subscribes
// again with the same request.
//
// Sans-I/O like the engine: inputs carry now, outputs are drained with
// Poll, NextDeadline says when HandleTimeout is next due. The driver opens
// a new exchange for outputs with NewExchange and passes back every IM
// message of this subscription's exchanges to HandleMessage, and exchange
// failures to HandleExchangeFailed.
//
// Set Request (see NewSubscribeRequest); Local and Peer are the MRP
// intervals of this node and the publisher; Rand is required when
// resubscription is enabled (NoResubscribe false). Not safe for
// concurrent use.
type SubscriptionClient struct {
	Request       SubscribeRequest
	Local, Peer   mrp.Intervals
	Rand          Rand
	NoResubscribe bool
	// LivenessOverride, if non-zero, replaces the computed liveness
	// timeout (ReadClient::OverrideLivenessTimeout).
	LivenessOverride time.Duration

	state       ClientState
	id          uint32
	maxInterval time.Duration
	retries     uint32
	deadline    clock.Time // liveness or resubscribe, by state
	reasm       Reassembler
	out         []ClientOutput
}

// State returns the client's state.
func (c *SubscriptionClient) State() ClientState { return c.state }

// SubscriptionID returns the current (or last) subscription ID.
func (c *SubscriptionClient) SubscriptionID() uint32 { return c.id }

// Retries returns the resubscribe attempts since the last established
// subscription (the SDK's mNumRetries).
func (c *SubscriptionClient) Retries() uint32 { return c.retries }

// Poll returns the next output, or false when there is none.
func (c *SubscriptionClient) Poll() (ClientOutput, bool) {
	if len(c.out) == 0 {
		return ClientOutput{}, false
	}
	o := c.out[0]
	c.out = c.out[1:]
	if len(c.out) == 0 {
		c.out = c.out[:0:0]
	}
	return o, true
}

// NextDeadline returns when HandleTimeout is next due, or clock.Never.
func (c *SubscriptionClient) NextDeadline() clock.Time {
	if c.state == ClientActive || c.state == ClientResubscribeWait {
		return c.deadline
	}
	return clock.Never
}

// Start sends the SubscribeRequest (on a new exchange). It does nothing
// unless the client is idle.
func (c *SubscriptionClient) Start(now clock.Time) {
	if c.state != ClientIdle {
		return
	}
	c.send(now)
}

func (c *SubscriptionClient) send(now clock.Time) {
	c.reasm.Reset()
	c.state = ClientAwaitingInitialReport
	c.out = append(c.out, ClientOutput{Kind: ClientSend, NewExchange: true, Opcode: OpSubscribeRequest,
		Payload: AppendSubscribeRequest(nil, &c.Request), ExpectResponse: true})
}

// Stop ends the subscription locally without resubscribing.
func (c *SubscriptionClient) Stop() {
	c.state = ClientIdle
	c.reasm.Reset()
}

func (c *SubscriptionClient) liveness() time.Duration {
	if c.LivenessOverride > 0 {
		return c.LivenessOverride
	}
	return LivenessTimeout(c.maxInterval, c.Local, c.Peer)
}

func (c *SubscriptionClient) status(st Status) {
	c.out = append(c.out, ClientOutput{Kind: ClientSend, Opcode: OpStatusResponse,
		Payload: AppendStatusResponse(nil, &StatusResponse{Status: st, Revision: Revision})})
}

// lose ends the subscription with cause err and schedules the resubscribe
// (ReadClient::Close → DefaultResubscribePolicy).
func (c *SubscriptionClient) lose(now clock.Time, err error) {
	c.reasm.Reset()
	o := ClientOutput{Kind: ClientLost, SubscriptionID: c.id, Err: err, ReestablishCASE: errors.Is(err, ErrLivenessTimeout)}
	if c.NoResubscribe || c.Rand == nil {
		c.state = ClientIdle
	} else {
		o.Resubscribe, o.Delay = true, ResubscribeDelay(c.retries, c.Rand.Uint32())
		c.state, c.deadline = ClientResubscribeWait, now.Add(o.Delay)
	}
	c.out = append(c.out, o)
}

// HandleTimeout runs the liveness check and the resubscribe timer. A
// resubscribe counts one retry (OnResubscribeTimerCallback's mNumRetries++)
// and sends the request again.
func (c *SubscriptionClient) HandleTimeout(now clock.Time) {
	if now < c.NextDeadline() {
		return
	}
	switch c.state {
	case ClientActive:
		c.lose(now, ErrLivenessTimeout)
	case ClientResubscribeWait:
		c.retries++
		c.send(now)
	}
}

// HandleExchangeFailed reports that an exchange of this subscription gave
// up (no response, MRP retransmissions exhausted). During setup that loses
// the subscription; once active the liveness timer decides.
func (c *SubscriptionClient) HandleExchangeFailed(now clock.Time, err error) {
	if c.state == ClientAwaitingInitialReport || c.state == ClientAwaitingSubscribeResponse {
		if err == nil {
			err = &StatusError{Status: StatusTimeout}
		}
		c.lose(now, err)
	}
}

// HandleMessage processes one IM message from the publisher on one of this
// subscription's exchanges.
func (c *SubscriptionClient) HandleMessage(now clock.Time, op Opcode, payload []byte) {
	switch op {
	case OpReportData:
		c.handleReport(now, payload)
	case OpSubscribeResponse:
		if c.state != ClientAwaitingSubscribeResponse {
			return
		}
		var m SubscribeResponse
		if err := DecodeSubscribeResponse(payload, &m); err != nil {
			c.lose(now, err)
			return
		}
		if m.SubscriptionID != c.id {
			c.lose(now, &StatusError{Status: StatusInvalidSubscription})
			return
		}
		c.maxInterval = time.Duration(m.MaxInterval) * time.Second
		c.state, c.retries = ClientActive, 0
		c.deadline = now.Add(c.liveness())
		c.out = append(c.out, ClientOutput{Kind: ClientEstablished, SubscriptionID: c.id, MaxInterval: c.maxInterval})
	case OpStatusResponse:
		if c.state == ClientAwaitingInitialReport || c.state == ClientAwaitingSubscribeResponse {
			err := statusResponseErr(payload)
			if err == nil {
				err = &StatusError{Status: StatusFailure}
			}
			c.lose(now, err)
		}
	}
}

func (c *SubscriptionClient) handleReport(now clock.Time, payload []byte) {
	var m ReportData
	if err := DecodeReportData(payload, &m); err != nil {
		c.status(StatusInvalidAction)
		if c.state == ClientAwaitingInitialReport {
			c.lose(now, err)
		}
		return
	}
	switch c.state {
	case ClientAwaitingInitialReport:
		if !m.HasSubscriptionID {
			c.status(StatusInvalidAction)
			c.lose(now, &StatusError{Status: StatusInvalidAction})
			return
		}
		if !c.reasm.Pending() {
			c.id = m.SubscriptionID
		}
	case ClientActive:
	default:
		c.status(StatusInvalidSubscription)
		return
	}
	if !m.HasSubscriptionID || m.SubscriptionID != c.id {
		c.status(StatusInvalidSubscription)
		return
	}
	full, done, err := c.reasm.Add(&m)
	if err != nil {
		// A report the client will not hold: refuse it and end the
		// subscription (a later resubscribe starts afresh).
		c.status(StatusResourceExhausted)
		c.lose(now, err)
		return
	}
	if !m.SuppressResponse {
		c.status(StatusSuccess)
	}
	if !done {
		return
	}
	if len(full.AttributeReports) > 0 || full.EventReports != nil {
		c.out = append(c.out, ClientOutput{Kind: ClientReport, SubscriptionID: c.id, Report: full})
	}
	if c.state == ClientAwaitingInitialReport {
		c.state = ClientAwaitingSubscribeResponse
		return
	}
	c.deadline = now.Add(c.liveness())
}
