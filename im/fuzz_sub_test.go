package im

import (
	"reflect"
	"testing"

	"mattersim/clock"
)

func seedSubVectors(f *testing.F) {
	for _, v := range loadSubVectors(f) {
		f.Add(uint8(v.op), v.payload)
	}
	f.Add(uint8(OpSubscribeRequest), AppendSubscribeRequest(nil, NewSubscribeRequest(0, 60, AttributePathWildcard())))
	f.Add(uint8(OpWriteRequest), AppendWriteRequest(nil, NewWriteRequest(ConcreteAttribute(1, 6, 0), BoolValue(true), true)))
	f.Add(uint8(OpTimedRequest), []byte{0x15, 0x18})
}

// FuzzIMSubCodecs: the Subscribe, Timed and Write decoders on random bytes;
// whatever decodes must re-encode to bytes that decode to the same message,
// and re-encoding is stable.
func FuzzIMSubCodecs(f *testing.F) {
	seedSubVectors(f)
	f.Fuzz(func(t *testing.T, _ uint8, b []byte) {
		check := func(name string, decode func([]byte) (any, error), encode func(any) []byte) {
			m, err := decode(b)
			if err != nil {
				return
			}
			enc := encode(m)
			m2, err := decode(enc)
			if err != nil {
				t.Fatalf("%s: re-encoding does not decode: %v\nin  %x\nout %x", name, err, b, enc)
			}
			if !reflect.DeepEqual(m, m2) {
				t.Fatalf("%s: round trip changed the message\n%#v\n%#v", name, m, m2)
			}
			if enc2 := encode(m2); string(enc2) != string(enc) {
				t.Fatalf("%s: encoding not stable", name)
			}
		}
		check("SubscribeRequest",
			func(b []byte) (any, error) { var m SubscribeRequest; return &m, DecodeSubscribeRequest(b, &m) },
			func(m any) []byte { return AppendSubscribeRequest(nil, m.(*SubscribeRequest)) })
		check("SubscribeResponse",
			func(b []byte) (any, error) { var m SubscribeResponse; return &m, DecodeSubscribeResponse(b, &m) },
			func(m any) []byte { return AppendSubscribeResponse(nil, m.(*SubscribeResponse)) })
		check("TimedRequest",
			func(b []byte) (any, error) { var m TimedRequest; return &m, DecodeTimedRequest(b, &m) },
			func(m any) []byte { return AppendTimedRequest(nil, m.(*TimedRequest)) })
		check("WriteRequest",
			func(b []byte) (any, error) { var m WriteRequest; return &m, DecodeWriteRequest(b, &m) },
			func(m any) []byte { return AppendWriteRequest(nil, m.(*WriteRequest)) })
		check("WriteResponse",
			func(b []byte) (any, error) { var m WriteResponse; return &m, DecodeWriteResponse(b, &m) },
			func(m any) []byte { return AppendWriteResponse(nil, m.(*WriteResponse)) })
	})
}

// FuzzIMExchange drives HandleExchange with two random messages on one
// exchange (the second at a random delay): it must never panic, and every
// response must decode as the message its opcode names.
func FuzzIMExchange(f *testing.F) {
	seedSubVectors(f)
	f.Fuzz(func(t *testing.T, op uint8, payload []byte) {
		l := NewLight(InteropBasicInfo(), 1)
		s := NewServer(l.Node)
		var x Exchange
		for i, in := range []struct {
			op Opcode
			at clock.Time
			b  []byte
		}{
			{OpTimedRequest, 0, AppendTimedRequest(nil, &TimedRequest{Timeout: uint16(op) * 4})},
			{Opcode(op), clock.Time(len(payload)) * ms, payload},
			{Opcode(op), clock.Time(len(payload)) * ms, payload},
		} {
			rop, out, ok := s.HandleExchange(in.at, &x, nil, in.op, in.b)
			if !ok {
				continue
			}
			var err error
			switch rop {
			case OpReportData:
				var m ReportData
				err = DecodeReportData(out, &m)
			case OpInvokeResponse:
				var m InvokeResponse
				err = DecodeInvokeResponse(out, &m)
			case OpWriteResponse:
				var m WriteResponse
				err = DecodeWriteResponse(out, &m)
			case OpStatusResponse:
				var m StatusResponse
				err = DecodeStatusResponse(out, &m)
			default:
				t.Fatalf("step %d: unexpected response opcode %s", i, rop)
			}
			if err != nil {
				t.Fatalf("step %d: response %s does not decode: %v", i, rop, err)
			}
		}
	})
}

// FuzzSubscriptionEngine feeds a random SubscribeRequest, then a random
// mix of StatusResponses, changes and timeouts: no panic, every output
// decodes, deadlines never move into the past.
func FuzzSubscriptionEngine(f *testing.F) {
	seedSubVectors(f)
	f.Fuzz(func(t *testing.T, op uint8, payload []byte) {
		l := NewLight(InteropBasicInfo(), 1)
		e := &SubscriptionEngine{Server: NewServer(l.Node), MaxPayload: 64 + int(op)}
		l.Node.OnChange = e.MarkDirty
		now := clock.Time(0)
		e.HandleSubscribeRequest(now, 1, payload)
		drain := func() {
			for {
				o, ok := e.Poll()
				if !ok {
					return
				}
				if o.Kind != SubSend {
					continue
				}
				var err error
				switch o.Opcode {
				case OpReportData:
					var m ReportData
					err = DecodeReportData(o.Payload, &m)
				case OpSubscribeResponse:
					var m SubscribeResponse
					err = DecodeSubscribeResponse(o.Payload, &m)
				case OpStatusResponse:
					var m StatusResponse
					err = DecodeStatusResponse(o.Payload, &m)
				default:
					t.Fatalf("unexpected opcode %s", o.Opcode)
				}
				if err != nil {
					t.Fatalf("%s does not decode: %v", o.Opcode, err)
				}
			}
		}
		drain()
		for i, b := range payload {
			switch b % 4 {
			case 0:
				for _, s := range e.Subscriptions() {
					e.HandleStatusResponse(now, s.ID, success())
				}
			case 1:
				NewServer(l.Node).Invoke(NewInvokeRequest(CommandPath{Endpoint: 1, Cluster: ClusterOnOff, Command: OnOffCmdToggle}, nil))
			case 2:
				now += clock.Time(b) * ms * 100
				if d := e.NextDeadline(); d <= now {
					e.HandleTimeout(now)
				}
			case 3:
				for _, s := range e.Subscriptions() {
					e.HandleStatusResponse(now, s.ID, payload[i:])
				}
			}
			drain()
			if d := e.NextDeadline(); d < now && d != clock.Never {
				// A due report is sent at the next HandleTimeout; it must not be skipped.
				e.HandleTimeout(now)
				drain()
				if d2 := e.NextDeadline(); d2 <= now {
					t.Fatalf("deadline %v still due after HandleTimeout(%v)", d2, now)
				}
			}
		}
	})
}

// FuzzSubscriptionClient feeds a subscriber random messages and timeouts
// after a real establishment: no panic, every message it sends decodes,
// and it never holds a deadline in the past after HandleTimeout.
func FuzzSubscriptionClient(f *testing.F) {
	seedSubVectors(f)
	f.Fuzz(func(t *testing.T, op uint8, payload []byte) {
		l := newLink(t, 0, 10, AttributePathWildcard())
		l.c.Rand = &seqRand{v: []uint32{uint32(op) * 1000}}
		l.c.Start(0)
		l.pump(0)
		now := clock.Time(0)
		for i := 0; i < 3; i++ {
			l.c.HandleMessage(now, Opcode(op%12), payload)
			for o, ok := l.c.Poll(); ok; o, ok = l.c.Poll() {
				if o.Kind != ClientSend {
					continue
				}
				var err error
				switch o.Opcode {
				case OpStatusResponse:
					var m StatusResponse
					err = DecodeStatusResponse(o.Payload, &m)
				case OpSubscribeRequest:
					var m SubscribeRequest
					err = DecodeSubscribeRequest(o.Payload, &m)
				default:
					t.Fatalf("client sent %s", o.Opcode)
				}
				if err != nil {
					t.Fatalf("client's %s does not decode: %v", o.Opcode, err)
				}
			}
			now += clock.Time(len(payload)) * sec
			if l.c.NextDeadline() <= now {
				l.c.HandleTimeout(now)
				l.c.Poll()
			}
			if d := l.c.NextDeadline(); d < now {
				t.Fatalf("deadline %v before now %v", d, now)
			}
		}
	})
}
