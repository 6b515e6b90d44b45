package im

import (
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/tlv"
)

func newTestServer() (*Light, *Server) {
	l := NewLight(InteropBasicInfo(), 100)
	return l, NewServer(l.Node)
}

// handle runs one request and requires a response.
func handle(t *testing.T, s *Server, op Opcode, payload []byte) (Opcode, []byte) {
	t.Helper()
	rop, out, ok := s.Handle(nil, op, payload)
	require.True(t, ok, "expected a response")
	return rop, out
}

func statusOf(t *testing.T, op Opcode, out []byte) Status {
	t.Helper()
	require.Equal(t, OpStatusResponse, op)
	var sr StatusResponse
	require.NoError(t, DecodeStatusResponse(out, &sr))
	return sr.Status
}

func readPaths(t *testing.T, s *Server, paths ...AttributePath) *ReportData {
	t.Helper()
	op, out := handle(t, s, OpReadRequest, AppendReadRequest(nil, NewReadRequest(paths...)))
	rep, err := ParseReadResponse(op, out)
	require.NoError(t, err)
	return rep
}

func invoke(t *testing.T, s *Server, p CommandPath, fields Value) error {
	t.Helper()
	op, out := handle(t, s, OpInvokeRequest, AppendInvokeRequest(nil, NewInvokeRequest(p, fields)))
	res, err := ParseInvokeResponse(op, out)
	if err != nil {
		return err
	}
	require.Len(t, res.Responses, 1)
	require.Equal(t, p, res.Responses[0].Status.Path)
	return res.Result(0)
}

// Spec 8.10.1 status codes for concrete paths that name something missing.
func TestReadConcreteErrors(t *testing.T) {
	_, s := newTestServer()
	cases := []struct {
		name string
		path AttributePath
		want Status
	}{
		{"unsupported endpoint", ConcreteAttribute(2, ClusterOnOff, 0), StatusUnsupportedEndpoint},
		{"unsupported cluster", ConcreteAttribute(0, ClusterOnOff, 0), StatusUnsupportedCluster},
		{"unsupported attribute", ConcreteAttribute(0, ClusterBasicInformation, 0x99), StatusUnsupportedAttribute},
		{"unsupported global attribute", ConcreteAttribute(1, ClusterOnOff, 0xFFFA), StatusUnsupportedAttribute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := readPaths(t, s, c.path)
			require.Len(t, rep.AttributeReports, 1)
			r := rep.AttributeReports[0]
			require.True(t, r.IsStatus())
			require.Equal(t, c.want, r.Status.Status)
			require.Equal(t, c.path, r.Path)
		})
	}
}

func TestReadValues(t *testing.T) {
	_, s := newTestServer()
	info := InteropBasicInfo()
	rep := readPaths(t, s,
		ConcreteAttribute(0, ClusterBasicInformation, BasicVendorName),
		ConcreteAttribute(0, ClusterBasicInformation, BasicVendorID),
		ConcreteAttribute(0, ClusterBasicInformation, BasicProductID),
		ConcreteAttribute(0, ClusterBasicInformation, BasicSerialNumber),
		ConcreteAttribute(0, ClusterBasicInformation, AttrClusterRevision),
		ConcreteAttribute(1, ClusterOnOff, OnOffAttrOnOff),
	)
	require.Len(t, rep.AttributeReports, 6)
	str := func(p AttributePath) string {
		v, err := rep.Value(p)
		require.NoError(t, err)
		s, err := v.String()
		require.NoError(t, err)
		return s
	}
	num := func(p AttributePath) uint64 {
		v, err := rep.Value(p)
		require.NoError(t, err)
		n, err := v.Uint()
		require.NoError(t, err)
		return n
	}
	require.Equal(t, info.VendorName, str(ConcreteAttribute(0, 0x28, BasicVendorName)))
	require.Equal(t, info.SerialNumber, str(ConcreteAttribute(0, 0x28, BasicSerialNumber)))
	require.Equal(t, uint64(0xFFF1), num(ConcreteAttribute(0, 0x28, BasicVendorID)))
	require.Equal(t, uint64(0x8000), num(ConcreteAttribute(0, 0x28, BasicProductID)))
	require.Equal(t, uint64(revisionBasicInformation), num(ConcreteAttribute(0, 0x28, AttrClusterRevision)))
	v, err := rep.Value(ConcreteAttribute(1, ClusterOnOff, 0))
	require.NoError(t, err)
	on, err := v.Bool()
	require.NoError(t, err)
	require.False(t, on)
	_, err = rep.Value(ConcreteAttribute(1, ClusterOnOff, 5))
	require.ErrorIs(t, err, ErrNotReported)
}

func TestAttributeListIsSortedAndHasGlobals(t *testing.T) {
	_, s := newTestServer()
	rep := readPaths(t, s, ConcreteAttribute(1, ClusterOnOff, AttrAttributeList))
	v, err := rep.Value(ConcreteAttribute(1, ClusterOnOff, AttrAttributeList))
	require.NoError(t, err)
	require.Equal(t, "[0, 65528, 65529, 65531, 65532, 65533]", compact(t, v))
	rep = readPaths(t, s, ConcreteAttribute(1, ClusterOnOff, AttrAcceptedCommandList))
	v, err = rep.Value(ConcreteAttribute(1, ClusterOnOff, AttrAcceptedCommandList))
	require.NoError(t, err)
	require.Equal(t, "[0, 1, 2]", compact(t, v))
}

// compact renders an array of unsigned integers as "[a, b]".
func compact(t *testing.T, v Value) string {
	t.Helper()
	r := tlv.NewReader(v)
	require.NoError(t, r.Next())
	require.Equal(t, tlv.Array, r.Type())
	require.NoError(t, r.Enter())
	s := "["
	for r.Next() == nil {
		n, err := r.Uint()
		require.NoError(t, err)
		if s != "[" {
			s += ", "
		}
		s += itoa(n)
	}
	return s + "]"
}

func itoa(n uint64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestReadWildcards(t *testing.T) {
	_, s := newTestServer()
	paths := func(rep *ReportData) []string {
		var out []string
		for _, r := range rep.AttributeReports {
			require.False(t, r.IsStatus(), "wildcard reads report no errors (spec 8.9.2.2)")
			out = append(out, r.Path.String())
		}
		return out
	}
	t.Run("endpoint wildcard", func(t *testing.T) {
		rep := readPaths(t, s, AttributePath{Endpoint: WildcardEndpoint, Cluster: ClusterOnOff, Attribute: 0})
		require.Equal(t, []string{"1/0x0006/0x0000"}, paths(rep))
	})
	t.Run("endpoint wildcard, cluster nowhere", func(t *testing.T) {
		rep := readPaths(t, s, AttributePath{Endpoint: WildcardEndpoint, Cluster: 0x0300, Attribute: 0})
		require.Empty(t, rep.AttributeReports)
	})
	t.Run("cluster revision everywhere", func(t *testing.T) {
		rep := readPaths(t, s, AttributePath{Endpoint: WildcardEndpoint, Cluster: WildcardCluster, Attribute: AttrClusterRevision})
		require.Equal(t, []string{"0/0x001D/0xFFFD", "0/0x0028/0xFFFD", "1/0x0006/0xFFFD", "1/0x001D/0xFFFD"}, paths(rep))
	})
	t.Run("all of endpoint 1", func(t *testing.T) {
		rep := readPaths(t, s, AttributePath{Endpoint: 1, Cluster: WildcardCluster, Attribute: WildcardAttribute})
		// OnOff: 1 + 5 globals; Descriptor: 4 + 5 globals.
		require.Len(t, rep.AttributeReports, 15)
		require.Equal(t, "1/0x0006/0x0000", rep.AttributeReports[0].Path.String())
	})
	t.Run("everything", func(t *testing.T) {
		// Larger than one message (see TestOversizeResponse): lift the limit.
		s := &Server{Node: s.Node, MaxPayload: -1}
		rep := readPaths(t, s, AttributePathWildcard())
		// ep0: Descriptor 9 + Basic 16+5; ep1: 15.
		require.Len(t, rep.AttributeReports, 9+21+15)
	})
	t.Run("wildcard endpoint, missing attribute", func(t *testing.T) {
		rep := readPaths(t, s, AttributePath{Endpoint: WildcardEndpoint, Cluster: ClusterOnOff, Attribute: 0x77})
		require.Empty(t, rep.AttributeReports)
	})
}

func TestDescriptorLists(t *testing.T) {
	_, s := newTestServer()
	rep := readPaths(t, s, ConcreteAttribute(0, ClusterDescriptor, DescriptorPartsList),
		ConcreteAttribute(1, ClusterDescriptor, DescriptorServerList))
	v, err := rep.Value(ConcreteAttribute(0, ClusterDescriptor, DescriptorPartsList))
	require.NoError(t, err)
	require.Equal(t, "[1]", compact(t, v))
	v, err = rep.Value(ConcreteAttribute(1, ClusterDescriptor, DescriptorServerList))
	require.NoError(t, err)
	require.Equal(t, "[6, 29]", compact(t, v))
}

func TestDataVersionFilter(t *testing.T) {
	l, s := newTestServer()
	req := NewReadRequest(ConcreteAttribute(1, ClusterOnOff, 0), ConcreteAttribute(0, 0x28, 1))
	req.DataVersionFilters = []DataVersionFilter{{Path: ClusterPath{Endpoint: 1, Cluster: ClusterOnOff}, DataVersion: 100}}
	op, out := handle(t, s, OpReadRequest, AppendReadRequest(nil, req))
	rep, err := ParseReadResponse(op, out)
	require.NoError(t, err)
	require.Len(t, rep.AttributeReports, 1, "the filtered cluster is left out")
	require.Equal(t, uint32(0x28), rep.AttributeReports[0].Path.Cluster)

	require.NoError(t, invoke(t, s, CommandPath{1, ClusterOnOff, OnOffCmdOn}, nil))
	require.True(t, l.On())
	op, out = handle(t, s, OpReadRequest, AppendReadRequest(nil, req))
	rep, err = ParseReadResponse(op, out)
	require.NoError(t, err)
	require.Len(t, rep.AttributeReports, 2, "a changed cluster no longer matches the filter")
	require.Equal(t, uint32(101), rep.AttributeReports[0].DataVersion)
}

func TestOnOffCommands(t *testing.T) {
	l, s := newTestServer()
	var changes []string
	l.Node.OnChange = func(p AttributePath) { changes = append(changes, p.String()) }
	steps := []struct {
		cmd     uint32
		wantOn  bool
		version uint32
	}{
		{OnOffCmdOn, true, 101},
		{OnOffCmdOn, true, 101}, // no change: DataVersion stays (spec 7.10.3)
		{OnOffCmdToggle, false, 102},
		{OnOffCmdToggle, true, 103},
		{OnOffCmdOff, false, 104},
		{OnOffCmdOff, false, 104},
	}
	for i, st := range steps {
		require.NoError(t, invoke(t, s, CommandPath{1, ClusterOnOff, st.cmd}, nil), "step %d", i)
		require.Equal(t, st.wantOn, l.On(), "step %d", i)
		rep := readPaths(t, s, ConcreteAttribute(1, ClusterOnOff, 0))
		v, err := rep.Value(ConcreteAttribute(1, ClusterOnOff, 0))
		require.NoError(t, err)
		on, err := v.Bool()
		require.NoError(t, err)
		require.Equal(t, st.wantOn, on, "step %d", i)
		require.Equal(t, st.version, rep.AttributeReports[0].DataVersion, "step %d", i)
	}
	require.Len(t, changes, 4)
}

func TestInvokeErrors(t *testing.T) {
	cases := []struct {
		name   string
		path   CommandPath
		fields Value
		want   Status
	}{
		{"unsupported endpoint", CommandPath{7, ClusterOnOff, OnOffCmdOn}, nil, StatusUnsupportedEndpoint},
		{"unsupported cluster", CommandPath{0, ClusterOnOff, OnOffCmdOn}, nil, StatusUnsupportedCluster},
		{"unsupported command", CommandPath{1, ClusterOnOff, 0x40}, nil, StatusUnsupportedCommand},
		{"command on a cluster without commands", CommandPath{0, ClusterBasicInformation, 0}, nil, StatusUnsupportedCommand},
		{"fields not a structure", CommandPath{1, ClusterOnOff, OnOffCmdOn}, UintValue(3), StatusInvalidCommand},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, s := newTestServer()
			err := invoke(t, s, c.path, c.fields)
			var se *StatusError
			require.ErrorAs(t, err, &se)
			require.Equal(t, c.want, se.Status)
			require.False(t, l.On(), "a failed command changes nothing")
		})
	}
}

// Message-level failures become a StatusResponse (spec 8.9.1).
func TestStatusResponses(t *testing.T) {
	toggle := CommandData{Path: CommandPath{1, ClusterOnOff, OnOffCmdToggle}, Fields: EmptyStruct()}
	inv := func(m InvokeRequest) []byte { return AppendInvokeRequest(nil, &m) }
	read := func(m ReadRequest) []byte { return AppendReadRequest(nil, &m) }
	cases := []struct {
		name    string
		op      Opcode
		payload []byte
		want    Status
	}{
		{"empty read", OpReadRequest, nil, StatusInvalidAction},
		{"garbage read", OpReadRequest, []byte{0xFF, 0x00}, StatusInvalidAction},
		{"read not a struct", OpReadRequest, []byte{0x04, 0x01}, StatusInvalidAction},
		{"read trailing data", OpReadRequest, append(read(*NewReadRequest(ConcreteAttribute(0, 0x28, 1))), 0x04, 0x01), StatusInvalidAction},
		{"read of nothing", OpReadRequest, read(ReadRequest{}), StatusInvalidAction},
		{"read with list index", OpReadRequest, read(ReadRequest{AttributeRequests: []AttributePath{
			{Endpoint: 0, Cluster: 0x28, Attribute: 1, ListIndex: ListIndex{Present: true, Index: 0}}}}), StatusInvalidAction},
		{"wildcard cluster, non-global attribute", OpReadRequest, read(ReadRequest{AttributeRequests: []AttributePath{
			{Endpoint: 0, Cluster: WildcardCluster, Attribute: 1}}}), StatusInvalidAction},
		{"read path endpoint too wide", OpReadRequest, []byte{0x15, 0x36, 0x00, 0x17, 0x26, 0x02, 0x00, 0x00, 0x01, 0x00, 0x18, 0x18, 0x18}, StatusInvalidAction},
		{"timed invoke without Timed Request", OpInvokeRequest, inv(InvokeRequest{TimedRequest: true, Requests: []CommandData{toggle}}), StatusTimedRequestMismatch},
		{"invoke of nothing", OpInvokeRequest, inv(InvokeRequest{}), StatusInvalidAction},
		{"two commands > MaxPathsPerInvoke", OpInvokeRequest, inv(InvokeRequest{Requests: []CommandData{toggle, toggle}}), StatusInvalidAction},
		{"wildcard endpoint invoke", OpInvokeRequest, inv(InvokeRequest{Requests: []CommandData{{Path: CommandPath{WildcardEndpoint, ClusterOnOff, 2}}}}), StatusInvalidAction},
		{"invoke missing fields", OpInvokeRequest, []byte{0x15, 0x18}, StatusInvalidAction},
		{"invoke path without command", OpInvokeRequest, []byte{0x15, 0x28, 0x00, 0x28, 0x01, 0x36, 0x02, 0x15, 0x37, 0x00, 0x24, 0x00, 0x01, 0x24, 0x01, 0x06, 0x18, 0x18, 0x18, 0x18}, StatusInvalidAction},
		{"subscribe unsupported", OpSubscribeRequest, []byte{0x15, 0x18}, StatusInvalidAction},
		{"write unsupported", OpWriteRequest, []byte{0x15, 0x18}, StatusInvalidAction},
		{"timed unsupported", OpTimedRequest, []byte{0x15, 0x18}, StatusInvalidAction},
		{"report data is not a request", OpReportData, []byte{0x15, 0x18}, StatusInvalidAction},
		{"unknown opcode", Opcode(0x77), nil, StatusInvalidAction},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, s := newTestServer()
			op, out := handle(t, s, c.op, c.payload)
			require.Equal(t, c.want, statusOf(t, op, out))
			require.False(t, l.On())
		})
	}
}

func TestNoResponse(t *testing.T) {
	l, s := newTestServer()
	_, _, ok := s.Handle(nil, OpStatusResponse, AppendStatusResponse(nil, &StatusResponse{}))
	require.False(t, ok, "a StatusResponse is not answered")
	req := NewInvokeRequest(CommandPath{1, ClusterOnOff, OnOffCmdOn}, nil)
	req.SuppressResponse = true
	_, _, ok = s.Handle(nil, OpInvokeRequest, AppendInvokeRequest(nil, req))
	require.False(t, ok, "SuppressResponse: no InvokeResponse")
	require.True(t, l.On(), "the command still ran")
}

func TestHandleAppendsToDst(t *testing.T) {
	_, s := newTestServer()
	dst := []byte{0xAA, 0xBB}
	_, out, ok := s.Handle(dst, OpReadRequest, AppendReadRequest(nil, NewReadRequest(ConcreteAttribute(0, 0x28, 1))))
	require.True(t, ok)
	require.Equal(t, []byte{0xAA, 0xBB}, out[:2])
	var rep ReportData
	require.NoError(t, DecodeReportData(out[2:], &rep))
}

func TestServerRevision(t *testing.T) {
	_, s := newTestServer()
	s.Revision = 11
	rep := readPaths(t, s, ConcreteAttribute(0, 0x28, 1))
	require.Equal(t, uint8(11), rep.Revision)
}

// A response that does not fit one message (a full
// wildcard read of the interop light, well over 1232 bytes) is answered
// with StatusResponse RESOURCE_EXHAUSTED (spec 8.10.1, 0x89) instead of
// nothing; chunking (spec 8.4.3 MoreChunkedMessages) is not implemented.
func TestOversizeResponse(t *testing.T) {
	_, s := newTestServer()
	req := AppendReadRequest(nil, NewReadRequest(AttributePathWildcard()))
	full, st := (&Server{Node: s.Node, MaxPayload: -1}).Read(NewReadRequest(AttributePathWildcard()))
	require.Equal(t, StatusSuccess, st)
	size := len(AppendReportData(nil, full))
	require.Greater(t, size, DefaultMaxPayload, "the test needs a report that does not fit")

	for i, tc := range []struct {
		max  int
		want Status // StatusSuccess: a ReportData
	}{
		{0, StatusResourceExhausted},        // 1: default budget
		{size - 1, StatusResourceExhausted}, // 2: one byte short
		{size, StatusSuccess},               // 3: exactly fits
		{-1, StatusSuccess},                 // 4: no limit
	} {
		srv := &Server{Node: s.Node, MaxPayload: tc.max}
		dst := []byte{0xAA}
		op, out, ok := srv.Handle(dst, OpReadRequest, req)
		require.True(t, ok, "case %d", i+1)
		require.Equal(t, byte(0xAA), out[0], "case %d: dst kept", i+1)
		if tc.want == StatusSuccess {
			require.Equal(t, OpReportData, op, "case %d", i+1)
			require.Len(t, out, 1+size, "case %d", i+1)
			continue
		}
		require.Equal(t, tc.want, statusOf(t, op, out[1:]), "case %d", i+1)
	}
	require.Equal(t, StatusResourceExhausted, Status(0x89))
}
