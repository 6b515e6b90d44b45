package im

import (
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/tlv"
)

const ms = clock.Time(1_000_000)

// writableNode is the interop light plus a test cluster 0xFFF1_FC00 on
// endpoint 1 with a plain writable attribute 0 (uint), a Timed writable
// attribute 1 and a read-only attribute 2.
func writableNode(t *testing.T) (*Light, *uint64, *Cluster) {
	l := NewLight(InteropBasicInfo(), 1)
	var plain, timed uint64
	c := &Cluster{ID: 0xFFF1_FC00, Revision: 1, DataVersion: 50}
	c.Attributes = []Attribute{
		{0, func(w *tlv.Writer, tag tlv.Tag) { w.PutUint(tag, plain) }},
		{1, func(w *tlv.Writer, tag tlv.Tag) { w.PutUint(tag, timed) }},
		{2, func(w *tlv.Writer, tag tlv.Tag) { w.PutUint(tag, 7) }},
	}
	set := func(dst *uint64, id uint32) func(Value) Status {
		return func(v Value) Status {
			x, err := v.Uint()
			if err != nil {
				return StatusInvalidDataType
			}
			if x != *dst {
				*dst = x
				l.Node.NoteChange(1, c, id)
			}
			return StatusSuccess
		}
	}
	c.Writers = []AttributeWriter{{ID: 0, Write: set(&plain, 0)}, {ID: 1, Timed: true, Write: set(&timed, 1)}}
	l.Node.Endpoint(1).AddCluster(c)
	return l, &plain, c
}

func writeStatus(t *testing.T, op Opcode, out []byte) []Status {
	t.Helper()
	res, err := ParseWriteResponse(op, out)
	require.NoError(t, err)
	var sts []Status
	for _, r := range res.Responses {
		sts = append(sts, r.Status.Status)
	}
	return sts
}

func TestServerWrite(t *testing.T) {
	const cl = 0xFFF1_FC00
	p := func(ep uint16, c, a uint32) AttributePath { return ConcreteAttribute(ep, c, a) }
	cases := []struct {
		name string
		data AttributeData
		want Status
	}{
		{"plain", AttributeData{Path: p(1, cl, 0), Data: UintValue(5)}, StatusSuccess},
		{"wrong type", AttributeData{Path: p(1, cl, 0), Data: StringValue("x")}, StatusInvalidDataType},
		{"matching data version", AttributeData{Path: p(1, cl, 0), Data: UintValue(5), DataVersion: 50, HasDataVersion: true}, StatusSuccess},
		{"stale data version", AttributeData{Path: p(1, cl, 0), Data: UintValue(5), DataVersion: 49, HasDataVersion: true}, StatusDataVersionMismatch},
		{"timed attribute untimed", AttributeData{Path: p(1, cl, 1), Data: UintValue(5)}, StatusNeedsTimedInteraction},
		{"read-only", AttributeData{Path: p(1, cl, 2), Data: UintValue(5)}, StatusUnsupportedWrite},
		{"list item", AttributeData{Path: AttributePath{Endpoint: 1, Cluster: cl, ListIndex: ListIndex{Present: true, Null: true}}, Data: UintValue(5)}, StatusUnsupportedWrite},
		{"global attribute", AttributeData{Path: p(1, cl, AttrClusterRevision), Data: UintValue(5)}, StatusUnsupportedWrite},
		{"missing attribute", AttributeData{Path: p(1, cl, 9), Data: UintValue(5)}, StatusUnsupportedAttribute},
		{"missing cluster", AttributeData{Path: p(1, 0x55, 0), Data: UintValue(5)}, StatusUnsupportedCluster},
		{"missing endpoint", AttributeData{Path: p(7, cl, 0), Data: UintValue(5)}, StatusUnsupportedEndpoint},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, _, _ := writableNode(t)
			s := NewServer(l.Node)
			req := &WriteRequest{Requests: []AttributeData{c.data}, Revision: Revision}
			op, out, ok := s.HandleExchange(0, &Exchange{}, nil, OpWriteRequest, AppendWriteRequest(nil, req))
			require.True(t, ok)
			require.Equal(t, []Status{c.want}, writeStatus(t, op, out))
		})
	}
}

func TestServerWriteChangesAndNotifies(t *testing.T) {
	l, plain, c := writableNode(t)
	e := &SubscriptionEngine{Server: NewServer(l.Node)}
	l.Node.OnChange = e.MarkDirty
	e.HandleSubscribeRequest(0, 1, AppendSubscribeRequest(nil, NewSubscribeRequest(0, 60, ConcreteAttribute(1, 0xFFF1_FC00, WildcardAttribute))))
	o, _ := e.Poll()
	e.HandleStatusResponse(0, o.Subscription, success())
	for _, ok := e.Poll(); ok; _, ok = e.Poll() {
	}
	s := e.Server
	_, out, _ := s.HandleExchange(sec, &Exchange{}, nil, OpWriteRequest,
		AppendWriteRequest(nil, NewWriteRequest(ConcreteAttribute(1, 0xFFF1_FC00, 0), UintValue(42), false)))
	require.Equal(t, []Status{StatusSuccess}, writeStatus(t, OpWriteResponse, out))
	require.Equal(t, uint64(42), *plain)
	require.Equal(t, uint32(51), c.DataVersion)
	require.Equal(t, 1, e.Subscriptions()[0].Dirty)
	// Writing the same value again changes nothing.
	s.HandleExchange(sec, &Exchange{}, nil, OpWriteRequest,
		AppendWriteRequest(nil, NewWriteRequest(ConcreteAttribute(1, 0xFFF1_FC00, 0), UintValue(42), false)))
	require.Equal(t, uint32(51), c.DataVersion)
}

func TestServerWriteMessageErrors(t *testing.T) {
	l, _, _ := writableNode(t)
	s := NewServer(l.Node)
	cases := []struct {
		name    string
		payload []byte
		want    Status
	}{
		{"malformed", []byte{0x15, 0x18}, StatusInvalidAction},
		{"timed flag without timed request", AppendWriteRequest(nil, NewWriteRequest(ConcreteAttribute(1, 0xFFF1_FC00, 1), UintValue(1), true)), StatusTimedRequestMismatch},
		{"no writes", AppendWriteRequest(nil, &WriteRequest{Requests: []AttributeData{}}), StatusInvalidAction},
		{"wildcard", AppendWriteRequest(nil, NewWriteRequest(AttributePath{Endpoint: WildcardEndpoint, Cluster: 0xFFF1_FC00}, UintValue(1), false)), StatusInvalidAction},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			op, out, ok := s.HandleExchange(0, &Exchange{}, nil, OpWriteRequest, c.payload)
			require.True(t, ok)
			require.Equal(t, OpStatusResponse, op)
			var sr StatusResponse
			require.NoError(t, DecodeStatusResponse(out, &sr))
			require.Equal(t, c.want, sr.Status)
		})
	}
	// SuppressResponse: applied, no answer.
	req := NewWriteRequest(ConcreteAttribute(1, 0xFFF1_FC00, 0), UintValue(3), false)
	req.SuppressResponse = true
	_, _, ok := s.HandleExchange(0, &Exchange{}, nil, OpWriteRequest, AppendWriteRequest(nil, req))
	require.False(t, ok)
}

// The Timed interaction: TimedRequest, then the action within the window.
func TestServerTimed(t *testing.T) {
	timedWrite := AppendWriteRequest(nil, NewWriteRequest(ConcreteAttribute(1, 0xFFF1_FC00, 1), UintValue(9), true))
	untimedWrite := AppendWriteRequest(nil, NewWriteRequest(ConcreteAttribute(1, 0xFFF1_FC00, 1), UintValue(9), false))
	timedInvoke := func() []byte {
		r := NewInvokeRequest(CommandPath{Endpoint: 1, Cluster: ClusterOnOff, Command: OnOffCmdToggle}, nil)
		r.TimedRequest = true
		return AppendInvokeRequest(nil, r)
	}()
	cases := []struct {
		name    string
		timeout uint16
		at      clock.Time // arrival of the action (TimedRequest at 0)
		op      Opcode
		action  []byte
		wantOp  Opcode
		want    Status // StatusResponse status, or the write's status
	}{
		{"timed write in time", 500, 499 * ms, OpWriteRequest, timedWrite, OpWriteResponse, StatusSuccess},
		{"timed write at the limit", 500, 500 * ms, OpWriteRequest, timedWrite, OpWriteResponse, StatusSuccess},
		{"timed write too late", 500, 500*ms + 1, OpWriteRequest, timedWrite, OpStatusResponse, StatusUnsupportedAccess},
		{"flag missing after timed request", 500, 10 * ms, OpWriteRequest, untimedWrite, OpStatusResponse, StatusTimedRequestMismatch},
		{"timed invoke", 100, 50 * ms, OpInvokeRequest, timedInvoke, OpInvokeResponse, StatusSuccess},
		{"timed invoke too late", 100, 101 * ms, OpInvokeRequest, timedInvoke, OpStatusResponse, StatusUnsupportedAccess},
		{"read after timed request", 100, 1 * ms, OpReadRequest, AppendReadRequest(nil, NewReadRequest(AttributePathWildcard())), OpStatusResponse, StatusInvalidAction},
		// TimedHandler.cpp checks the time limit before the message type.
		{"read after timed request too late", 100, 101 * ms, OpReadRequest, AppendReadRequest(nil, NewReadRequest(AttributePathWildcard())), OpStatusResponse, StatusUnsupportedAccess},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, _, _ := writableNode(t)
			s := NewServer(l.Node)
			var x Exchange
			op, out, ok := s.HandleExchange(0, &x, nil, OpTimedRequest, AppendTimedRequest(nil, &TimedRequest{Timeout: c.timeout, Revision: Revision}))
			require.True(t, ok)
			require.Equal(t, OpStatusResponse, op)
			var sr StatusResponse
			require.NoError(t, DecodeStatusResponse(out, &sr))
			require.Equal(t, StatusSuccess, sr.Status)
			require.True(t, x.Open())
			op, out, ok = s.HandleExchange(c.at, &x, nil, c.op, c.action)
			require.True(t, ok)
			require.Equal(t, c.wantOp, op)
			switch op {
			case OpStatusResponse:
				require.NoError(t, DecodeStatusResponse(out, &sr))
				require.Equal(t, c.want, sr.Status)
			case OpWriteResponse:
				require.Equal(t, []Status{c.want}, writeStatus(t, op, out))
			case OpInvokeResponse:
				res, err := ParseInvokeResponse(op, out)
				require.NoError(t, err)
				require.NoError(t, res.Result(0))
			}
			require.False(t, x.Open())
		})
	}
	t.Run("malformed timed request", func(t *testing.T) {
		l, _, _ := writableNode(t)
		op, out, _ := NewServer(l.Node).HandleExchange(0, &Exchange{}, nil, OpTimedRequest, []byte{0x15, 0x18})
		require.Equal(t, OpStatusResponse, op)
		var sr StatusResponse
		require.NoError(t, DecodeStatusResponse(out, &sr))
		require.Equal(t, StatusInvalidAction, sr.Status)
	})
}

// HandleExchange answers Read and Invoke exactly as Handle when the report
// fits one message.
func TestHandleExchangeMatchesHandle(t *testing.T) {
	reqs := []struct {
		op Opcode
		b  []byte
	}{
		{OpReadRequest, AppendReadRequest(nil, NewReadRequest(ConcreteAttribute(0, ClusterBasicInformation, BasicVendorName)))},
		{OpReadRequest, AppendReadRequest(nil, NewReadRequest(AttributePath{Endpoint: 1, Cluster: WildcardCluster, Attribute: WildcardAttribute}))},
		{OpInvokeRequest, AppendInvokeRequest(nil, NewInvokeRequest(CommandPath{Endpoint: 1, Cluster: ClusterOnOff, Command: OnOffCmdToggle}, nil))},
		{OpStatusResponse, success()},
		{Opcode(0x77), []byte{0x15, 0x18}},
	}
	for _, r := range reqs {
		a := NewServer(NewLight(InteropBasicInfo(), 1).Node)
		b := NewServer(NewLight(InteropBasicInfo(), 1).Node)
		op1, out1, ok1 := a.Handle(nil, r.op, r.b)
		op2, out2, ok2 := b.HandleExchange(0, &Exchange{}, nil, r.op, r.b)
		require.Equal(t, ok1, ok2)
		require.Equal(t, op1, op2)
		require.Equal(t, out1, out2)
	}
}

// A command with the Timed quality needs a Timed interaction.
func TestServerTimedCommand(t *testing.T) {
	l := NewLight(InteropBasicInfo(), 1)
	l.Node.Endpoint(1).Cluster(ClusterOnOff).TimedCommands = []uint32{OnOffCmdToggle}
	s := NewServer(l.Node)
	untimed := AppendInvokeRequest(nil, NewInvokeRequest(CommandPath{Endpoint: 1, Cluster: ClusterOnOff, Command: OnOffCmdToggle}, nil))
	op, out, _ := s.HandleExchange(0, &Exchange{}, nil, OpInvokeRequest, untimed)
	res, err := ParseInvokeResponse(op, out)
	require.NoError(t, err)
	var se *StatusError
	require.ErrorAs(t, res.Result(0), &se)
	require.Equal(t, StatusNeedsTimedInteraction, se.Status)
	require.False(t, l.On())
	// Other commands of the cluster are unaffected.
	on := AppendInvokeRequest(nil, NewInvokeRequest(CommandPath{Endpoint: 1, Cluster: ClusterOnOff, Command: OnOffCmdOn}, nil))
	op, out, _ = s.HandleExchange(0, &Exchange{}, nil, OpInvokeRequest, on)
	res, err = ParseInvokeResponse(op, out)
	require.NoError(t, err)
	require.NoError(t, res.Result(0))
	// Timed: accepted.
	var x Exchange
	s.HandleExchange(0, &x, nil, OpTimedRequest, AppendTimedRequest(nil, &TimedRequest{Timeout: 100}))
	r := NewInvokeRequest(CommandPath{Endpoint: 1, Cluster: ClusterOnOff, Command: OnOffCmdToggle}, nil)
	r.TimedRequest = true
	op, out, _ = s.HandleExchange(10*ms, &x, nil, OpInvokeRequest, AppendInvokeRequest(nil, r))
	res, err = ParseInvokeResponse(op, out)
	require.NoError(t, err)
	require.NoError(t, res.Result(0))
	require.False(t, l.On(), "toggled back off")
}
