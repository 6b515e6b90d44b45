package casesess

import (
	"testing"

	"mattersim/session/cert/testca"
)

func benchDrive(b *testing.B, ini *Initiator, resp *Responder) {
	out, err := ini.Start(0)
	for err == nil && out.Send {
		out, err = resp.Handle(0, out.Opcode, out.Payload)
		if err != nil || !out.Send {
			break
		}
		out, err = ini.Handle(0, out.Opcode, out.Payload)
	}
	if err != nil {
		b.Fatal(err)
	}
	if _, ok := ini.Result(); !ok {
		b.Fatal("initiator not established")
	}
	if _, ok := resp.Result(); !ok {
		b.Fatal("responder not established")
	}
}

// BenchmarkCASE runs complete CASE handshakes (Sigma1, Sigma2, Sigma3,
// StatusReport) in process, both roles, with a fresh Initiator and
// Responder per handshake: two ephemeral keys and ECDH, two signatures,
// and on each side the peer's RCAC → ICAC → NOC chain decoded and
// verified (three ECDSA verifications) plus the TBSData signature.
func BenchmarkCASE(b *testing.B) {
	fab := mint(b, testca.Options{Seed: 5, ICAC: true})
	iF, rF := fabricOf(b, fab, 1, 0), fabricOf(b, fab, 3, 1)
	irand, rrand := seeded(1), seeded(2)
	b.ReportAllocs()
	for b.Loop() {
		ini, _ := NewInitiator(InitiatorConfig{Fabric: iF, PeerNodeID: fab.NodeID(1), LocalSessionID: 1,
			Params: iParams, Rand: irand, Epoch: testEpoch})
		resp, _ := NewResponder(ResponderConfig{Fabrics: []*Fabric{rF}, LocalSessionID: 2, Params: rParams,
			Rand: rrand, Epoch: testEpoch})
		benchDrive(b, ini, resp)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
}

// BenchmarkCASEResume runs resumptions (Sigma1 with resumption id and
// MIC, Sigma2_Resume, StatusReport) in process, both roles: no ECDH, no
// signatures, no certificates, four HKDFs and AES-CCM MICs. Each
// resumption moves both records to a new resumption id, so every
// iteration resumes the one before.
func BenchmarkCASEResume(b *testing.B) {
	fab := mint(b, testca.Options{Seed: 5, ICAC: true})
	iF, rF := fabricOf(b, fab, 1, 0), fabricOf(b, fab, 3, 1)
	iTab, rTab := NewResumption(0), NewResumption(0)
	irand, rrand := seeded(1), seeded(2)
	mk := func() (*Initiator, *Responder) {
		ini, _ := NewInitiator(InitiatorConfig{Fabric: iF, PeerNodeID: fab.NodeID(1), LocalSessionID: 1,
			Params: iParams, Rand: irand, Epoch: testEpoch, Resumption: iTab})
		resp, _ := NewResponder(ResponderConfig{Fabrics: []*Fabric{rF}, LocalSessionID: 2, Params: rParams,
			Rand: rrand, Epoch: testEpoch, Resumption: rTab})
		return ini, resp
	}
	ini, resp := mk()
	benchDrive(b, ini, resp) // the full handshake that creates the records
	b.ReportAllocs()
	for b.Loop() {
		ini, resp := mk()
		benchDrive(b, ini, resp)
		if r, _ := ini.Result(); !r.Resumed {
			b.Fatal("not a resumption")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
}

// benchDriveResponder is benchDrive with the benchmark timer running only
// around the responder's work (its construction and every Handle), so
// ns/op is the device side of one handshake. The timer is stopped on
// entry and left running on return.
func benchDriveResponder(b *testing.B, ini *Initiator, newResp func() *Responder) {
	b.StopTimer()
	out, err := ini.Start(0)
	b.StartTimer()
	resp := newResp()
	for err == nil && out.Send {
		out, err = resp.Handle(0, out.Opcode, out.Payload)
		b.StopTimer()
		if err != nil || !out.Send {
			break
		}
		out, err = ini.Handle(0, out.Opcode, out.Payload)
		b.StartTimer()
	}
	if err != nil {
		b.Fatal(err)
	}
	if _, ok := ini.Result(); !ok {
		b.Fatal("initiator not established")
	}
	if _, ok := resp.Result(); !ok {
		b.Fatal("responder not established")
	}
	b.StartTimer()
}

// BenchmarkCASEResponder is BenchmarkCASE timing only the responder (the
// device side): its ephemeral key and ECDH, its Sigma2 signature, and the
// initiator's chain and TBSData signature verified on Sigma3. The
// counterpart of the matter.js device's CPU per handshake measured by
// interop TestMatterJSCASECost.
func BenchmarkCASEResponder(b *testing.B) {
	b.Run("icac", func(b *testing.B) { benchCASEResponder(b, true) })
	// Without an ICAC: the chain of a fabric mattersim commission builds
	// (root → NOC), as on the matter.js device of TestMatterJSCASECost.
	b.Run("no-icac", func(b *testing.B) { benchCASEResponder(b, false) })
}

func benchCASEResponder(b *testing.B, icac bool) {
	fab := mint(b, testca.Options{Seed: 5, ICAC: icac})
	iF, rF := fabricOf(b, fab, 1, 0), fabricOf(b, fab, 3, 1)
	irand, rrand := seeded(1), seeded(2)
	newResp := func() *Responder {
		resp, _ := NewResponder(ResponderConfig{Fabrics: []*Fabric{rF}, LocalSessionID: 2, Params: rParams,
			Rand: rrand, Epoch: testEpoch})
		return resp
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		ini, _ := NewInitiator(InitiatorConfig{Fabric: iF, PeerNodeID: fab.NodeID(1), LocalSessionID: 1,
			Params: iParams, Rand: irand, Epoch: testEpoch})
		benchDriveResponder(b, ini, newResp)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
}

// BenchmarkCASEResumeResponder is BenchmarkCASEResume timing only the
// responder: the resumption lookup, the Sigma1 MIC check, the resume keys
// and Sigma2_Resume MIC, and the new record.
func BenchmarkCASEResumeResponder(b *testing.B) {
	fab := mint(b, testca.Options{Seed: 5, ICAC: true})
	iF, rF := fabricOf(b, fab, 1, 0), fabricOf(b, fab, 3, 1)
	iTab, rTab := NewResumption(0), NewResumption(0)
	irand, rrand := seeded(1), seeded(2)
	newIni := func() *Initiator {
		ini, _ := NewInitiator(InitiatorConfig{Fabric: iF, PeerNodeID: fab.NodeID(1), LocalSessionID: 1,
			Params: iParams, Rand: irand, Epoch: testEpoch, Resumption: iTab})
		return ini
	}
	newResp := func() *Responder {
		resp, _ := NewResponder(ResponderConfig{Fabrics: []*Fabric{rF}, LocalSessionID: 2, Params: rParams,
			Rand: rrand, Epoch: testEpoch, Resumption: rTab})
		return resp
	}
	benchDrive(b, newIni(), newResp()) // the full handshake that creates the records
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		ini := newIni()
		benchDriveResponder(b, ini, newResp)
		if r, _ := ini.Result(); !r.Resumed {
			b.Fatal("not a resumption")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
}
