package im

import "mattersim/tlv"

// TimedRequest is a TimedRequestMessage (the Timed interaction, spec chapter 8;
// opcode 0x0A): tag 0 Timeout in milliseconds (required), 0xFF revision
// (matter.js packages/types/src/protocol/messages/TlvTimedRequest.ts).
type TimedRequest struct {
	Timeout  uint16 // milliseconds
	Revision uint8
}

// AppendTimedRequest appends the TLV payload of m.
func AppendTimedRequest(b []byte, m *TimedRequest) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.PutUint(ctx(0), uint64(m.Timeout))
	putRevision(w, m.Revision)
	w.EndContainer()
	return w.Bytes()
}

// DecodeTimedRequest decodes a TimedRequest payload into m.
func DecodeTimedRequest(b []byte, m *TimedRequest) error {
	*m = TimedRequest{}
	var has bool
	err := decodeTop(b, "TimedRequest", func(d *dec, tag uint8) (err error) {
		switch tag {
		case 0:
			m.Timeout, err = d.u16("Timeout")
			has = true
		case tagRevision:
			m.Revision, err = d.u8("InteractionModelRevision")
		}
		return err
	})
	if err == nil && !has {
		err = &DecodeError{Message: "TimedRequest", Field: "Timeout", Err: ErrMissingField}
	}
	return err
}
