package commissioner

import (
	"testing"

	"mattersim/im"
)

// FuzzDeviceInput feeds arbitrary device answers to the parsers the flow
// runs on them (Certification Declaration, attestation, CSR): they must
// fail with an error, never panic.
func FuzzDeviceInput(f *testing.F) {
	f.Add(readCDVector(f), []byte{0x15, 0x18})
	f.Add([]byte{0x30, 0x00}, []byte{0x30, 0x00})
	pas := TestPAAs()
	f.Fuzz(func(t *testing.T, a, b []byte) {
		_, _ = ParseCD(a)
		_, _ = ParseCD(b)
		resp := &im.SignedElements{Elements: b, Signature: make([]byte, 64)}
		_, _ = VerifyAttestation(a, b, resp, make([]byte, 32), [16]byte{}, pas, testNow)
		_, _ = VerifyCSR(&im.SignedElements{Elements: a, Signature: b}, make([]byte, 32), [16]byte{}, nil)
	})
}
