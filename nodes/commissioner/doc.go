// Package commissioner is the controller side of Matter commissioning
// (Matter Core Specification 5.5 "Commissioning Flows"): the sequence of
// commands a commissioner sends over the PASE session (ArmFailSafe,
// SetRegulatoryConfig, device attestation, CSRRequest,
// AddTrustedRootCertificate, AddNOC), the CASE session to the freshly
// commissioned node and CommissioningComplete on it, plus the checks and
// credentials the steps need:
//
//   - Attestation (spec 6.2.3, 11.18.6.1-4): the DAC → PAI → PAA chain
//     against a trust store of PAAs (the SDK's public test PAAs by
//     default, paa/), the attestation signature over AttestationElements ||
//     attestation challenge with the DAC key, and the attestation nonce;
//     the Certification Declaration (spec 6.3.1): its CMS signature by a
//     trusted CD signing key (the SDK's test key by default, cdsigner/) and
//     its vendor and product ids against the DAC, the PAI and
//     BasicInformation. Revocation and the DCL are not consulted.
//   - The NOCSR (spec 11.18.6.5-6, 6.4.6.1): the PKCS#10 request's own
//     signature, its nonce and the attestation signature with the DAC key.
//   - The NOC (spec 6.5): issued for the CSR's public key by the fabric's
//     root (or ICAC), in the shape of package testca's NOCs.
//
// Flow is sans-I/O, in the manner of session/casesess: it yields the next
// request (an InvokeRequest or ReadRequest payload and the session it goes
// on) and takes the response; randomness (nonces) comes from the configured
// reader and the X.509 validity time is given by the caller. CASE is a step
// the caller runs (StartCASE drives session/casesess on a session.Manager,
// as nodes/pairing drives PASE). The order is that of matter.js
// packages/protocol/src/peer/ControllerCommissioningFlow.ts (ArmFailSafe,
// the regulatory read and SetRegulatoryConfig, DAC, PAI, attestation, CSR,
// root, NOC, CASE, CommissioningComplete); connectedhomeip's
// src/controller/AutoCommissioner.cpp reads the commissioning info before
// arming the fail-safe and asks for the PAI before the DAC. Its
// CommissioningStage names label the steps (Step).
package commissioner
