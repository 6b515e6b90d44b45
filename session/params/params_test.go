package params

import (
	"bufio"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/tlv"
)

type vector struct {
	name      string
	roundtrip bool
	wire      []byte
	want      string
}

func loadVectors(t testing.TB) []vector {
	f, err := os.Open("testdata/vectors.txt")
	require.NoError(t, err)
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		head, want, ok := strings.Cut(line, " want=")
		require.True(t, ok, line)
		v := vector{want: want}
		for _, w := range strings.Fields(head) {
			switch {
			case w == "roundtrip":
				v.roundtrip = true
			case strings.HasPrefix(w, "hex="):
				v.wire, err = hex.DecodeString(strings.TrimPrefix(w, "hex="))
				require.NoError(t, err, line)
			default:
				v.name = w
			}
		}
		require.NotEmpty(t, v.wire, line)
		vs = append(vs, v)
	}
	require.NoError(t, sc.Err())
	require.Len(t, vs, 14)
	return vs
}

func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			p, err := Parse(v.wire)
			if prefix, ok := strings.CutPrefix(v.want, "error "); ok {
				require.Error(t, err)
				require.True(t, strings.HasPrefix(err.Error(), prefix), "error %q, want prefix %q", err, prefix)
				return
			}
			require.NoError(t, err)
			require.Equal(t, v.want, p.String())
			if v.roundtrip {
				require.Equal(t, hex.EncodeToString(v.wire), hex.EncodeToString(p.Append(nil)))
			}
		})
	}
}

func TestMatterJSPayload(t *testing.T) {
	vs := loadVectors(t)
	p, err := Parse(vs[0].wire)
	require.NoError(t, err)
	require.Equal(t, uint32(0x01060000), p.SpecificationVersion)
	require.True(t, p.Has(SupportedTransports))
	require.Equal(t, Transports(0), p.SupportedTransports)
	require.False(t, p.Has(MaxTCPMessageSize))
	e := p.Effective()
	require.Equal(t, 500*time.Millisecond, e.IdleInterval)
	require.Equal(t, uint32(DefaultMaxTCPMessageSize), e.MaxTCPMessageSize)
}

func TestLocalIsSDKEncoding(t *testing.T) {
	vs := loadVectors(t)
	require.Equal(t, hex.EncodeToString(vs[1].wire), hex.EncodeToString(Local().Append(nil)))
}

func TestMissingFieldsTakeDefaults(t *testing.T) {
	p, err := Parse([]byte{0x15, 0x24, 0x0a, 0x01, 0x18}) // only an unknown tag
	require.NoError(t, err)
	for f := IdleInterval; f <= MaxTCPMessageSize; f++ {
		require.False(t, p.Has(f), f.String())
	}
	e := p.Effective()
	require.Equal(t, DefaultIdleInterval, e.IdleInterval)
	require.Equal(t, DefaultActiveInterval, e.ActiveInterval)
	require.Equal(t, DefaultActiveThreshold, e.ActiveThreshold)
	require.Equal(t, uint16(DefaultMaxPathsPerInvoke), e.MaxPathsPerInvoke)
	require.Equal(t, uint16(0), e.DataModelRevision, "no default: absent means an older peer")
	for f := IdleInterval; f <= MaxTCPMessageSize; f++ {
		require.False(t, e.Has(f), "Effective keeps presence")
	}

	// A present zero is not absent.
	var z Params
	z.Set(ActiveThreshold)
	require.Equal(t, time.Duration(0), z.Effective().ActiveThreshold)
}

func TestEffectiveClamps(t *testing.T) {
	var p Params
	p.IdleInterval, p.ActiveInterval = 2*time.Hour, 90*time.Minute
	p.Set(IdleInterval)
	p.Set(ActiveInterval)
	e := p.Effective()
	require.Equal(t, MaxInterval, e.IdleInterval)
	require.Equal(t, MaxInterval, e.ActiveInterval)
	require.Equal(t, 2*time.Hour, p.IdleInterval, "Effective returns a copy")
}

func TestRoundTripAllFields(t *testing.T) {
	p := Params{
		IdleInterval:             0xFFFFFFFF * time.Millisecond,
		ActiveInterval:           1 * time.Millisecond,
		ActiveThreshold:          0xFFFF * time.Millisecond,
		DataModelRevision:        0xFFFF,
		InteractionModelRevision: 1,
		SpecificationVersion:     0x01040100,
		MaxPathsPerInvoke:        300,
		SupportedTransports:      TCPClient | TCPServer,
		MaxTCPMessageSize:        0xFFFFFFFF,
	}
	for f := IdleInterval; f <= MaxTCPMessageSize; f++ {
		p.Set(f)
	}
	got, err := Parse(p.Append(nil))
	require.NoError(t, err)
	require.Equal(t, p, got)

	// Encoding inside a message under a context tag (PBKDFParamRequest tag 5).
	w := tlv.NewWriter(nil)
	w.StartStruct(tlv.AnonymousTag())
	w.PutUint(tlv.ContextTag(2), 7)
	p.Encode(w, tlv.ContextTag(5))
	w.EndContainer()
	r := tlv.NewReader(w.Bytes())
	require.NoError(t, r.Next())
	require.NoError(t, r.Enter())
	require.NoError(t, r.Next())
	require.NoError(t, r.Next())
	require.Equal(t, tlv.ContextTag(5), r.Tag())
	got, err = Decode(r)
	require.NoError(t, err)
	require.Equal(t, p, got)
	require.NoError(t, r.Exit())
}

func TestEncodeSaturates(t *testing.T) {
	var p Params
	p.ActiveThreshold = 100 * time.Second // > u16 ms
	p.IdleInterval = -time.Second
	p.Set(ActiveThreshold)
	p.Set(IdleInterval)
	got, err := Parse(p.Append(nil))
	require.NoError(t, err)
	require.Equal(t, 0xFFFF*time.Millisecond, got.ActiveThreshold)
	require.Equal(t, time.Duration(0), got.IdleInterval)
}

func TestErrorsAreTyped(t *testing.T) {
	_, err := Parse([]byte{0x15, 0x26, 0x03, 0, 0, 1, 0, 0x18})
	var re *RangeError
	require.True(t, errors.As(err, &re))
	require.Equal(t, ActiveThreshold, re.Field)
	require.Equal(t, uint64(65536), re.Value)

	_, err = Parse([]byte{0x15, 0x28, 0x01, 0x18})
	var de *DecodeError
	require.True(t, errors.As(err, &de))
	require.Equal(t, IdleInterval, de.Field)
	var te *tlv.DecodeError
	require.True(t, errors.As(err, &te), "the TLV error is wrapped")

	_, err = Parse([]byte{0x15, 0x24, 0x01}) // truncated
	require.True(t, errors.As(err, &de))

	_, err = Parse([]byte{0x15, 0x18, 0x15, 0x18}) // trailing element
	require.True(t, errors.As(err, &de))
}

func TestFieldString(t *testing.T) {
	require.Equal(t, "max-tcp-message-size", MaxTCPMessageSize.String())
	require.Equal(t, "field(10)", Field(10).String())
	require.Equal(t, "field(0)", Field(0).String())
	var p Params
	p.Set(Field(12)) // out of range: ignored
	require.False(t, p.Has(Field(12)))
	require.Equal(t, "{}", p.String())
}

func FuzzSessionParams(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.wire)
	}
	f.Add(Local().Append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		_ = p.String()
		_ = p.Effective()
		// Canonical round trip: re-encoding and re-decoding is stable.
		enc := p.Append(nil)
		if p == (Params{}) {
			// Nothing known was present: the empty structure it encodes
			// to is refused, as by the SDK.
			if _, err := Parse(enc); err == nil {
				t.Fatalf("empty structure %x accepted", enc)
			}
			return
		}
		q, err := Parse(enc)
		if err != nil {
			t.Fatalf("re-decode of %x: %v", enc, err)
		}
		if q != p {
			t.Fatalf("round trip: %v != %v", q, p)
		}
		if enc2 := q.Append(nil); string(enc2) != string(enc) {
			t.Fatalf("encoding not canonical: %x vs %x", enc, enc2)
		}
	})
}

// Tags 8 and 9 (TCP, Matter 1.4) are future-proofing territory for the
// SDK: connectedhomeip src/protocols/secure_channel/tests/
// TestPairingSession.cpp writes tag 8 as the u32 0x777666 and expects
// success. A value that does not fit (or is not an integer) there ends
// the reading like an unknown tag; fields before it are kept. Tags 1..7
// stay strict.
func TestFutureTagsTolerated(t *testing.T) {
	for i, tc := range []struct {
		put  func(w *tlv.Writer)
		want bool // tag 8 recorded
	}{
		{func(w *tlv.Writer) { w.PutUint(tlv.ContextTag(8), 0x777666) }, false},
		{func(w *tlv.Writer) { w.StartStruct(tlv.ContextTag(8)); w.EndContainer() }, false},
		{func(w *tlv.Writer) { w.PutUint(tlv.ContextTag(8), 1) }, true},
	} {
		w := tlv.NewWriter(nil)
		w.StartStruct(tlv.AnonymousTag())
		w.PutUint(tlv.ContextTag(1), 500)
		tc.put(w)
		w.PutUint(tlv.ContextTag(9), 70000)
		w.EndContainer()
		p, err := Parse(w.Bytes())
		require.NoError(t, err, "case %d", i+1)
		require.Equal(t, 500*time.Millisecond, p.IdleInterval, "case %d", i+1)
		require.Equal(t, tc.want, p.Has(SupportedTransports), "case %d", i+1)
		require.Equal(t, tc.want, p.Has(MaxTCPMessageSize), "case %d: tag 9 read only after a good tag 8", i+1)
	}
	// Tags 1..7 stay strict: a u32 active threshold is refused.
	w := tlv.NewWriter(nil)
	w.StartStruct(tlv.AnonymousTag())
	w.PutUint(tlv.ContextTag(3), 0x777666)
	w.EndContainer()
	_, err := Parse(w.Bytes())
	var re *RangeError
	require.ErrorAs(t, err, &re)
}
