package nodes_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/nodes"
	"mattersim/session"
	"mattersim/session/message"
	"mattersim/session/pase"
)

// TestHostileDatagramsBounded: a PASE-paired device running
// the Responder workload and the PASE handshaker receives 50,000 forged
// unsecured datagrams from ever-new ephemeral ids and exchange ids
// (PBKDFParamRequests it must refuse as busy, Pake1/Pake3 for no pairing,
// IM requests, unknown protocols, stray acks). Its session table and open
// exchanges stay bounded, its PASE session and the controller's reads are
// unharmed. Before the fix every such datagram left an open exchange.
func TestHostileDatagramsBounded(t *testing.T) {
	const n = 50000
	est := &nodes.PASE{Passcode: 20202021, Rand: paseRand}
	f, ns, rd, res := paseNet(t, 1, est)
	f.runUntil(clock.Time(15 * time.Second))
	require.Len(t, *res, 1)
	require.NoError(t, (*res)[0].err)
	dev := ns[1]
	answered := rd.Stats().Answered
	rng := rand.New(rand.NewPCG(3, 4))
	attacker := netip.MustParseAddrPort("[fd00::66]:5540")
	maxSessions, maxExchanges := 0, 0
	for i := range n {
		ph := message.ProtocolHeader{Flags: message.InitiatorFlag, ExchangeID: uint16(rng.Uint32())}
		if rng.IntN(2) == 0 {
			ph.Flags |= message.ReliableFlag
		}
		switch rng.IntN(5) {
		case 0:
			ph.ProtocolID, ph.Opcode = message.ProtocolSecureChannel, pase.OpPBKDFParamRequest
		case 1:
			ph.ProtocolID, ph.Opcode = message.ProtocolSecureChannel, pase.OpPake1+2*uint8(rng.IntN(2))
		case 2:
			ph.ProtocolID, ph.Opcode = message.ProtocolID(im.ProtocolID), uint8(im.OpReadRequest)
		case 3:
			ph.ProtocolID, ph.Opcode = message.ProtocolSecureChannel, message.OpStandaloneAck
		default:
			ph.ProtocolID, ph.Opcode = message.ProtocolID(rng.Uint32()), uint8(rng.Uint32())
		}
		h := message.Header{Counter: rng.Uint32(), HasSource: true, Source: message.NodeID(rng.Uint64() | 1)}
		b := ph.Append(h.Append(nil))
		b = append(b, 0x15, 0x18) // an empty TLV structure
		f.inject(attacker, dev.Addr(), b)
		f.runUntil(f.now.Add(time.Millisecond))
		if i%997 == 0 || i == n-1 {
			sessions, exchanges := 0, 0
			for _, r := range dev.Manager().Sessions() {
				info, ok := dev.Manager().SessionInfo(r)
				require.True(t, ok)
				sessions++
				exchanges += info.Exchanges
			}
			maxSessions, maxExchanges = max(maxSessions, sessions), max(maxExchanges, exchanges)
		}
	}
	f.runUntil(f.now.Add(10 * time.Second))
	// One PASE session plus at most the unsecured table; exchanges only
	// while a refusal or a read is in flight.
	require.LessOrEqual(t, maxSessions, 1+session.DefaultMaxUnsecuredSessions)
	require.LessOrEqual(t, maxExchanges, 4)
	st := dev.Stats()
	require.Positive(t, st.Unhandled)
	require.Equal(t, uint64(n), st.Injected.Unsecured.Received)
	require.Zero(t, st.Injected.Unsecured.Application)
	var secure int
	for _, r := range dev.Manager().Sessions() {
		require.True(t, r.Secure(), "unsecured session %s left behind", r)
		secure++
	}
	require.Equal(t, 1, secure)
	require.Greater(t, rd.Stats().Answered, answered, "reads go on")
	require.Equal(t, uint64(1), est.Stats().Succeeded)
	t.Logf("max sessions %d, max exchanges %d; device stats %+v", maxSessions, maxExchanges, st)
}
