// Prints a Certification Declaration as matter.js generates it for its test
// devices (@matter/protocol 0.17.9 CertificationDeclaration.generate:
// vendor 0xFFF1, product 0x8000, CMS SignedData signed with the SDK's test
// CD signing key), for nodes/commissioner/testdata/matterjs_cd_fff1_8000.hex.
// ECDSA signatures are randomised, so every run prints other bytes. Opens
// no sockets, but like every matter.js script here it is run inside a
// throw-away namespace:
//
//	ip netns add mtr-gen && ip -n mtr-gen link set lo up
//	MATTER_PATH_ROOT=$(mktemp -d) ip netns exec mtr-gen node gen-cd-vector.mjs
//	ip netns del mtr-gen
import { Bytes, Environment } from "@matter/main";
import { Crypto } from "@matter/general";
import { CertificationDeclaration } from "@matter/main/protocol";

const crypto = Environment.default.get(Crypto);
console.log(Bytes.toHex(await CertificationDeclaration.generate(crypto, 0xfff1, 0x8000)));
