package pase

import (
	"errors"
	"reflect"
	"sync"
	"testing"

	"mattersim/clock"
	"mattersim/session/status"
)

var fuzzTranscript = sync.OnceValue(func() [][]byte {
	ini, _ := NewInitiator(InitiatorConfig{Passcode: testPasscode, LocalSessionID: 0x1111, Rand: seeded(1)})
	resp := fuzzResponder()
	var msgs [][]byte
	out, _ := ini.Start(0)
	for out.Send {
		msgs = append(msgs, out.Payload)
		out, _ = resp.Handle(0, out.Opcode, out.Payload)
		if !out.Send {
			break
		}
		msgs = append(msgs, out.Payload)
		out, _ = ini.Handle(0, out.Opcode, out.Payload)
	}
	return msgs
})

func fuzzResponder() *Responder {
	r, err := NewResponder(ResponderConfig{Verifier: testVerifier, Salt: testSalt, Iterations: testIterations,
		LocalSessionID: 0x2222, Rand: seeded(101), MaxFailures: 3})
	if err != nil {
		panic(err)
	}
	return r
}

// FuzzPASEResponder drives a responder to a state (idle, waiting for Pake1,
// waiting for Pake3, established) and feeds it one arbitrary message. It
// checks: no panic, errors are of the documented kinds, the state stays
// consistent, and any payload that decodes re-encodes to an equal value.
func FuzzPASEResponder(f *testing.F) {
	msgs := fuzzTranscript()
	ops := []uint8{OpPBKDFParamRequest, OpPBKDFParamResponse, OpPake1, OpPake2, OpPake3, OpStatusReport}
	for i, m := range msgs {
		for st := range uint8(4) {
			f.Add(st, ops[i], m)
		}
	}
	f.Add(uint8(1), uint8(OpPake1), []byte{0x15, 0x30, 0x01, 0x41, 0x04, 0x18})
	f.Fuzz(func(t *testing.T, st, op uint8, payload []byte) {
		checkRoundTrip(t, op, payload)
		resp := fuzzResponder()
		st %= 4
		feed := []uint8{OpPBKDFParamRequest, OpPake1, OpPake3}
		for k := 0; k < int(st); k++ {
			if _, err := resp.Handle(0, feed[k], msgs[2*k]); err != nil {
				t.Fatalf("setup step %d: %v", k, err)
			}
		}
		before := resp.State()
		out, err := resp.Handle(clock.Time(st), op, payload)
		after := resp.State()
		if err == nil {
			if out.Done != (after == StateEstablished && before == StateWaitPake3) {
				t.Fatalf("Done=%v from %s to %s", out.Done, before, after)
			}
			return
		}
		known := []error{ErrMalformed, ErrInvalidParameter, ErrWrongPasscode, ErrBusy, ErrUnexpectedMessage, ErrTimeout}
		ok := false
		for _, k := range known {
			ok = ok || errors.Is(err, k)
		}
		var pse *PeerStatusError
		var ae *AttemptError
		ok = ok || errors.As(err, &pse)
		if !ok {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		if errors.As(err, &ae) {
			if after != StateIdle && after != StateClosed {
				t.Fatalf("failed attempt left state %s", after)
			}
			if resp.Failures() != 1 {
				t.Fatalf("failures %d", resp.Failures())
			}
		} else if after != before {
			t.Fatalf("non-attempt error %v changed state %s -> %s", err, before, after)
		}
		if out.Send && out.Opcode != OpStatusReport {
			t.Fatalf("error with non-status output opcode 0x%x", out.Opcode)
		}
	})
}

type codec interface {
	Decode([]byte) error
	Append([]byte) []byte
}

// checkRoundTrip: decode → encode → decode gives the same value.
func checkRoundTrip(t *testing.T, op uint8, b []byte) {
	var a, c codec
	switch op {
	case OpPBKDFParamRequest:
		a, c = &PBKDFParamRequest{}, &PBKDFParamRequest{}
	case OpPBKDFParamResponse:
		a, c = &PBKDFParamResponse{}, &PBKDFParamResponse{}
	case OpPake1:
		a, c = &Pake1{}, &Pake1{}
	case OpPake2:
		a, c = &Pake2{}, &Pake2{}
	case OpPake3:
		a, c = &Pake3{}, &Pake3{}
	case OpStatusReport:
		a, c = &statusCodec{}, &statusCodec{}
	default:
		return
	}
	if a.Decode(b) != nil {
		return
	}
	enc := a.Append(nil)
	if err := c.Decode(enc); err != nil {
		t.Fatalf("re-decode of %x: %v", enc, err)
	}
	if !reflect.DeepEqual(a, c) {
		t.Fatalf("round trip differs: %+v vs %+v", a, c)
	}
}

// statusCodec gives status.Report the codec shape of the PASE messages.
type statusCodec struct{ r status.Report }

func (s *statusCodec) Decode(b []byte) (err error) {
	s.r, err = status.Decode(b)
	return err
}

func (s *statusCodec) Append(b []byte) []byte { return s.r.Append(b) }
