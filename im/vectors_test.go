package im

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"
)

// loadVectors reads testdata/vectors.txt (sources named in the file): 2
// wire captures and 6 matter.js encodings.
func loadVectors(t testing.TB) map[string]vector { return readVectors(t, "vectors.txt", 8) }

// roundTrip decodes v by its opcode, checks that re-encoding gives v's
// bytes and returns the decoded message.
func roundTrip(t *testing.T, v vector) any {
	t.Helper()
	msg, got := decodeVector(t, v)
	require.Equal(t, hex.EncodeToString(v.payload), hex.EncodeToString(got), "re-encoding must give the vector's bytes")
	return msg
}

func TestVectorsRoundTripByteExact(t *testing.T) {
	for name, v := range loadVectors(t) {
		t.Run(name, func(t *testing.T) { roundTrip(t, v) })
	}
}

func TestVectorReadRequestProbe(t *testing.T) {
	m := roundTrip(t, loadVectors(t)["read_request_probe"]).(*ReadRequest)
	require.Equal(t, []AttributePath{ConcreteAttribute(0, ClusterBasicInformation, BasicVendorName)}, m.AttributeRequests)
	require.False(t, m.IsFabricFiltered)
	require.Equal(t, uint8(11), m.Revision)
}

func TestVectorReportDataVendorName(t *testing.T) {
	m := roundTrip(t, loadVectors(t)["report_data_vendor_name_matterjs"]).(*ReportData)
	require.True(t, m.SuppressResponse)
	require.Equal(t, uint8(12), m.Revision)
	require.Len(t, m.AttributeReports, 1)
	r := m.AttributeReports[0]
	require.False(t, r.IsStatus())
	require.True(t, r.HasDataVersion)
	require.Equal(t, uint32(0x58CBB8EA), r.DataVersion)
	v, err := m.Value(ConcreteAttribute(0, 0x28, 1))
	require.NoError(t, err)
	s, err := v.String()
	require.NoError(t, err)
	require.Equal(t, "InteropVendor", s)
}

func TestVectorReportDataStatus(t *testing.T) {
	m := roundTrip(t, loadVectors(t)["report_data_status_unsupported_endpoint"]).(*ReportData)
	_, err := m.Value(ConcreteAttribute(9, 0x28, 1))
	var se *StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, StatusUnsupportedEndpoint, se.Status)
}

// Our client builders produce exactly what matter.js's controller sends.
func TestClientBuildersMatchMatterJS(t *testing.T) {
	vs := loadVectors(t)
	got := AppendReadRequest(nil, NewReadRequest(ConcreteAttribute(0, ClusterBasicInformation, BasicVendorName)))
	require.Equal(t, vs["read_request_vendor_name_matterjs"].payload, got)
	got = AppendInvokeRequest(nil, NewInvokeRequest(CommandPath{Endpoint: 1, Cluster: ClusterOnOff, Command: OnOffCmdToggle}, nil))
	require.Equal(t, vs["invoke_request_toggle"].payload, got)
}

// Our server answers the interop vectors with matter.js's exact bytes.
func TestServerAnswersVectorsLikeMatterJS(t *testing.T) {
	vs := loadVectors(t)
	cases := []struct{ req, want string }{
		{"read_request_probe", "report_data_vendor_name_matterjs"},
		{"read_request_vendor_name_matterjs", "report_data_vendor_name_matterjs"},
		{"invoke_request_toggle", "invoke_response_success"},
	}
	for _, c := range cases {
		t.Run(c.req, func(t *testing.T) {
			l := NewLight(InteropBasicInfo(), 0x58CBB8EA)
			req, want := vs[c.req], vs[c.want]
			op, out, ok := NewServer(l.Node).Handle(nil, req.op, req.payload)
			require.True(t, ok)
			require.Equal(t, want.op, op)
			require.Equal(t, hex.EncodeToString(want.payload), hex.EncodeToString(out))
		})
	}
	// Read of a missing endpoint, built to match the vector's path.
	l := NewLight(InteropBasicInfo(), 1)
	req := AppendReadRequest(nil, NewReadRequest(ConcreteAttribute(9, 0x28, 1)))
	op, out, ok := NewServer(l.Node).Handle(nil, OpReadRequest, req)
	require.True(t, ok)
	require.Equal(t, OpReportData, op)
	require.Equal(t, vs["report_data_status_unsupported_endpoint"].payload, out)
}
