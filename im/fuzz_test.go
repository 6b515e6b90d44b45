package im

import (
	"reflect"
	"testing"
)

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
		var err error
		switch rop {
		case OpReportData:
			var m ReportData
			err = DecodeReportData(out, &m)
		case OpInvokeResponse:
			var m InvokeResponse
			err = DecodeInvokeResponse(out, &m)
		case OpStatusResponse:
			var m StatusResponse
			err = DecodeStatusResponse(out, &m)
		default:
			t.Fatalf("unexpected response opcode %s", rop)
		}
		if err != nil {
			t.Fatalf("server response %s does not decode: %v (%x)", rop, err, out)
		}
	})
}

// FuzzIMCodecs decodes random bytes with every decoder; whatever decodes
// must re-encode to bytes that decode to the same message (canonical round
// trip: our encoder may pick shorter integer widths than the input).
func FuzzIMCodecs(f *testing.F) {
	seedVectors(f)
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
		check("ReadRequest",
			func(b []byte) (any, error) { var m ReadRequest; return &m, DecodeReadRequest(b, &m) },
			func(m any) []byte { return AppendReadRequest(nil, m.(*ReadRequest)) })
		check("ReportData",
			func(b []byte) (any, error) { var m ReportData; return &m, DecodeReportData(b, &m) },
			func(m any) []byte { return AppendReportData(nil, m.(*ReportData)) })
		check("InvokeRequest",
			func(b []byte) (any, error) { var m InvokeRequest; return &m, DecodeInvokeRequest(b, &m) },
			func(m any) []byte { return AppendInvokeRequest(nil, m.(*InvokeRequest)) })
		check("InvokeResponse",
			func(b []byte) (any, error) { var m InvokeResponse; return &m, DecodeInvokeResponse(b, &m) },
			func(m any) []byte { return AppendInvokeResponse(nil, m.(*InvokeResponse)) })
		check("StatusResponse",
			func(b []byte) (any, error) { var m StatusResponse; return &m, DecodeStatusResponse(b, &m) },
			func(m any) []byte { return AppendStatusResponse(nil, m.(*StatusResponse)) })
	})
}
