package im

import (
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
		for _, op := range []Opcode{OpSubscribeRequest, OpSubscribeResponse, OpTimedRequest, OpWriteRequest, OpWriteResponse} {
			checkRoundTrip(t, msgCodecs[op], b)
		}
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
			if err := checkDecodes(rop, out, OpReportData, OpInvokeResponse, OpWriteResponse, OpStatusResponse); err != nil {
				t.Fatalf("step %d: response: %v", i, err)
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
				if err := checkDecodes(o.Opcode, o.Payload, OpReportData, OpSubscribeResponse, OpStatusResponse); err != nil {
					t.Fatal(err)
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
				if err := checkDecodes(o.Opcode, o.Payload, OpStatusResponse, OpSubscribeRequest); err != nil {
					t.Fatalf("client sent: %v", err)
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
