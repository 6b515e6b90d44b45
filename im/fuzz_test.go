package im

import "testing"

func seedVectors(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(uint8(v.op), v.payload)
	}
	f.Add(uint8(OpReadRequest), AppendReadRequest(nil, NewReadRequest(AttributePathWildcard())))
	f.Add(uint8(OpInvokeRequest), AppendInvokeRequest(nil, NewInvokeRequest(CommandPath{1, 6, 2}, nil)))
	f.Add(uint8(OpReadRequest), []byte{})
	f.Add(uint8(0x77), []byte{0x15, 0x18})
}

// FuzzIMServer feeds random requests to the server: it must never panic,
// and every response must decode as the message its opcode names.
func FuzzIMServer(f *testing.F) {
	seedVectors(f)
	f.Fuzz(func(t *testing.T, op uint8, payload []byte) {
		l := NewLight(InteropBasicInfo(), 1)
		s := NewServer(l.Node)
		rop, out, ok := s.Handle(nil, Opcode(op), payload)
		if !ok {
			return
		}
		if err := checkDecodes(rop, out, OpReportData, OpInvokeResponse, OpStatusResponse); err != nil {
			t.Fatalf("server response: %v", err)
		}
	})
}

// FuzzIMCodecs decodes random bytes with every decoder; whatever decodes
// must re-encode to bytes that decode to the same message (canonical round
// trip: our encoder may pick shorter integer widths than the input).
func FuzzIMCodecs(f *testing.F) {
	seedVectors(f)
	f.Fuzz(func(t *testing.T, _ uint8, b []byte) {
		for _, op := range []Opcode{OpReadRequest, OpReportData, OpInvokeRequest, OpInvokeResponse, OpStatusResponse} {
			checkRoundTrip(t, msgCodecs[op], b)
		}
	})
}
