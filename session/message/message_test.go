package message

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type vector struct {
	name   string
	line   int
	fields map[string]string
}

func (v vector) has(k string) bool { _, ok := v.fields[k]; return ok }

func (v vector) bytes(t *testing.T, k string) []byte {
	t.Helper()
	b, err := hex.DecodeString(v.fields[k])
	require.NoError(t, err, "%s: %s", v.name, k)
	return b
}

func (v vector) uint(t *testing.T, k string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(v.fields[k], 0, 64)
	require.NoError(t, err, "%s: %s", v.name, k)
	return n
}

func loadVectors(t testing.TB) []vector {
	f, err := os.Open("testdata/vectors.txt")
	require.NoError(t, err)
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		parts := strings.Fields(s)
		v := vector{name: parts[0], line: line, fields: map[string]string{}}
		for _, p := range parts[1:] {
			k, val, ok := strings.Cut(p, "=")
			require.True(t, ok, "line %d: %q", line, p)
			v.fields[k] = val
		}
		vs = append(vs, v)
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, vs)
	return vs
}

var reasonByName = map[string]Reason{
	"truncated":             ReasonTruncated,
	"unsupported-version":   ReasonVersion,
	"reserved-dsiz":         ReasonReservedDSIZ,
	"reserved-session-type": ReasonReservedSessionType,
	"group-dest-on-unicast": ReasonGroupDestOnUnicast,
}

// TestVectors decodes every vector, checks each field, and re-encodes the
// headers to the same bytes (spec 4.4.1, 4.4.3).
func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			raw := v.bytes(t, "hex")
			var h Header
			n, err := h.Decode(raw)
			if v.has("err") {
				name, off, _ := strings.Cut(v.fields["err"], "@")
				var de *DecodeError
				require.ErrorAs(t, err, &de)
				require.Equal(t, reasonByName[name], de.Reason, "%v", de)
				wantOff, _ := strconv.Atoi(off)
				require.Equal(t, wantOff, de.Offset)
				require.Zero(t, n)
				return
			}
			require.NoError(t, err)
			require.Equal(t, int(v.uint(t, "hlen")), n)
			require.Equal(t, n, h.Len())
			require.Equal(t, SessionID(v.uint(t, "sid")), h.SessionID)
			require.Equal(t, SecurityFlags(v.uint(t, "secflags")), h.Flags)
			require.Equal(t, uint32(v.uint(t, "counter")), h.Counter)
			require.Equal(t, v.fields["secure"] == "true", h.IsSecure())
			require.Equal(t, v.has("src"), h.HasSource)
			if v.has("src") {
				require.Equal(t, NodeID(v.uint(t, "src")), h.Source)
			}
			switch {
			case v.has("dstnode"):
				require.Equal(t, DestinationNode, h.DestKind)
				require.Equal(t, NodeID(v.uint(t, "dstnode")), h.DestNode)
			case v.has("dstgroup"):
				require.Equal(t, DestinationGroup, h.DestKind)
				require.Equal(t, GroupID(v.uint(t, "dstgroup")), h.DestGroup)
			default:
				require.Equal(t, DestinationNone, h.DestKind)
			}
			require.Equal(t, v.has("mx"), h.Flags.Extensions())
			if v.has("mx") {
				require.Equal(t, v.bytes(t, "mx"), []byte(h.Extensions))
			}
			require.Equal(t, raw[:n], h.Append(nil), "header re-encodes to the same bytes")

			if !v.has("exflags") {
				return
			}
			var p ProtocolHeader
			m, err := p.Decode(raw[n:])
			require.NoError(t, err)
			require.Equal(t, m, p.Len())
			require.Equal(t, ExchangeFlags(v.uint(t, "exflags")), p.Flags)
			require.Equal(t, uint8(v.uint(t, "opcode")), p.Opcode)
			require.Equal(t, uint16(v.uint(t, "exch")), p.ExchangeID)
			require.Equal(t, ProtocolID(v.uint(t, "proto")), p.ProtocolID)
			require.Equal(t, v.has("ack"), p.Flags.Ack())
			if v.has("ack") {
				require.Equal(t, uint32(v.uint(t, "ack")), p.AckCounter)
			}
			require.Equal(t, v.has("sx"), p.Flags.SecuredExtensions())
			if v.has("sx") {
				require.Equal(t, v.bytes(t, "sx"), []byte(p.SecuredExtensions))
			}
			require.Equal(t, v.bytes(t, "payload"), raw[n+m:])
			require.Equal(t, raw[n:n+m], p.Append(nil))
		})
	}
}

// TestTruncations feeds every proper prefix of every valid vector to both
// decoders: each must fail with a typed truncation error, never panic or
// read past the slice (the prefix is re-sliced to cap == len).
func TestTruncations(t *testing.T) {
	for _, v := range loadVectors(t) {
		if v.has("err") {
			continue
		}
		raw := v.bytes(t, "hex")
		hlen := int(v.uint(t, "hlen"))
		for i := range hlen {
			var h Header
			n, err := h.Decode(raw[:i:i])
			var de *DecodeError
			require.ErrorAs(t, err, &de, "%s[:%d]", v.name, i)
			require.Equal(t, ReasonTruncated, de.Reason)
			require.LessOrEqual(t, de.Offset, i)
			require.Zero(t, n)
		}
		if !v.has("exflags") {
			continue
		}
		var p ProtocolHeader
		full, err := p.Decode(raw[hlen:])
		require.NoError(t, err)
		for i := range full {
			b := raw[hlen : hlen+i : hlen+i]
			n, err := p.Decode(b)
			var de *DecodeError
			require.ErrorAs(t, err, &de, "%s protocol[:%d]", v.name, i)
			require.Equal(t, ReasonTruncated, de.Reason)
			require.Zero(t, n)
		}
	}
}

func randomHeader(r *rand.Rand) Header {
	h := Header{
		SessionID: SessionID(r.Uint32()),
		Flags:     SecurityFlags(r.Uint32()) &^ 0x02, // session type 0 or 1
		Counter:   r.Uint32(),
		HasSource: r.IntN(2) == 0,
		DestKind:  DestinationKind(r.IntN(3)),
	}
	if h.HasSource {
		h.Source = NodeID(r.Uint64())
	}
	switch h.DestKind {
	case DestinationNode:
		h.DestNode = NodeID(r.Uint64())
	case DestinationGroup:
		h.DestGroup = GroupID(r.Uint32())
		h.Flags = h.Flags&^sessionTypeMask | GroupSessionFlag
	}
	if h.Flags.Extensions() {
		h.Extensions = make([]byte, r.IntN(20))
		for i := range h.Extensions {
			h.Extensions[i] = byte(r.Uint32())
		}
	}
	return h
}

func randomProtocolHeader(r *rand.Rand) ProtocolHeader {
	p := ProtocolHeader{
		Flags:      ExchangeFlags(r.Uint32()),
		Opcode:     uint8(r.Uint32()),
		ExchangeID: uint16(r.Uint32()),
		ProtocolID: ProtocolID(r.Uint32()),
	}
	if p.Flags.Vendor() {
		p.VendorID = uint16(r.Uint32())
	}
	if p.Flags.Ack() {
		p.AckCounter = r.Uint32()
	}
	if p.Flags.SecuredExtensions() {
		p.SecuredExtensions = make([]byte, r.IntN(20))
		for i := range p.SecuredExtensions {
			p.SecuredExtensions[i] = byte(r.Uint32())
		}
	}
	return p
}

// TestHeaderRoundTripProperty: for random valid headers, encode → decode
// gives the same value and encode → decode → encode the same bytes; the
// encoding has Len bytes and matches a naive field-by-field model.
func TestHeaderRoundTripProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		h := randomHeader(r)
		b := h.Append([]byte{0xEE}) // appends after existing content
		require.Equal(t, byte(0xEE), b[0])
		b = b[1:]
		require.Len(t, b, h.Len())
		require.Equal(t, naiveEncode(&h), b)
		var g Header
		n, err := g.Decode(append(b, 0xAB, 0xCD)) // trailing payload is not consumed
		require.NoError(t, err)
		require.Equal(t, len(b), n)
		if len(h.Extensions) == 0 && g.Extensions != nil {
			g.Extensions = h.Extensions // nil vs empty
		}
		require.Equal(t, h, g)
		require.Equal(t, b, g.Append(nil))
		wantPL := 4
		if h.HasSource {
			wantPL += 8
		}
		wantPL += [...]int{0, 8, 2}[h.DestKind]
		require.Equal(t, wantPL, h.PrivacyLen())
		pl, ok := PrivacyLen(b[0])
		require.True(t, ok)
		require.Equal(t, wantPL, pl)
	}
}

// naiveEncode is the spec 4.4.1 layout written out byte by byte.
func naiveEncode(h *Header) []byte {
	var buf bytes.Buffer
	mf := byte(h.DestKind)
	if h.HasSource {
		mf |= 4
	}
	le := func(v uint64, n int) {
		for i := range n {
			buf.WriteByte(byte(v >> (8 * i)))
		}
	}
	buf.WriteByte(mf)
	le(uint64(h.SessionID), 2)
	buf.WriteByte(byte(h.Flags))
	le(uint64(h.Counter), 4)
	if h.HasSource {
		le(uint64(h.Source), 8)
	}
	switch h.DestKind {
	case DestinationNode:
		le(uint64(h.DestNode), 8)
	case DestinationGroup:
		le(uint64(h.DestGroup), 2)
	}
	if h.Flags&ExtensionsFlag != 0 {
		le(uint64(len(h.Extensions)), 2)
		buf.Write(h.Extensions)
	}
	return buf.Bytes()
}

func TestProtocolHeaderRoundTripProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		p := randomProtocolHeader(r)
		b := p.Append(nil)
		require.Len(t, b, p.Len())
		var q ProtocolHeader
		n, err := q.Decode(append(b, 1, 2, 3))
		require.NoError(t, err)
		require.Equal(t, len(b), n)
		if len(p.SecuredExtensions) == 0 && q.SecuredExtensions != nil {
			q.SecuredExtensions = p.SecuredExtensions
		}
		require.Equal(t, p, q)
		require.Equal(t, b, q.Append(nil))
	}
}

// TestDecodeOverwrites: Decode resets fields a previous decode set.
func TestDecodeOverwrites(t *testing.T) {
	h := Header{HasSource: true, Source: 9, DestKind: DestinationNode, DestNode: 3, Extensions: []byte{1}}
	_, err := h.Decode([]byte{0, 0, 0, 0, 1, 0, 0, 0})
	require.NoError(t, err)
	require.Equal(t, Header{Counter: 1}, h)
	p := ProtocolHeader{VendorID: 5, AckCounter: 7, SecuredExtensions: []byte{1}}
	_, err = p.Decode([]byte{1, 2, 3, 0, 1, 0})
	require.NoError(t, err)
	require.Equal(t, ProtocolHeader{Flags: InitiatorFlag, Opcode: 2, ExchangeID: 3, ProtocolID: 1}, p)
}

// TestReservedMessageFlagBitIgnored: bit 3 of the message flags is ignored
// on receipt and sent as 0 (spec 4.4.1.1).
func TestReservedMessageFlagBitIgnored(t *testing.T) {
	var h Header
	n, err := h.Decode([]byte{0x08, 1, 0, 0, 2, 0, 0, 0})
	require.NoError(t, err)
	require.Equal(t, 8, n)
	require.Equal(t, []byte{0x00, 1, 0, 0, 2, 0, 0, 0}, h.Append(nil))
}

func TestVendorAndFullProtocolID(t *testing.T) {
	p := ProtocolHeader{Flags: VendorFlag | InitiatorFlag, Opcode: 0x01, ExchangeID: 0x1234, VendorID: 0xFFF1, ProtocolID: 0xAABB}
	b := p.Append(nil)
	require.Equal(t, []byte{0x11, 0x01, 0x34, 0x12, 0xF1, 0xFF, 0xBB, 0xAA}, b)
	require.Equal(t, uint32(0xFFF1AABB), p.FullProtocolID())
	require.False(t, p.Is(0xAABB, 0x01), "vendor protocol is not the standard one")
	q := ProtocolHeader{ProtocolID: ProtocolInteractionModel, Opcode: OpIMReadRequest}
	require.True(t, q.Is(ProtocolInteractionModel, OpIMReadRequest))
}

func TestValidityHelpers(t *testing.T) {
	g := Header{Flags: GroupSessionFlag | PrivacyFlag, HasSource: true, DestKind: DestinationGroup}
	require.True(t, g.IsValidGroupMessage())
	require.False(t, g.IsValidMCSPMessage())
	g.HasSource = false
	require.False(t, g.IsValidGroupMessage())
	m := Header{Flags: GroupSessionFlag | ControlFlag, HasSource: true, DestKind: DestinationNode}
	require.True(t, m.IsValidMCSPMessage())
	require.False(t, m.IsValidGroupMessage())
	require.True(t, m.IsSecure())
	require.False(t, (&Header{}).IsSecure())
	require.True(t, (&Header{Flags: GroupSessionFlag}).IsSecure(), "session 0 with group type is secure")
}

func TestStrings(t *testing.T) {
	require.Equal(t, "group", SessionGroup.String())
	require.Equal(t, "reserved(3)", SessionType(3).String())
	err := error(&DecodeError{Field: "source node id", Offset: 8, Reason: ReasonTruncated})
	require.Equal(t, "message: source node id at offset 8: truncated", err.Error())
	require.Equal(t, "Reason(99)", Reason(99).String())
	var de *DecodeError
	require.True(t, errors.As(err, &de))
}

func TestPrivacyLenRejects(t *testing.T) {
	_, ok := PrivacyLen(0x03)
	require.False(t, ok)
	_, ok = PrivacyLen(0x10)
	require.False(t, ok)
}

func TestZeroAllocs(t *testing.T) {
	raw := []byte{0x06, 0x12, 0xa5, 0x81, 0x78, 0x56, 0x34, 0x12,
		0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x01, 0x01, 0x05, 0x02, 0x10, 0x00, 0x01, 0x00}
	buf := make([]byte, 0, 64)
	var h Header
	var p ProtocolHeader
	allocs := testing.AllocsPerRun(100, func() {
		n, err := h.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Decode(raw[n:]); err != nil {
			t.Fatal(err)
		}
		buf = p.Append(h.Append(buf[:0]))
	})
	require.Zero(t, allocs)
}

// TestInvalidDestKindEncodesAsNone: an out-of-range DestKind never produces
// the reserved DSIZ=3 on the wire.
func TestInvalidDestKindEncodesAsNone(t *testing.T) {
	h := Header{DestKind: 3, DestNode: 1}
	b := h.Append(nil)
	require.Equal(t, []byte{0, 0, 0, 0, 0, 0, 0, 0}, b)
	require.Equal(t, len(b), h.Len())
}
