package commissioner

import (
	"bytes"
	"testing"

	"mattersim/session/cert"
)

func TestIssueNOC(t *testing.T) {
	for _, icac := range []bool{false, true} {
		fab := testFabric(t, icac)
		pub, _ := newKey(t).PublicKey.Bytes()
		b, err := fab.IssueNOC(pub, 0x42)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := fab.IssueNOC(pub, 0x42)
		if !bytes.Equal(b, again) {
			t.Error("IssueNOC is not deterministic")
		}
		noc, err := cert.DecodeTLV(b)
		if err != nil {
			t.Fatal(err)
		}
		v, err := cert.Chain{RCAC: fab.RCAC, ICAC: fab.ICAC, NOC: noc}.Verify(cert.VerifyOptions{Epoch: noc.NotBefore})
		if err != nil {
			t.Fatal(err)
		}
		if v.NodeID != 0x42 || v.FabricID != 0xFAB1 || !bytes.Equal(noc.PublicKey, pub) {
			t.Fatalf("icac=%v: NOC for node 0x%X fabric 0x%X", icac, v.NodeID, v.FabricID)
		}
		// A device checks the NOC's signature over its X.509 DER form
		// (spec 6.5.1), so the TLV form must convert.
		if _, err := cert.TLVToDER(b); err != nil {
			t.Fatalf("TLVToDER: %v", err)
		}
	}
	fab := testFabric(t, false)
	pub, _ := newKey(t).PublicKey.Bytes()
	for _, tc := range []struct {
		name string
		pub  []byte
		node uint64
	}{
		{"node id 0", pub, 0},
		{"group id range", pub, 0xFFFF_FFFF_FFFF_0001},
		{"compressed key", append([]byte{2}, pub[1:33]...), 1},
		{"short key", pub[:64], 1},
	} {
		if _, err := fab.IssueNOC(tc.pub, tc.node); err == nil {
			t.Errorf("%s: IssueNOC succeeded", tc.name)
		}
	}
}
