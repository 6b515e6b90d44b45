package fault

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session/message"
)

func readHex(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	var sb strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		sb.WriteString(strings.ReplaceAll(line, " ", ""))
	}
	b, err := hex.DecodeString(sb.String())
	require.NoError(t, err)
	return b
}

func TestInspectVector(t *testing.T) {
	msg := readHex(t, "pbkdf-param-request.hex")
	frame := BuildUDP6(addrA, addrB, 49152, 5540, msg)
	require.True(t, UDPChecksumValid(frame))
	f := Inspect(frame)
	require.True(t, f.UDP)
	require.Equal(t, addrA, f.Src)
	require.Equal(t, addrB, f.Dst)
	require.Equal(t, uint16(49152), f.SrcPort)
	require.Equal(t, uint16(5540), f.DstPort)
	require.Equal(t, msg, f.Payload)
	require.True(t, f.Matter)
	require.Equal(t, message.SessionID(0), f.Header.SessionID)
	require.Equal(t, uint32(0x17f24f0a), f.Header.Counter)
	require.True(t, f.Header.HasSource)
	require.Equal(t, message.NodeID(0x52636acba7c8a07e), f.Header.Source)
	require.True(t, f.Clear)
	require.Equal(t, uint8(0x20), f.Protocol.Opcode)
	require.Equal(t, uint16(0x64d3), f.Protocol.ExchangeID)
	require.Equal(t, message.ProtocolSecureChannel, f.Protocol.ProtocolID)
	require.False(t, f.Obfuscated())
}

func TestInspectEdgeCases(t *testing.T) {
	// 1. empty, 2. IPv4-looking, 3. IPv6 but not UDP, 4. UDP with a
	// non-Matter payload, 5. secure message: header only.
	require.False(t, Inspect(nil).UDP)
	require.False(t, Inspect(make([]byte, 60)).UDP)
	tcp := BuildUDP6(addrA, addrB, 1, 2, nil)
	tcp[6] = 6
	require.False(t, Inspect(tcp).UDP)
	f := Inspect(BuildUDP6(addrA, addrB, 1, 2, []byte{0xf0, 1, 2}))
	require.True(t, f.UDP)
	require.False(t, f.Matter)
	sec := matterFrame(t, message.Header{SessionID: 0x4242, Counter: 99}, message.ProtocolHeader{}, []byte{1, 2, 3})
	f = Inspect(sec)
	require.True(t, f.Matter)
	require.False(t, f.Clear)
	require.Equal(t, uint32(99), f.Header.Counter)
	// 6. a UDP length shorter than the packet bounds the payload.
	b := BuildUDP6(addrA, addrB, 1, 2, []byte{1, 2, 3, 4})
	b = append(b, 0xAA, 0xBB)
	require.Len(t, Inspect(b).Payload, 4)
}

func TestSetAddrsChecksum(t *testing.T) {
	frame := matterFrame(t, message.Header{SessionID: 7}, message.ProtocolHeader{}, []byte{9, 9})
	c := netip.MustParseAddr("fe80::3")
	out := SetAddrs(frame, netip.Addr{}, c)
	require.True(t, UDPChecksumValid(out))
	require.Equal(t, c, Inspect(out).Dst)
	require.Equal(t, addrA, Inspect(out).Src)
	require.Equal(t, frame[udpPayloadOffset:], out[udpPayloadOffset:], "Matter bytes unchanged")
	require.True(t, UDPChecksumValid(frame), "input untouched")
	require.NotEqual(t, frame, out)
	// Changing the address without fixing the sum breaks it.
	raw := append([]byte(nil), frame...)
	raw[39] ^= 1
	require.False(t, UDPChecksumValid(raw))
}

type frameCase struct {
	name string
	p    Packet
}

func frames(t *testing.T) []frameCase {
	unsecPASE := matterFrame(t, message.Header{Counter: 5, HasSource: true, Source: 1},
		message.ProtocolHeader{Flags: message.InitiatorFlag, Opcode: message.OpPBKDFParamRequest}, []byte{0x15, 0x18})
	unsecIM := matterFrame(t, message.Header{Counter: 6},
		message.ProtocolHeader{Opcode: message.OpIMReadRequest, ProtocolID: message.ProtocolInteractionModel}, nil)
	secure := matterFrame(t, message.Header{SessionID: 0x1234, Counter: 1000}, message.ProtocolHeader{}, make([]byte, 10))
	mcspReq := matterFrame(t, message.Header{SessionID: 0x5555, Flags: message.ControlFlag | message.SecurityFlags(message.SessionGroup),
		Counter: 77, HasSource: true, Source: 2, DestKind: message.DestinationNode, DestNode: 3}, message.ProtocolHeader{}, make([]byte, 8))
	group := matterFrame(t, message.Header{SessionID: 0x5555, Flags: message.SecurityFlags(message.SessionGroup),
		Counter: 78, HasSource: true, Source: 2, DestKind: message.DestinationGroup, DestGroup: 1}, message.ProtocolHeader{}, nil)
	priv := matterFrame(t, message.Header{SessionID: 0x1234, Flags: message.PrivacyFlag, Counter: 1000}, message.ProtocolHeader{}, nil)
	return []frameCase{
		{"pase", Packet{Data: unsecPASE, From: 0, To: 1}},
		{"im", Packet{Data: unsecIM, From: 1, To: 0}},
		{"secure", Packet{Data: secure, From: 0, To: 1}},
		{"mcsp", Packet{Data: mcspReq, From: 2, To: 3}},
		{"group", Packet{Data: group, From: 2, To: -1, Multicast: true}},
		{"private", Packet{Data: priv, From: 0, To: 1}},
		{"junk", Packet{Data: []byte{1, 2, 3}, From: 0, To: 1, Injected: true}},
	}
}

func TestMatch(t *testing.T) {
	fs := frames(t)
	cases := []struct {
		m    Match
		want string // names of matching frames
	}{
		{Match{}, "pase im secure mcsp group private junk"},
		{Match{From: []int{0}}, "pase secure private junk"},
		{Match{To: []int{-1}}, "group"},
		{Match{From: []int{0, 1}, To: []int{0}}, "im"},
		{Match{Multicast: Yes}, "group"},
		{Match{Multicast: No}, "pase im secure mcsp private junk"},
		{Match{Injected: Yes}, "junk"},
		{Match{Matter: MatterMatch{Secure: No}}, "pase im"},
		{Match{Matter: MatterMatch{Secure: Yes}}, "secure mcsp group private"},
		{Match{Matter: MatterMatch{Sessions: []message.SessionID{0x1234}}}, "secure private"},
		{Match{Matter: MatterMatch{Types: []MessageType{{Opcode: message.OpPBKDFParamRequest}}}}, "pase"},
		{Match{Matter: MatterMatch{Types: []MessageType{{Protocol: message.ProtocolInteractionModel, AnyOpcode: true}}}}, "im"},
		// Opcode 0 of protocol 0 is MCSP request, but secure headers hide it.
		{Match{Matter: MatterMatch{Types: []MessageType{{Opcode: 0}}}}, ""},
		{Match{Matter: MCSP()}, "mcsp"},
		{Match{Matter: MatterMatch{Group: Yes, Control: No}}, "group"},
		{Match{Matter: MatterMatch{Dest: []message.DestinationKind{message.DestinationGroup}}}, "group"},
		{Match{Matter: MatterMatch{Counters: []CounterRange{{Lo: 70, Hi: 1000}}}}, "secure mcsp group"},
		{Match{Matter: MatterMatch{Counters: []CounterRange{{Lo: 0xFFFFFF00, Hi: 5}}}}, "pase"},
		{Match{Matter: MatterMatch{PayloadMin: 41}}, "mcsp"},
		{Match{From: []int{2}, Matter: MatterMatch{PayloadMax: 40}}, "group"},
	}
	for _, c := range cases {
		var got []string
		for _, f := range fs {
			if c.m.Matches(&f.p) {
				got = append(got, f.name)
			}
		}
		require.Equal(t, c.want, strings.Join(got, " "), "match %s", c.m.String())
	}
	require.Equal(t, "from 0,1 to 0 multicast genuine session 0x1234 !secure group control dest node counter 1..2 type 0x1/* len 3..0",
		(&Match{From: []int{0, 1}, To: []int{0}, Multicast: Yes, Injected: No, Matter: MatterMatch{
			Sessions: []message.SessionID{0x1234}, Secure: No, Group: Yes, Control: Yes,
			Dest: []message.DestinationKind{message.DestinationNode}, Counters: []CounterRange{{1, 2}},
			Types: []MessageType{{Protocol: 1, AnyOpcode: true}}, PayloadMin: 3}}).String())
}

func TestFilterStage(t *testing.T) {
	fs := frames(t)
	s := Filter{Match: Match{Matter: MatterMatch{Secure: No}}, Stage: LossRandom{P: 1}}.New()
	for _, f := range fs {
		out, d := s.Apply(0, f.p, newRNG(1), nil)
		if f.name == "pase" || f.name == "im" {
			require.Empty(t, out, f.name)
			require.Equal(t, "loss", d.Reason)
		} else {
			require.Len(t, out, 1, f.name)
			require.Equal(t, f.p, out[0].P)
		}
	}
	// Inner state advances only with matching packets: a GE chain stuck in
	// Bad after the first matching packet still passes non-matching ones.
	g := Filter{Match: Match{From: []int{0}}, Stage: LossGE{P: 1, R: 0, LossBad: 1}}.New()
	rng := newRNG(1)
	var out []Out
	var lost0, lost1 int
	for i := range 100 {
		out, _ = g.Apply(clock.Time(i), Packet{From: i % 2}, rng, out[:0])
		if len(out) == 0 {
			if i%2 == 0 {
				lost0++
			} else {
				lost1++
			}
		}
	}
	require.Equal(t, 49, lost0, "first from-0 packet finds Good, the rest Bad")
	require.Zero(t, lost1)
	// nil inner stage passes.
	out, _ = Filter{}.New().Apply(0, Packet{}, rng, nil)
	require.Len(t, out, 1)
}

func FuzzInspect(f *testing.F) {
	f.Add(BuildUDP6(addrA, addrB, 5540, 5540, []byte{4, 0, 0, 0, 10, 0x4f, 0xf2, 0x17, 1, 2, 3, 4, 5, 6, 7, 8, 5, 0x20, 0xd3, 0x64, 0, 0}))
	f.Add([]byte{})
	f.Add(make([]byte, 48))
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := append([]byte(nil), b...)
		fr := Inspect(b)
		require.True(t, bytes.Equal(orig, b), "Inspect must not write")
		if fr.Clear {
			require.True(t, fr.Matter)
		}
		if fr.Matter {
			require.True(t, fr.UDP)
		}
		if fr.UDP {
			c := SetAddrs(b, addrB, addrA)
			l := int(c[44])<<8 | int(c[45])
			if l >= 8 && 40+l <= len(c) {
				require.True(t, UDPChecksumValid(c))
			}
		}
		m := Match{Matter: MatterMatch{Secure: Yes, Counters: []CounterRange{{0, 10}}, Types: []MessageType{{}}}}
		_ = m.Matches(&Packet{Data: b})
	})
}
