// Prints General Commissioning and Operational Credentials command-field
// vectors encoded by matter.js's own schemas (@matter/types TlvOfModel over
// the @matter/model command models, 0.17.9), for
// im/testdata/matterjs_commission_vectors.txt. The values are those of
// im/commission_codec_test.go. Opens no sockets, but like every matter.js
// script here it is run inside a throw-away namespace:
//
//	ip netns add mtr-gen && ip -n mtr-gen link set lo up
//	MATTER_PATH_ROOT=$(mktemp -d) ip netns exec mtr-gen node gen-commission-vectors.mjs
//	ip netns del mtr-gen
import { Bytes } from "@matter/main";
import { TlvOfModel } from "@matter/main/types";
import { GeneralCommissioning, OperationalCredentials } from "@matter/main/clusters";

const fill = (b, n) => new Uint8Array(n).fill(b);
const req = (cluster, name) => TlvOfModel(cluster.commands[name].schema);
const resp = (cluster, name) => TlvOfModel(cluster.commands[name].schema.responseModel);
const v = (name, schema, value) => console.log(`${name} ${Bytes.toHex(schema.encode(value))}`);
const GC = GeneralCommissioning, OC = OperationalCredentials;

v("ArmFailSafe", req(GC, "armFailSafe"), { expiryLengthSeconds: 60, breadcrumb: 1 });
v("ArmFailSafe/wide", req(GC, "armFailSafe"), { expiryLengthSeconds: 900, breadcrumb: 0x100000000n });
v("SetRegulatoryConfig", req(GC, "setRegulatoryConfig"), { newRegulatoryConfig: 2, countryCode: "XX", breadcrumb: 2 });
v("CommissioningResponse", resp(GC, "armFailSafe"), { errorCode: 3, debugText: "no" });
v("AttestationRequest", req(OC, "attestationRequest"), { attestationNonce: fill(0xaa, 32) });
v("SignedElements", resp(OC, "attestationRequest"), { attestationElements: Bytes.fromHex("1518"), attestationSignature: fill(0x5a, 64) });
v("CertificateChainRequest", req(OC, "certificateChainRequest"), { certificateType: 2 });
v("CertificateChainResponse", resp(OC, "certificateChainRequest"), { certificate: Bytes.fromHex("3000") });
v("CSRRequest", req(OC, "csrRequest"), { csrNonce: fill(0xaa, 32) });
v("CSRRequest/update", req(OC, "csrRequest"), { csrNonce: fill(0xaa, 32), isForUpdateNoc: true });
v("AddNOC", req(OC, "addNoc"), { nocValue: Bytes.fromHex("0102"), ipkValue: fill(0x11, 16), caseAdminSubject: 112233n, adminVendorId: 0xfff1 });
v("AddNOC/icac", req(OC, "addNoc"), { nocValue: Bytes.fromHex("01"), icacValue: Bytes.fromHex("02"), ipkValue: fill(0x11, 16), caseAdminSubject: 1n, adminVendorId: 1 });
v("NOCResponse", resp(OC, "addNoc"), { statusCode: 0, fabricIndex: 1 });
v("NOCResponse/error", resp(OC, "addNoc"), { statusCode: 3, debugText: "x" });
v("AddTrustedRootCertificate", req(OC, "addTrustedRootCertificate"), { rootCaCertificate: Bytes.fromHex("1518") });
