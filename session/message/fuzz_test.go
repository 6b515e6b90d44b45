package message

import (
	"encoding/hex"
	"testing"
)

func seedVectors(f *testing.F) {
	f.Helper()
	for _, v := range loadVectors(f) {
		b, err := hex.DecodeString(v.fields["hex"])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzMessageHeader: Decode never panics, consumes at most its input, and a
// decoded header re-encodes to the same bytes (bit 3 of the message flags,
// reserved and ignored, excepted) with Len == n.
func FuzzMessageHeader(f *testing.F) {
	seedVectors(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Header
		n, err := h.Decode(b)
		if err != nil {
			if n != 0 {
				t.Fatalf("error with n=%d", n)
			}
			if _, ok := err.(*DecodeError); !ok {
				t.Fatalf("untyped error %T", err)
			}
			return
		}
		if n > len(b) || n != h.Len() {
			t.Fatalf("n=%d len=%d Len=%d", n, len(b), h.Len())
		}
		want := append([]byte(nil), b[:n]...)
		want[0] &^= 0x08
		if got := h.Append(nil); string(got) != string(want) {
			t.Fatalf("re-encode\n got %x\nwant %x", got, want)
		}
		pl, ok := PrivacyLen(b[0])
		if !ok || pl != h.PrivacyLen() {
			t.Fatalf("PrivacyLen(%#x)=%d,%v want %d", b[0], pl, ok, h.PrivacyLen())
		}
	})
}

// FuzzProtocolHeader: Decode never panics and a decoded header re-encodes
// to the same bytes with Len == n.
func FuzzProtocolHeader(f *testing.F) {
	for _, v := range loadVectors(f) {
		if _, ok := v.fields["exflags"]; !ok {
			continue
		}
		b, _ := hex.DecodeString(v.fields["hex"])
		var h Header
		n, err := h.Decode(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[n:])
	}
	f.Add([]byte{0x1f, 0x40, 0xff, 0xff, 0xf1, 0xff, 0x01, 0x00, 1, 2, 3, 4, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p ProtocolHeader
		n, err := p.Decode(b)
		if err != nil {
			if _, ok := err.(*DecodeError); !ok || n != 0 {
				t.Fatalf("bad error %T n=%d", err, n)
			}
			return
		}
		if n > len(b) || n != p.Len() {
			t.Fatalf("n=%d len=%d Len=%d", n, len(b), p.Len())
		}
		if got := p.Append(nil); string(got) != string(b[:n]) {
			t.Fatalf("re-encode\n got %x\nwant %x", got, b[:n])
		}
	})
}
