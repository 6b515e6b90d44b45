package sim

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/sim/fault"
)

// markRx records each datagram with its socket's Injected mark.
type markRx struct {
	s   *Socket
	got []bool
}

func (r *markRx) HandleDatagram(clock.Time, netip.AddrPort, []byte) {
	r.got = append(r.got, r.s.Injected())
}
func (r *markRx) HandleTimer(clock.Time) {}

// Socket.Injected tells a handler which datagrams came in injected frames;
// OnDeliver sees only frames that reached a node; InjectedStats splits the
// injected frames into delivered and dropped.
func TestInjectedMarkAndDeliverTap(t *testing.T) {
	e, n := newNet(t, 1, 2)
	s0, _ := bind(t, n.Node(0))
	r := &markRx{}
	s1, err := n.Node(1).Bind(MatterPort, r)
	require.NoError(t, err)
	r.s = s1
	var delivered []Packet
	n.OnDeliver(func(_ clock.Time, p Packet) { delivered = append(delivered, p) })
	var frame []byte
	n.OnFrame(func(_ clock.Time, p Packet) {
		if !p.Injected && frame == nil {
			frame = p.Data
		}
	})
	require.NoError(t, s0.Send(ap(Addr(1)), []byte("hi")))
	e.Run()
	n.Inject(e.Now(), Packet{Data: frame, From: 0, To: 1})
	e.Run()
	// An injected frame on a link that loses everything is dropped.
	n.SetLink(0, 1, fault.LossRandom{P: 1}.New())
	n.Inject(e.Now().Add(time.Millisecond), Packet{Data: frame, From: 0, To: 1})
	e.Run()

	require.Equal(t, []bool{false, true}, r.got)
	require.False(t, s1.Injected(), "false outside HandleDatagram")
	require.Len(t, delivered, 2)
	require.False(t, delivered[0].Injected)
	require.True(t, delivered[1].Injected)
	require.Equal(t, 1, delivered[1].To)
	got, dropped := n.InjectedStats()
	require.Equal(t, uint64(1), got)
	require.Equal(t, uint64(1), dropped)
	require.Equal(t, uint64(2), n.Stats().Injected)
}
