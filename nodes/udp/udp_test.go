package udp

import (
	"crypto/rand"
	"encoding/binary"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session"
	"mattersim/session/mrp"
)

func listen(t *testing.T) *net.UDPConn {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	require.NoError(t, err)
	return c
}

// TestLoopback1000With20PercentDrop: two cores over real UDP on loopback
// exchange 1,000 reliable messages with 20% of datagrams dropped at each
// adapter (both directions); every message is delivered exactly once.
// MRP intervals are shortened (5/10 ms) so the run takes well under a
// few seconds; 10 transmissions make a lost message (0.2^10) negligible.
func TestLoopback1000With20PercentDrop(t *testing.T) {
	const total, window = 1000, 8 // window: exchanges in flight
	cfg := session.Config{MRP: mrp.Config{MaxTransmissions: 10, StandaloneAckTimeout: 5 * time.Millisecond}}
	fast := mrp.Intervals{Idle: 10 * time.Millisecond, Active: 5 * time.Millisecond, ActiveThreshold: time.Second}
	mk := func(seed uint64) *Node {
		m, err := session.New(cfg, rand.Reader, mrand.NewPCG(seed, seed))
		require.NoError(t, err)
		m.RegisterUnsolicited(session.Unsolicited{Protocol: 4, AnyOpcode: true, Secure: true})
		drops := mrand.New(mrand.NewPCG(seed, 99))
		return Start(listen(t), m, Options{Drop: func(netip.AddrPort, []byte) bool { return drops.Float64() < 0.2 }})
	}
	a, b := mk(1), mk(2)
	defer a.Close()
	defer b.Close()

	var ida, idb uint16
	require.NoError(t, a.Do(func(m *session.Manager, now clock.Time) { ida, _ = m.ReserveLocalID(now) }))
	require.NoError(t, b.Do(func(m *session.Manager, now clock.Time) { idb, _ = m.ReserveLocalID(now) }))
	var i2r, r2i [16]byte
	_, _ = rand.Read(i2r[:])
	_, _ = rand.Read(r2i[:])
	var ra session.Ref
	var err error
	require.NoError(t, a.Do(func(m *session.Manager, now clock.Time) {
		ra, err = m.InstallSecureSession(now, session.SecureSession{Kind: session.PASE, Initiator: true, LocalID: ida, PeerID: idb, Peer: b.Addr(), I2RKey: i2r, R2IKey: r2i, PeerIntervals: fast})
	}))
	require.NoError(t, err)
	require.NoError(t, b.Do(func(m *session.Manager, now clock.Time) {
		_, err = m.InstallSecureSession(now, session.SecureSession{Kind: session.PASE, LocalID: idb, PeerID: ida, Peer: a.Addr(), I2RKey: i2r, R2IKey: r2i, PeerIntervals: fast})
	}))
	require.NoError(t, err)

	// Receiver: count deliveries, close each responder exchange (flushes the ack).
	delivered := make([]int, total)
	byX := map[session.Exchange]int{}
	open := map[int]bool{}
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		got := 0
		for e := range b.Events() {
			if e.Kind != session.EventMessage {
				continue
			}
			delivered[binary.LittleEndian.Uint32(e.Payload)]++
			_ = b.Do(func(m *session.Manager, now clock.Time) { _ = m.CloseExchange(now, e.Exchange) })
			if got++; got == total {
				return
			}
		}
	}()

	// Sender: keep up to `window` exchanges in flight; each settles with an
	// ack or a give-up, then its exchange closes.
	start := time.Now()
	sent, settled, gaveUp := 0, 0, 0
	send := func() {
		var payload [4]byte
		binary.LittleEndian.PutUint32(payload[:], uint32(sent))
		require.NoError(t, a.Do(func(m *session.Manager, now clock.Time) {
			x, err := m.NewExchange(ra)
			require.NoError(t, err)
			byX[x] = sent
			require.NoError(t, m.Send(now, x, session.Message{Protocol: 4, Opcode: 1, Payload: payload[:], Reliable: true}))
			require.NoError(t, m.CloseExchange(now, x))
		}))
		open[sent] = true
		sent++
	}
	// Flow control: never let the oldest unsettled message fall 32 or more
	// counters behind the newest (a sends nothing but these messages, one
	// counter each). Otherwise a late retransmission lands before b's
	// 32-counter window and is acked as a duplicate without delivery
	// (spec 4.6.5; see session.TestSpec_4_6_5_RetransmissionBehindWindow).
	canSend := func() bool {
		if sent >= total || len(open) >= window {
			return false
		}
		oldest := sent
		for i := range open {
			oldest = min(oldest, i)
		}
		return sent-oldest < 24
	}
	for sent < window {
		send()
	}
	deadline := time.After(20 * time.Second)
	for settled < total {
		select {
		case e := <-a.Events():
			switch e.Kind {
			case session.EventGiveUp:
				gaveUp++
			case session.EventExchangeClosed:
				settled++
				delete(open, byX[e.Exchange])
				for canSend() {
					send()
				}
			}
		case <-deadline:
			t.Fatalf("timeout: sent %d settled %d", sent, settled)
		}
	}
	select {
	case <-recvDone:
	case <-time.After(5 * time.Second):
		t.Fatal("receiver did not get every message")
	}
	t.Logf("1000 messages in %s, %d give-ups (acks lost)", time.Since(start), gaveUp)
	for i, n := range delivered {
		require.Equal(t, 1, n, "message %d delivered %d times", i, n)
	}
}
