package casesess

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session/cert"
	"mattersim/session/cert/testca"
	"mattersim/session/params"
)

func seeded(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return rand.NewChaCha8(s)
}

// mint mints a test fabric (testca, deterministic) with two nodes: node
// ids 1 (the initiator in these tests) and 2 (the responder).
func mint(t testing.TB, o testca.Options) *testca.Fabric {
	t.Helper()
	if o.Nodes == 0 {
		o.Nodes = 2
	}
	f, err := testca.Mint(o)
	require.NoError(t, err)
	return f
}

func fabricOf(t testing.TB, f *testca.Fabric, index uint8, node int) *Fabric {
	t.Helper()
	fb, err := FabricFromTestCA(index, f, node)
	require.NoError(t, err)
	return fb
}

// testEpoch is the Matter epoch time of clock zero in these tests: well
// inside the testca default validity (not before 2020-01-01).
var testEpoch = func() cert.Time {
	e, _ := cert.Date(2026, 12, 4, 0, 0, 0)
	return e
}()

func present(p SessionParams, fs ...params.Field) *SessionParams {
	for _, f := range fs {
		p.Set(f)
	}
	return &p
}

var (
	iParams = present(SessionParams{IdleInterval: 5000 * time.Millisecond, ActiveInterval: 300 * time.Millisecond},
		params.IdleInterval, params.ActiveInterval)
	rParams = present(SessionParams{IdleInterval: 500 * time.Millisecond, ActiveInterval: 300 * time.Millisecond,
		ActiveThreshold: 4 * time.Second}, params.IdleInterval, params.ActiveInterval, params.ActiveThreshold)
)

// pair builds an initiator (fabric node 0, addressing node 1's id) and a
// responder (node 1) with the given tables; mut hooks edit the configs.
type pairOpts struct {
	fab          *testca.Fabric
	seed         uint64
	iTable       *Resumption
	rTable       *Resumption
	mutI         func(*InitiatorConfig)
	mutR         func(*ResponderConfig)
	respFabrics  []*Fabric
	initFabric   *Fabric
	peerNodeID   uint64
	skipValidate bool
}

func newPair(t testing.TB, o pairOpts) (*Initiator, *Responder) {
	t.Helper()
	if o.fab == nil {
		o.fab = mint(t, testca.Options{Seed: 1})
	}
	ic := InitiatorConfig{Fabric: o.initFabric, PeerNodeID: o.peerNodeID, LocalSessionID: 0x1111,
		Params: iParams, Rand: seeded(o.seed), Epoch: testEpoch, Resumption: o.iTable}
	if ic.Fabric == nil {
		ic.Fabric = fabricOf(t, o.fab, 1, 0)
	}
	if ic.PeerNodeID == 0 {
		ic.PeerNodeID = o.fab.NodeID(1)
	}
	rc := ResponderConfig{Fabrics: o.respFabrics, LocalSessionID: 0x2222, Params: rParams,
		Rand: seeded(o.seed + 1000), Epoch: testEpoch, Resumption: o.rTable}
	if rc.Fabrics == nil {
		rc.Fabrics = []*Fabric{fabricOf(t, o.fab, 3, 1)}
	}
	if o.mutI != nil {
		o.mutI(&ic)
	}
	if o.mutR != nil {
		o.mutR(&rc)
	}
	ini, err := NewInitiator(ic)
	require.NoError(t, err)
	resp, err := NewResponder(rc)
	require.NoError(t, err)
	return ini, resp
}

type wireMsg struct {
	from    string
	opcode  uint8
	payload []byte
}

// tamper, when set, may rewrite a message in flight (index k of the run).
type tamperFunc func(k int, m *wireMsg)

// drive runs the handshake in-process at now until nobody has anything to
// send; it returns the messages and the last error of each side.
func drive(t testing.TB, ini *Initiator, resp *Responder, now clock.Time, tamper tamperFunc) (msgs []wireMsg, iErr, rErr error) {
	t.Helper()
	out, err := ini.Start(now)
	require.NoError(t, err)
	for out.Send {
		m := wireMsg{"I", out.Opcode, out.Payload}
		if tamper != nil {
			tamper(len(msgs), &m)
		}
		msgs = append(msgs, m)
		out, rErr = resp.Handle(now, m.opcode, m.payload)
		if !out.Send {
			break
		}
		m = wireMsg{"R", out.Opcode, out.Payload}
		if tamper != nil {
			tamper(len(msgs), &m)
		}
		msgs = append(msgs, m)
		out, iErr = ini.Handle(now, m.opcode, m.payload)
	}
	return msgs, iErr, rErr
}

func opcodes(msgs []wireMsg) []uint8 {
	var ops []uint8
	for _, m := range msgs {
		ops = append(ops, m.opcode)
	}
	return ops
}
