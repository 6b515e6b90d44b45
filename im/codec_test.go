package im

import (
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/tlv"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// Decoders skip unknown tags and accept any integer width (spec 8.1.1, A.7).
func TestDecodeTolerance(t *testing.T) {
	w := tlv.NewWriter(nil)
	w.StartStruct(tlv.AnonymousTag())
	w.PutString(tlv.ContextTag(9), "unknown member") // unknown context tag
	w.StartArray(tlv.ContextTag(0))
	w.StartList(tlv.AnonymousTag())
	w.PutUintWidth(tlv.ContextTag(2), 1, 8)    // endpoint as 8 octets
	w.PutUintWidth(tlv.ContextTag(3), 6, 4)    // cluster as 4 octets
	w.PutIntWidth(tlv.ContextTag(4), 0, 2)     // attribute as a signed int
	w.PutUint(tlv.ContextTag(7), 1)            // wildcardFilterConfigurationVersion: unknown to us
	w.PutUint(tlv.CommonProfileTag(0x1234), 5) // profile tag: skipped
	w.EndContainer()
	w.EndContainer()
	w.StartStruct(tlv.ContextTag(12)) // unknown container
	w.PutBool(tlv.ContextTag(1), true)
	w.EndContainer()
	w.PutBool(tlv.ContextTag(3), true)
	w.PutUintWidth(tlv.ContextTag(0xFF), 99, 2)
	w.EndContainer()
	var m ReadRequest
	require.NoError(t, DecodeReadRequest(w.Bytes(), &m))
	require.Equal(t, []AttributePath{ConcreteAttribute(1, 6, 0)}, m.AttributeRequests)
	require.True(t, m.IsFabricFiltered)
	require.Equal(t, uint8(99), m.Revision)

	// The server accepts it too, whatever the revision.
	l := NewLight(InteropBasicInfo(), 1)
	op, out, ok := NewServer(l.Node).Handle(nil, OpReadRequest, w.Bytes())
	require.True(t, ok)
	rep, err := ParseReadResponse(op, out)
	require.NoError(t, err)
	require.Len(t, rep.AttributeReports, 1)
	require.False(t, rep.AttributeReports[0].IsStatus())
}

func TestDecodeErrorsAreTyped(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		want error
	}{
		{"empty", "", ErrMissingField},
		{"not a struct", "0401", ErrWrongType},
		{"trailing", "15180401", ErrTrailingData},
		{"truncated", "153600", tlv.KindMissingEnd},
		{"bad revision width", "1525ff0001" + "18", tlv.KindOverflow},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var m ReadRequest
			err := DecodeReadRequest(mustHex(t, c.hex), &m)
			require.Error(t, err)
			var de *DecodeError
			require.True(t, errors.As(err, &de), "%T %v", err, err)
			require.Equal(t, "ReadRequest", de.Message)
			require.ErrorIs(t, err, c.want)
		})
	}
	var sr StatusResponse
	require.ErrorIs(t, DecodeStatusResponse(mustHex(t, "1518"), &sr), ErrMissingField)
	var ir InvokeResponse
	require.ErrorIs(t, DecodeInvokeResponse(mustHex(t, "15280018"), &ir), ErrMissingField)
	var rd ReportData
	// AttributeReportIB holding neither status nor data.
	require.ErrorIs(t, DecodeReportData(mustHex(t, "15360115181818"), &rd), ErrMissingField)
}

// Spec 8.10.2.1: with EnableTagCompression a report path omits fields equal
// to the previous path's; the decoder fills them back in.
func TestReportDataTagCompression(t *testing.T) {
	w := tlv.NewWriter(nil)
	w.StartStruct(tlv.AnonymousTag())
	w.StartArray(tlv.ContextTag(1))
	for i, attr := range []uint32{1, 3} {
		w.StartStruct(tlv.AnonymousTag())
		w.StartStruct(tlv.ContextTag(1))
		w.StartList(tlv.ContextTag(1))
		if i == 0 {
			w.PutUint(tlv.ContextTag(2), 0)
			w.PutUint(tlv.ContextTag(3), 0x28)
		} else {
			w.PutBool(tlv.ContextTag(0), true)
		}
		w.PutUint(tlv.ContextTag(4), uint64(attr))
		w.EndContainer()
		w.PutString(tlv.ContextTag(2), "x")
		w.EndContainer()
		w.EndContainer()
	}
	w.EndContainer()
	w.EndContainer()
	var m ReportData
	require.NoError(t, DecodeReportData(w.Bytes(), &m))
	require.Len(t, m.AttributeReports, 2)
	require.Equal(t, "0/0x0028/0x0003", m.AttributeReports[1].Path.String())
}

func TestValueHelpers(t *testing.T) {
	s, err := StringValue("héllo").String()
	require.NoError(t, err)
	require.Equal(t, "héllo", s)
	n, err := UintValue(70000).Uint()
	require.NoError(t, err)
	require.Equal(t, uint64(70000), n)
	b, err := BoolValue(true).Bool()
	require.NoError(t, err)
	require.True(t, b)
	_, err = Value(nil).String()
	require.ErrorIs(t, err, ErrBadValue)
	_, err = UintValue(1).String()
	require.ErrorIs(t, err, tlv.KindWrongType)
	require.Contains(t, StringValue("x").Format(), `"x"`)
}

// putValue re-tags a value whatever tag form it was encoded with, and
// writes null for an empty value instead of failing.
func TestPutValueRetags(t *testing.T) {
	w := tlv.NewWriter(nil)
	putValue(w, 2, Value{0x15, 0x18})
	putValue(w, 3, nil)
	putValue(w, 4, Value{0xC4, 1, 2, 3, 4, 5, 6, 7}) // fully qualified tag, uint8 7
	require.Equal(t, "35021834"+"03"+"2404"+"07", hex.EncodeToString(w.Bytes()))
}

func TestStatusNames(t *testing.T) {
	require.Equal(t, "UNSUPPORTED_ENDPOINT", StatusUnsupportedEndpoint.String())
	require.Equal(t, "STATUS(0x42)", Status(0x42).String())
	require.Equal(t, "ReadRequest", OpReadRequest.String())
	require.Equal(t, "Opcode(0x77)", Opcode(0x77).String())
	require.Nil(t, StatusIB{}.Err())
	require.EqualError(t, StatusIB{Status: StatusFailure, ClusterStatus: 2, HasClusterStatus: true}.Err(),
		"im: status FAILURE, cluster status 0x02")
}

// Property: Read over random paths equals a naive model that enumerates
// every concrete attribute of the node and filters by the path.
func TestReadMatchesNaiveModel(t *testing.T) {
	l := NewLight(InteropBasicInfo(), 5)
	s := NewServer(l.Node)
	type concrete struct {
		ep       uint16
		cl, attr uint32
	}
	var all []concrete
	for _, e := range l.Node.Endpoints {
		for _, c := range e.Clusters {
			for _, a := range c.attributeIDs() {
				all = append(all, concrete{e.ID, c.ID, a})
			}
		}
	}
	eps := []uint16{0, 1, 2, WildcardEndpoint}
	cls := []uint32{ClusterOnOff, ClusterDescriptor, ClusterBasicInformation, 0x0300, WildcardCluster}
	attrs := []uint32{0, 1, 3, 0x0F, 0x99, AttrClusterRevision, AttrAttributeList, 0xFFFA, WildcardAttribute}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 500; i++ {
		p := AttributePath{Endpoint: eps[rng.IntN(len(eps))], Cluster: cls[rng.IntN(len(cls))], Attribute: attrs[rng.IntN(len(attrs))]}
		rep, st := s.Read(&ReadRequest{AttributeRequests: []AttributePath{p}})
		if p.Cluster == WildcardCluster && p.Attribute != WildcardAttribute && !isGlobal(p.Attribute) {
			require.Equal(t, StatusInvalidAction, st, p.String())
			continue
		}
		require.Equal(t, StatusSuccess, st)
		var want []string
		for _, c := range all {
			if (p.Endpoint == WildcardEndpoint || p.Endpoint == c.ep) &&
				(p.Cluster == WildcardCluster || p.Cluster == c.cl) &&
				(p.Attribute == WildcardAttribute || p.Attribute == c.attr) {
				want = append(want, ConcreteAttribute(c.ep, c.cl, c.attr).String())
			}
		}
		var got []string
		for _, r := range rep.AttributeReports {
			if r.IsStatus() {
				require.False(t, p.IsWildcard(), "status only for concrete paths: %s", p)
				require.Empty(t, want, "status only when the concrete path does not exist: %s", p)
				continue
			}
			got = append(got, r.Path.String())
		}
		require.Equal(t, want, got, p.String())
		if !p.IsWildcard() {
			require.Len(t, rep.AttributeReports, 1, "a concrete path always gets exactly one report")
		}
	}
}

// An IB carrying both alternatives keeps the last one, so a round trip is
// stable (found while writing FuzzIMCodecs).
func TestBothAlternativesLastWins(t *testing.T) {
	// AttributeReportIB with AttributeData (tag 1, DataVersion 5) then AttributeStatus (tag 0).
	b := mustHex(t, "15360115"+"3501"+"240005"+"3701240200240328240401182c020178"+"18"+
		"3500"+"3700240200240328240401"+"18"+"3501240086"+"18"+"18"+"18"+"18"+"18")
	var m ReportData
	require.NoError(t, DecodeReportData(b, &m))
	require.Len(t, m.AttributeReports, 1)
	r := m.AttributeReports[0]
	require.True(t, r.IsStatus())
	require.False(t, r.HasDataVersion)
	require.Equal(t, StatusUnsupportedAttribute, r.Status.Status)
	var m2 ReportData
	require.NoError(t, DecodeReportData(AppendReportData(nil, &m), &m2))
	require.Equal(t, m, m2)
}
