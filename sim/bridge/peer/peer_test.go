package peer

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/nodes"
	"mattersim/nodes/commissionee"
	"mattersim/session"
	"mattersim/sim"
)

// gate is the device's transport: it drops everything the device sends
// once shut.
type gate struct {
	*sim.Socket
	shut bool
}

func (g *gate) Send(to netip.AddrPort, p []byte) error {
	if g.shut {
		return nil
	}
	return g.Socket.Send(to, p)
}

// peerRun is one run: node 0 a virtual controller browsing (Browse, as
// `mattersim bridge` gives one), node 1 a commissionable virtual device
// advertising itself (Advertise) with discriminator 3840 and passcode
// 20202021; the controller commissions (or, pair set, pairs with) the
// device of discriminator 3840 with passcode. dropAfterAddNOC shuts the
// device's transport once AddNOC has added its fabric. It returns both
// sides' lines with their virtual times, and the device.
func peerRun(t *testing.T, seed uint64, passcode uint32, pair, dropAfterAddNOC bool) (string, *Device) {
	t.Helper()
	e := sim.New(seed)
	sn, err := sim.NewNetwork(e, sim.NetConfig{})
	require.NoError(t, err)
	ctl, err := sn.AddNode()
	require.NoError(t, err)
	devNode, err := sn.AddNode()
	require.NoError(t, err)
	var out bytes.Buffer
	w := &timed{e: e, b: &out}

	seeds := e.Seeds()
	m, err := session.New(session.Config{}, seeds.ChaCha8(1, "core/entropy"), seeds.PCG(1, "core/jitter"))
	require.NoError(t, err)
	dn := nodes.New(1, 0, m, nil)
	sock, err := devNode.Bind(sim.MatterPort, dn)
	require.NoError(t, err)
	g := &gate{Socket: sock}
	dn.Attach(g)
	dev, err := Advertise(DeviceConfig{Node: dn, Sim: devNode, Commissionable: true, Discriminator: 3840, Passcode: 20202021,
		Name: "device", Epoch: 800_000_000, Out: w})
	require.NoError(t, err)
	if dropAfterAddNOC {
		prev := dev.Handshaker().Notify
		dev.Handshaker().Notify = func(now clock.Time, n *nodes.Node, nt commissionee.Notice) {
			prev(now, n, nt)
			if nt.Kind == commissionee.NoticeFabricAdded {
				g.shut = true
			}
		}
	}
	cfg := ControllerConfig{Sim: ctl, PairDiscriminator: -1, CommissionDiscriminator: 3840, CommissionPasscode: passcode,
		Epoch: 800_000_000, Out: w}
	if pair {
		cfg.PairDiscriminator, cfg.PairPasscode, cfg.CommissionDiscriminator = 3840, passcode, -1
	}
	c, err := Browse(cfg)
	require.NoError(t, err)
	dev.Start(e.Now())
	c.Start(e.Now())
	e.RunUntil(clock.Time(3 * time.Minute))
	return out.String(), dev
}

// timed prefixes every line written with the engine's virtual time.
type timed struct {
	e *sim.Engine
	b *bytes.Buffer
}

func (w *timed) Write(p []byte) (int, error) {
	w.b.WriteString(time.Duration(w.e.Now()).String() + " ")
	return w.b.Write(p)
}

// requireInOrder checks that out holds every want, in order.
func requireInOrder(t *testing.T, out string, want ...string) {
	t.Helper()
	rest := out
	for _, w := range want {
		i := strings.Index(rest, w)
		require.GreaterOrEqual(t, i, 0, "output lacks %q (in order):\n%s", w, out)
		rest = rest[i+len(w):]
	}
}

// TestCommission: the bridge's virtual controller commissions a
// commissionable virtual device it discovers over mDNS on the same sim
// network, end to end with the lines `mattersim bridge` prints (the
// interop tests assert the same lines against real devices): PASE, the
// whole flow, operational discovery, CASE, CommissioningComplete, the
// reads over CASE. The same seed gives the same output, virtual times
// included; another seed another one.
func TestCommission(t *testing.T) {
	a, dev := peerRun(t, 7, 20202021, false, false)
	t.Logf("output:\n%s", a)
	requireInOrder(t, a,
		"node 0 discovered "+dev.Instance()+": D=3840 CM=1 VP=65521+32768 SII=500ms SAI=300ms port 5540",
		"node 0 commissioning "+dev.Instance()+" at [fd00:6d73:696d::2]:5540: PASE with SII=500ms SAI=300ms",
		"node 1 PASE session established with",
		"node 0 commission PASE: session established with [fd00:6d73:696d::2]:5540",
		"node 0 commission ArmFailSafe: ok",
		"node 0 commission Read(LocationCapability, VendorID, ProductID): LocationCapability",
		"node 0 commission SetRegulatoryConfig: ok",
		"node 0 commission CertificateChainRequest(DAC): ok",
		"node 0 commission CertificateChainRequest(PAI): ok",
		"node 0 commission AttestationRequest: verified (DAC vendor 0xFFF1 product 0x8000)",
		"node 0 commission CSRRequest: verified; NOC issued for node 0x0000000000000002",
		"node 0 commission AddTrustedRootCertificate: ok",
		"node 1 AddNOC: fabric 1 added",
		"node 0 commission AddNOC: fabric index 1 (fabric id 0x0000000000000001",
		"node 0 commission operational discovery: ",
		"-0000000000000002._matter._tcp at [fd00:6d73:696d::2]:5540 SII=500ms SAI=300ms",
		"node 0 commission CASE: session established with [fd00:6d73:696d::2]:5540",
		"node 0 commission CommissioningComplete: ok",
		"node 0 commissioned [fd00:6d73:696d::2]:5540 as ",
		`node 0 commission Read(VendorName, CommissionedFabrics): VendorName "mattersim", CommissionedFabrics 1`,
		`node 0 commission Read(VendorName, OnOff): VendorName "mattersim", OnOff false over CASE`,
		"node 0 keeps the CASE session with [fd00:6d73:696d::2]:5540 (node id 0x0000000000000002)",
	)
	require.Contains(t, a, "node 1 commissioning window closed (commissioned): _matterc._udp withdrawn")
	require.NotContains(t, a, "failed")
	require.NotContains(t, a, "disarm")
	d := dev.Handshaker().Device()
	require.False(t, d.WindowOpen())
	require.Len(t, d.Operational(), 1)

	b, _ := peerRun(t, 7, 20202021, false, false)
	require.Equal(t, a, b, "same seed, different output")
	other, _ := peerRun(t, 8, 20202021, false, false)
	require.NotEqual(t, a, other, "the seed changes nothing")
}

// TestPair: --pair-discriminator's PASE, VendorName read and
// CloseSession against the virtual device.
func TestPair(t *testing.T) {
	out, _ := peerRun(t, 7, 20202021, true, false)
	require.Contains(t, out, `node 0 paired with [fd00:6d73:696d::2]:5540 over PASE (local session `)
	require.Contains(t, out, `VendorName "mattersim"`)
	require.NotContains(t, out, "failed")
}

// TestCommissionFails: a wrong passcode fails at PASE (nothing armed,
// nothing to disarm); a device whose answers stop once AddNOC added its
// fabric fails the commissioning at AddNOC, and the controller disarms
// the fail-safe over the PASE session at once (CleanupCommissioning):
// the device rolls the fabric back then, long before its fail-safe
// (commissioner.DefaultFailSafe) would have expired, and its window
// reopens.
func TestCommissionFails(t *testing.T) {
	for _, tc := range []struct {
		name     string
		passcode uint32
		pair     bool
		drop     bool
		want     []string
		wantNot  []string
	}{
		{"wrong passcode", 20202022, false, false,
			[]string{"node 0 commissioning [fd00:6d73:696d::2]:5540 failed at PASE: "}, []string{"disarm", "AddNOC"}},
		{"wrong passcode pairing", 20202022, true, false,
			[]string{"node 0 pairing with [fd00:6d73:696d::2]:5540 failed: "}, []string{"paired with"}},
		{"AddNOC unanswered", 20202021, false, true,
			[]string{
				"node 1 AddNOC: fabric 1 added",
				"node 0 commissioning [fd00:6d73:696d::2]:5540 failed at AddNOC: ",
				"node 0 commission disarm: ArmFailSafe(0) sent over the PASE session with [fd00:6d73:696d::2]:5540",
				"node 1 fail-safe expired: fabric 1 rolled back",
				"node 1 commissioning window open",
				"node 0 commission disarm: no answer (sent ",
			}, []string{"commission AddNOC:", "commissioned"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, dev := peerRun(t, 7, tc.passcode, tc.pair, tc.drop)
			t.Logf("output:\n%s", out)
			requireInOrder(t, out, tc.want...)
			for _, n := range tc.wantNot {
				require.NotContains(t, out, n)
			}
			again, _ := peerRun(t, 7, tc.passcode, tc.pair, tc.drop)
			require.Equal(t, out, again, "same seed, different output")
			if tc.drop {
				d := dev.Handshaker().Device()
				require.Empty(t, d.Operational())
				require.True(t, d.WindowOpen())
				// The rollback came with the disarm, not the fail-safe's
				// expiry (60 s after ArmFailSafe).
				for _, l := range strings.Split(out, "\n") {
					if strings.Contains(l, "rolled back") {
						at, err := time.ParseDuration(strings.Fields(l)[0])
						require.NoError(t, err)
						require.Less(t, at, 50*time.Second, l)
					}
				}
			}
		})
	}
}
