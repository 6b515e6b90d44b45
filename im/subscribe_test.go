package im

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
)

// loadSubVectors reads testdata/subscribe_vectors.txt (sources named
// there): 9 matter.js vectors, each checked by TestSubscribeVectors.
func loadSubVectors(t testing.TB) map[string]vector {
	return readVectors(t, "subscribe_vectors.txt", 9)
}

func TestSubscribeVectors(t *testing.T) {
	vs := loadSubVectors(t)
	onoff := ConcreteAttribute(1, ClusterOnOff, OnOffAttrOnOff)
	cases := []struct {
		name  string
		exact bool // our encoder reproduces matter.js's bytes
		check func(t *testing.T, m any)
	}{
		{"subscribe_request_onoff", true, func(t *testing.T, m any) {
			r := m.(*SubscribeRequest)
			require.Equal(t, &SubscribeRequest{MinIntervalFloor: 1, MaxIntervalCeiling: 60,
				AttributeRequests: []AttributePath{onoff}, IsFabricFiltered: true, Revision: 12}, r)
		}},
		{"subscribe_request_wildcard_filters", true, func(t *testing.T, m any) {
			r := m.(*SubscribeRequest)
			require.True(t, r.KeepSubscriptions)
			require.Equal(t, uint16(3600), r.MaxIntervalCeiling)
			require.Equal(t, []AttributePath{
				{Endpoint: 1, Cluster: WildcardCluster, Attribute: WildcardAttribute},
				{Endpoint: WildcardEndpoint, Cluster: 0x28, Attribute: 5},
			}, r.AttributeRequests)
			require.False(t, r.IsFabricFiltered)
			require.Equal(t, []DataVersionFilter{{Path: ClusterPath{Endpoint: 1, Cluster: 6}, DataVersion: 0x12345678}}, r.DataVersionFilters)
		}},
		{"subscribe_response", true, func(t *testing.T, m any) {
			require.Equal(t, &SubscribeResponse{SubscriptionID: 0xA1B2C3D4, MaxInterval: 60, Revision: 12}, m)
		}},
		{"report_data_priming_chunk", false, func(t *testing.T, m any) {
			r := m.(*ReportData)
			require.True(t, r.HasSubscriptionID)
			require.Equal(t, uint32(7), r.SubscriptionID)
			require.True(t, r.MoreChunkedMessages)
			require.False(t, r.SuppressResponse)
			require.Len(t, r.AttributeReports, 1)
			require.Equal(t, uint32(3), r.AttributeReports[0].DataVersion)
			v, err := r.Value(onoff)
			require.NoError(t, err)
			b, err := v.Bool()
			require.NoError(t, err)
			require.True(t, b)
		}},
		{"report_data_keepalive", true, func(t *testing.T, m any) {
			require.Equal(t, &ReportData{SubscriptionID: 7, HasSubscriptionID: true, SuppressResponse: true, Revision: 12}, m)
		}},
		{"timed_request_500ms", true, func(t *testing.T, m any) {
			require.Equal(t, &TimedRequest{Timeout: 500, Revision: 12}, m)
		}},
		{"write_request_node_label_timed", true, func(t *testing.T, m any) {
			r := m.(*WriteRequest)
			require.True(t, r.TimedRequest)
			require.False(t, r.SuppressResponse)
			require.Len(t, r.Requests, 1)
			require.Equal(t, ConcreteAttribute(0, 0x28, 5), r.Requests[0].Path)
			s, err := r.Requests[0].Data.String()
			require.NoError(t, err)
			require.Equal(t, "kitchen", s)
		}},
		{"write_request_versioned", false, func(t *testing.T, m any) {
			r := m.(*WriteRequest)
			require.False(t, r.TimedRequest)
			require.False(t, r.MoreChunkedMessages)
			require.True(t, r.Requests[0].HasDataVersion)
			require.Equal(t, uint32(9), r.Requests[0].DataVersion)
		}},
		{"write_response_mixed", true, func(t *testing.T, m any) {
			r := m.(*WriteResponse)
			require.Equal(t, []AttributeStatus{
				{Path: ConcreteAttribute(0, 0x28, 5), Status: StatusIB{Status: StatusSuccess}},
				{Path: ConcreteAttribute(0, 0x28, 1), Status: StatusIB{Status: StatusUnsupportedWrite}},
			}, r.Responses)
		}},
	}
	require.Len(t, cases, len(vs))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, ok := vs[c.name]
			require.True(t, ok)
			m, again := decodeVector(t, v)
			c.check(t, m)
			if c.exact {
				require.Equal(t, hex.EncodeToString(v.payload), hex.EncodeToString(again))
			} else {
				// Not byte-exact, but our encoding must decode to the same message.
				m2, _ := decodeVector(t, vector{v.op, again})
				require.Equal(t, m, m2)
			}
		})
	}
}

// Our builders produce what matter.js encodes for the same request.
func TestSubscribeBuilderMatchesMatterJS(t *testing.T) {
	vs := loadSubVectors(t)
	got := AppendSubscribeRequest(nil, NewSubscribeRequest(1, 60, ConcreteAttribute(1, ClusterOnOff, OnOffAttrOnOff)))
	require.Equal(t, vs["subscribe_request_onoff"].payload, got)
	got = AppendTimedRequest(nil, &TimedRequest{Timeout: 500, Revision: Revision})
	require.Equal(t, vs["timed_request_500ms"].payload, got)
	got = AppendWriteRequest(nil, NewWriteRequest(ConcreteAttribute(0, 0x28, 5), StringValue("kitchen"), true))
	require.Equal(t, vs["write_request_node_label_timed"].payload, got)
}

func TestSubscribeDecodeMissingFields(t *testing.T) {
	full := AppendSubscribeRequest(nil, NewSubscribeRequest(1, 60, AttributePathWildcard()))
	var m SubscribeRequest
	require.NoError(t, DecodeSubscribeRequest(full, &m))
	for _, b := range [][]byte{
		{0x15, 0x18},
		{0x15, 0x28, 0x00, 0x24, 0x01, 0x01, 0x18},                   // no ceiling, no fabric filter
		{0x15, 0x28, 0x00, 0x24, 0x01, 0x01, 0x24, 0x02, 0x3c, 0x18}, // no IsFabricFiltered
	} {
		require.ErrorIs(t, DecodeSubscribeRequest(b, &m), ErrMissingField)
	}
	var r SubscribeResponse
	require.ErrorIs(t, DecodeSubscribeResponse([]byte{0x15, 0x24, 0x00, 0x07, 0x18}, &r), ErrMissingField)
	var tr TimedRequest
	require.ErrorIs(t, DecodeTimedRequest([]byte{0x15, 0x18}, &tr), ErrMissingField)
	var w WriteRequest
	require.ErrorIs(t, DecodeWriteRequest([]byte{0x15, 0x28, 0x01, 0x18}, &w), ErrMissingField)
	var wr WriteResponse
	require.ErrorIs(t, DecodeWriteResponse([]byte{0x15, 0x18}, &wr), ErrMissingField)
	_, err := ParseSubscribeResponse(OpStatusResponse, AppendStatusResponse(nil, &StatusResponse{Status: StatusInvalidAction}))
	var se *StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, StatusInvalidAction, se.Status)
	_, err = ParseSubscribeResponse(OpReportData, nil)
	var ue *UnexpectedError
	require.ErrorAs(t, err, &ue)
}

// ---- publisher engine ----

const sec = clock.Time(time.Second)

type engineRig struct {
	t     *testing.T
	light *Light
	e     *SubscriptionEngine
}

func newEngineRig(t *testing.T) *engineRig {
	l := NewLight(InteropBasicInfo(), 1)
	e := &SubscriptionEngine{Server: NewServer(l.Node), FirstID: 0x100}
	l.Node.OnChange = e.MarkDirty
	return &engineRig{t: t, light: l, e: e}
}

func (r *engineRig) drain() []SubOutput {
	var out []SubOutput
	for {
		o, ok := r.e.Poll()
		if !ok {
			return out
		}
		out = append(out, o)
	}
}

func (r *engineRig) toggle() {
	res, st := r.e.Server.Invoke(NewInvokeRequest(CommandPath{Endpoint: 1, Cluster: ClusterOnOff, Command: OnOffCmdToggle}, nil))
	require.Equal(r.t, StatusSuccess, st)
	require.NoError(r.t, res.Result(0))
}

func success() []byte {
	return AppendStatusResponse(nil, &StatusResponse{Status: StatusSuccess, Revision: Revision})
}

// subscribe runs the priming exchange to completion at now and returns the
// subscription ID.
func (r *engineRig) subscribe(now clock.Time, minS, maxS uint16, paths ...AttributePath) uint32 {
	t := r.t
	r.e.HandleSubscribeRequest(now, 1, AppendSubscribeRequest(nil, NewSubscribeRequest(minS, maxS, paths...)))
	out := r.drain()
	require.Len(t, out, 1)
	require.Equal(t, OpReportData, out[0].Opcode)
	require.False(t, out[0].NewExchange)
	require.True(t, out[0].ExpectResponse)
	var rep ReportData
	require.NoError(t, DecodeReportData(out[0].Payload, &rep))
	require.True(t, rep.HasSubscriptionID)
	require.False(t, rep.SuppressResponse, "a priming report expects a StatusResponse")
	id := out[0].Subscription
	require.Equal(t, id, rep.SubscriptionID)
	for rep.MoreChunkedMessages {
		r.e.HandleStatusResponse(now, id, success())
		out = r.drain()
		require.Len(t, out, 1)
		require.NoError(t, DecodeReportData(out[0].Payload, &rep))
	}
	r.e.HandleStatusResponse(now, id, success())
	out = r.drain()
	require.Len(t, out, 2)
	require.Equal(t, OpSubscribeResponse, out[0].Opcode)
	require.False(t, out[0].NewExchange)
	require.False(t, out[0].ExpectResponse)
	sr, err := ParseSubscribeResponse(out[0].Opcode, out[0].Payload)
	require.NoError(t, err)
	require.Equal(t, id, sr.SubscriptionID)
	require.Equal(t, maxS, sr.MaxInterval)
	require.Equal(t, SubEstablished, out[1].Kind)
	return id
}

func TestEnginePrimingOrder(t *testing.T) {
	r := newEngineRig(t)
	onoff := ConcreteAttribute(1, ClusterOnOff, OnOffAttrOnOff)
	r.e.HandleSubscribeRequest(0, 1, AppendSubscribeRequest(nil, NewSubscribeRequest(1, 10, onoff)))
	out := r.drain()
	require.Len(t, out, 1)
	rep, err := ParseReadResponse(out[0].Opcode, out[0].Payload)
	require.NoError(t, err)
	require.Equal(t, uint32(0x100), rep.SubscriptionID)
	v, err := rep.Value(onoff)
	require.NoError(t, err)
	b, err := v.Bool()
	require.NoError(t, err)
	require.False(t, b)
	// No SubscribeResponse before the client's StatusResponse (spec 8.5.3).
	require.Equal(t, clock.Never, r.e.NextDeadline())
	require.Equal(t, SubPriming, r.e.Subscriptions()[0].State)
	r.e.HandleStatusResponse(2*sec, 0x100, success())
	out = r.drain()
	require.Len(t, out, 2)
	require.Equal(t, OpSubscribeResponse, out[0].Opcode)
	// Intervals start at the SubscribeResponse: keep-alive at 2 s + 10 s.
	require.Equal(t, 12*sec, r.e.NextDeadline())
}

func TestEngineRefusals(t *testing.T) {
	cases := []struct {
		name string
		req  []byte
		want Status
	}{
		{"malformed", []byte{0x15}, StatusInvalidAction},
		{"floor above ceiling", AppendSubscribeRequest(nil, NewSubscribeRequest(10, 5, AttributePathWildcard())), StatusInvalidAction},
		{"no paths", AppendSubscribeRequest(nil, NewSubscribeRequest(0, 5)), StatusInvalidAction},
		{"list index", AppendSubscribeRequest(nil, NewSubscribeRequest(0, 5, AttributePath{Endpoint: 1, Cluster: 6, Attribute: 0, ListIndex: ListIndex{Present: true}})), StatusInvalidAction},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newEngineRig(t)
			r.e.HandleSubscribeRequest(0, 1, c.req)
			out := r.drain()
			require.Len(t, out, 1)
			require.Equal(t, OpStatusResponse, out[0].Opcode)
			var sr StatusResponse
			require.NoError(t, DecodeStatusResponse(out[0].Payload, &sr))
			require.Equal(t, c.want, sr.Status)
			require.Empty(t, r.e.Subscriptions())
		})
	}
}

// The timing table: what the engine sends at each instant, on a fake clock.
func TestEngineTiming(t *testing.T) {
	onoff := ConcreteAttribute(1, ClusterOnOff, OnOffAttrOnOff)
	type step struct {
		at       clock.Time
		toggle   bool   // the light toggles at this instant (before timeouts run)
		want     string // "" nothing, "keepalive", "data"
		deadline clock.Time
	}
	cases := []struct {
		name     string
		min, max uint16
		steps    []step
	}{
		{"keep-alive exactly at max interval", 2, 10, []step{
			{at: 9 * sec, deadline: 10 * sec},
			{at: 10*sec - 1, deadline: 10 * sec},
			{at: 10 * sec, want: "keepalive", deadline: 20 * sec},
			{at: 20 * sec, want: "keepalive", deadline: 30 * sec},
		}},
		{"change after min interval reports at once", 2, 10, []step{
			{at: 5 * sec, toggle: true, want: "data", deadline: 15 * sec},
			{at: 15 * sec, want: "keepalive", deadline: 25 * sec},
		}},
		{"changes within min interval coalesce", 4, 10, []step{
			{at: 10 * sec, want: "keepalive", deadline: 20 * sec},
			{at: 11 * sec, toggle: true, deadline: 14 * sec},
			{at: 12 * sec, toggle: true, deadline: 14 * sec},
			{at: 13 * sec, toggle: true, deadline: 14 * sec},
			{at: 14 * sec, want: "data", deadline: 24 * sec},
		}},
		{"zero min interval", 0, 30, []step{
			{at: 1 * sec, toggle: true, want: "data", deadline: 31 * sec},
			{at: 1 * sec, toggle: true, want: "data", deadline: 31 * sec},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newEngineRig(t)
			id := r.subscribe(0, c.min, c.max, onoff)
			for i, s := range c.steps {
				if s.toggle {
					r.toggle()
				}
				if r.e.NextDeadline() <= s.at {
					r.e.HandleTimeout(s.at)
				}
				out := r.drain()
				switch s.want {
				case "":
					require.Empty(t, out, "step %d", i)
				case "keepalive":
					require.Len(t, out, 1, "step %d", i)
					require.True(t, out[0].NewExchange)
					// Engine.cpp sets SuppressResponse only for a Read: a
					// keep-alive is answered like any subscription report.
					require.True(t, out[0].ExpectResponse)
					var rep ReportData
					require.NoError(t, DecodeReportData(out[0].Payload, &rep))
					require.Equal(t, ReportData{SubscriptionID: id, HasSubscriptionID: true, Revision: Revision}, rep)
					require.Equal(t, SubReporting, r.e.Subscriptions()[0].State)
					r.e.HandleStatusResponse(s.at, id, success())
					require.Equal(t, SubActive, r.e.Subscriptions()[0].State)
				case "data":
					require.Len(t, out, 1, "step %d", i)
					require.True(t, out[0].NewExchange)
					require.True(t, out[0].ExpectResponse)
					var rep ReportData
					require.NoError(t, DecodeReportData(out[0].Payload, &rep))
					require.Len(t, rep.AttributeReports, 1, "coalesced into one report of the current value")
					v, err := rep.Value(onoff)
					require.NoError(t, err)
					b, _ := v.Bool()
					require.Equal(t, r.light.On(), b)
					require.Equal(t, SubReporting, r.e.Subscriptions()[0].State)
					r.e.HandleStatusResponse(s.at, id, success())
					require.Empty(t, r.drain())
				}
				require.Equal(t, s.deadline, r.e.NextDeadline(), "step %d", i)
			}
		})
	}
}

func TestEngineTermination(t *testing.T) {
	onoff := ConcreteAttribute(1, ClusterOnOff, OnOffAttrOnOff)
	t.Run("status failure ends it", func(t *testing.T) {
		r := newEngineRig(t)
		id := r.subscribe(0, 0, 10, onoff)
		r.toggle()
		r.e.HandleTimeout(sec)
		require.Len(t, r.drain(), 1)
		r.e.HandleStatusResponse(sec, id, AppendStatusResponse(nil, &StatusResponse{Status: StatusInvalidSubscription}))
		out := r.drain()
		require.Equal(t, []SubOutput{{Kind: SubTerminated, Subscription: id, Peer: 1, Status: StatusInvalidSubscription}}, out)
		require.Empty(t, r.e.Subscriptions())
		require.Equal(t, clock.Never, r.e.NextDeadline())
	})
	t.Run("exchange failure ends it", func(t *testing.T) {
		r := newEngineRig(t)
		id := r.subscribe(0, 0, 10, onoff)
		r.e.HandleExchangeFailed(sec, id)
		require.Equal(t, SubTerminated, r.drain()[0].Kind)
	})
	t.Run("a new subscription replaces the peer's old ones", func(t *testing.T) {
		r := newEngineRig(t)
		id1 := r.subscribe(0, 0, 10, onoff)
		r.e.HandleSubscribeRequest(sec, 1, AppendSubscribeRequest(nil, NewSubscribeRequest(0, 10, onoff)))
		out := r.drain()
		require.Len(t, out, 2)
		require.Equal(t, SubOutput{Kind: SubTerminated, Subscription: id1, Peer: 1}, out[0])
		require.Equal(t, id1+1, out[1].Subscription)
	})
	// InteractionModelEngine.cpp drops them on reading KeepSubscriptions
	// false, before the intervals are checked.
	t.Run("a refused new subscription still ends the peer's old ones", func(t *testing.T) {
		r := newEngineRig(t)
		id1 := r.subscribe(0, 0, 10, onoff)
		r.e.HandleSubscribeRequest(sec, 1, AppendSubscribeRequest(nil, NewSubscribeRequest(20, 10, onoff)))
		out := r.drain()
		require.Len(t, out, 2)
		require.Equal(t, SubOutput{Kind: SubTerminated, Subscription: id1, Peer: 1}, out[0])
		require.Equal(t, OpStatusResponse, out[1].Opcode)
		require.Equal(t, StatusInvalidAction, out[1].Status)
		require.Empty(t, r.e.Subscriptions())
	})
	t.Run("keep subscriptions", func(t *testing.T) {
		r := newEngineRig(t)
		r.subscribe(0, 0, 10, onoff)
		req := NewSubscribeRequest(0, 10, onoff)
		req.KeepSubscriptions = true
		r.e.HandleSubscribeRequest(sec, 1, AppendSubscribeRequest(nil, req))
		require.Len(t, r.drain(), 1)
		require.Len(t, r.e.Subscriptions(), 2)
	})
}

// A zero ceiling must not ask for keep-alives at every instant.
func TestEngineZeroMaxInterval(t *testing.T) {
	r := newEngineRig(t)
	r.e.HandleSubscribeRequest(0, 1, AppendSubscribeRequest(nil, NewSubscribeRequest(0, 0, AttributePathWildcard())))
	for o, ok := r.e.Poll(); ok; o, ok = r.e.Poll() {
		if o.ExpectResponse {
			r.e.HandleStatusResponse(0, o.Subscription, success())
		}
	}
	require.Equal(t, time.Second, r.e.Subscriptions()[0].MaxInterval)
	require.Equal(t, sec, r.e.NextDeadline())
	r.e.HandleTimeout(sec)
	require.Len(t, r.drain(), 1)
	r.e.HandleStatusResponse(sec, r.e.Subscriptions()[0].ID, success())
	require.Equal(t, 2*sec, r.e.NextDeadline())
}

// A keep-alive nobody answers ends the subscription, as the SDK's
// ReadHandler closes when its report's exchange times out
// (src/app/ReadHandler.cpp OnResponseTimeout).
func TestEngineUnansweredKeepAliveEnds(t *testing.T) {
	r := newEngineRig(t)
	r.subscribe(0, 0, 10, AttributePathWildcard())
	id := r.e.Subscriptions()[0].ID
	r.e.HandleTimeout(10 * sec)
	out := r.drain()
	require.Len(t, out, 1)
	require.True(t, out[0].ExpectResponse, "a keep-alive expects a StatusResponse")
	r.e.HandleExchangeFailed(10*sec, id)
	out = r.drain()
	require.Len(t, out, 1)
	require.Equal(t, SubTerminated, out[0].Kind)
	require.Empty(t, r.e.Subscriptions())
}

func TestEngineDirtyOutsidePathsIgnored(t *testing.T) {
	r := newEngineRig(t)
	r.subscribe(0, 0, 10, ConcreteAttribute(0, ClusterBasicInformation, BasicVendorName))
	r.toggle()
	require.Equal(t, 10*sec, r.e.NextDeadline())
	require.Equal(t, 0, r.e.Subscriptions()[0].Dirty)
}
