// Replays testdata/xcheck_input.txt (written by TestXcheckInput) with
// matter.js's own CASE codecs and crypto (@matter/protocol 0.17.9,
// packages/protocol/src/session/case/CaseMessages.ts, the key schedule of
// CaseServer.ts / CaseClient.ts, NodeSession.create for the session keys,
// Fabric.create for the operational IPK and Fabric destination ids,
// Rcac/Icac/Noc.verify for the chains). It prints one "name = value" line
// per derived value and "ok <check>" per check; the output is committed as
// testdata/xcheck_matterjs.txt and compared by TestMatterJSCrossCheck.
//
// Usage (no sockets are opened):
//   MATTERJS=/path/to/interop/node_modules node xcheck_matterjs.mjs xcheck_input.txt > xcheck_matterjs.txt
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const nm = process.env.MATTERJS;
const load = (p) => import(pathToFileURL(join(nm, p)).href);
const { Bytes, PrivateKey, PublicKey, EcdsaSignature, DataWriter, Endian } = await load("@matter/general/dist/esm/index.js");
const { NodeJsCrypto } = await load("@matter/nodejs/dist/esm/index.js");
const P = await load("@matter/protocol/dist/esm/index.js");
const { GlobalFabricId } = await load("@matter/types/dist/esm/index.js");

const crypto = new NodeJsCrypto();
const v = {};
for (const line of readFileSync(process.argv[2], "utf8").split("\n")) {
    const m = line.match(/^(\w+) = ([0-9a-f]+)$/);
    if (m) v[m[1]] = m[1].endsWith("Id") ? BigInt("0x" + m[2]) : Bytes.fromHex(m[2]);
}
const hex = (b) => Bytes.toHex(Bytes.of(b));
const out = (k, b) => console.log(`${k} = ${hex(b)}`);
const ok = (what) => console.log(`ok ${what}`);
const same = (a, b, what) => {
    if (hex(a) !== hex(b)) throw new Error(`${what}: matter.js ${hex(a)}, input ${hex(b)}`);
    ok(what);
};
const concat = (...bs) => Bytes.concat(...bs);

// Operational IPK as matter.js Fabric.create derives it.
const globalId = await GlobalFabricId.compute(crypto, v.fabricId, v.rootPublicKey);
const ipk = await crypto.createHkdfKey(v.ipkEpochKey, Bytes.fromBigInt(globalId, 8), Bytes.fromString("GroupKey v1.0"));
same(ipk, v.ipk, "operational IPK");

// Sigma1 and the destination id (Fabric #generateSalt + signHmac).
const s1 = P.TlvCaseSigma1.decode(v.sigma1);
const w = new DataWriter(Endian.Little);
w.writeByteArray(s1.initiatorRandom);
w.writeByteArray(v.rootPublicKey);
w.writeUInt64(v.fabricId);
w.writeUInt64(v.responderNodeId);
same(await crypto.signHmac(ipk, w.toByteArray()), s1.destinationId, "destination id");

// Sigma2 as the initiator reads it (CaseClient).
const s2 = P.TlvCaseSigma2.decode(v.sigma2);
const ephKey = PrivateKey(v.initiatorEphPrivateKey);
same(ephKey.publicBits, s1.initiatorEcdhPublicKey, "initiator ephemeral public key");
const shared = await crypto.generateDhSecret(ephKey, PublicKey(s2.responderEcdhPublicKey));
same(shared, v.sharedSecret, "ECDH shared secret");
const s2salt = concat(ipk, s2.responderRandom, s2.responderEcdhPublicKey, await crypto.computeHash(v.sigma1));
const s2k = await crypto.createHkdfKey(shared, s2salt, P.KDFSR2_INFO);
const tbe2 = P.TlvEncryptedDataSigma2.decode(crypto.decrypt(s2k, s2.encrypted, P.TBE_DATA2_NONCE));
ok("encrypted2 decrypts under S2K");
const rcac = P.Rcac.fromTlv(v.rcac);
const verifyChain = async (noc, icac) => {
    const ic = icac !== undefined ? P.Icac.fromTlv(icac) : undefined;
    if (ic) await ic.verify(crypto, rcac);
    const n = P.Noc.fromTlv(noc);
    await n.verify(crypto, rcac, ic);
    return n.cert;
};
const respNoc = await verifyChain(tbe2.responderNoc, tbe2.responderIcac);
ok("responder chain verifies");
await crypto.verifyEcdsa(PublicKey(respNoc.ellipticCurvePublicKey), P.TlvSignedData.encode({
    responderNoc: tbe2.responderNoc, responderIcac: tbe2.responderIcac,
    responderPublicKey: s2.responderEcdhPublicKey, initiatorPublicKey: s1.initiatorEcdhPublicKey,
}), new EcdsaSignature(tbe2.signature));
ok("Sigma2 signature verifies");

// Sigma3 as the responder reads it (CaseServer).
const s3 = P.TlvCaseSigma3.decode(v.sigma3);
const s3k = await crypto.createHkdfKey(shared, concat(ipk, await crypto.computeHash([v.sigma1, v.sigma2])), P.KDFSR3_INFO);
const tbe3 = P.TlvEncryptedDataSigma3.decode(crypto.decrypt(s3k, s3.encrypted, P.TBE_DATA3_NONCE));
ok("encrypted3 decrypts under S3K");
const initNoc = await verifyChain(tbe3.responderNoc, tbe3.responderIcac);
ok("initiator chain verifies");
await crypto.verifyEcdsa(PublicKey(initNoc.ellipticCurvePublicKey), P.TlvSignedData.encode({
    responderNoc: tbe3.responderNoc, responderIcac: tbe3.responderIcac,
    responderPublicKey: s1.initiatorEcdhPublicKey, initiatorPublicKey: s2.responderEcdhPublicKey,
}), new EcdsaSignature(tbe3.signature));
ok("Sigma3 signature verifies");

// Session keys (NodeSession.create: HKDF(shared, salt, "SessionKeys", 48)).
const salt = concat(ipk, await crypto.computeHash([v.sigma1, v.sigma2, v.sigma3]));
const keys = Bytes.of(await crypto.createHkdfKey(shared, salt, Bytes.fromString("SessionKeys"), 48));
out("i2r", keys.slice(0, 16));
out("r2i", keys.slice(16, 32));
out("challenge", keys.slice(32, 48));

// Resumption: Sigma1 with resumptionId + MIC (CaseServer #resume), then
// Sigma2_Resume as CaseClient checks it.
const r1 = P.TlvCaseSigma1.decode(v.resumeSigma1);
same(r1.resumptionId, tbe2.resumptionId, "Sigma1 offers the resumption id of TBEData2");
const s1rk = await crypto.createHkdfKey(shared, concat(r1.initiatorRandom, r1.resumptionId), P.KDFSR1_KEY_INFO);
crypto.decrypt(s1rk, r1.initiatorResumeMic, P.RESUME1_MIC_NONCE);
ok("initiatorResumeMIC verifies");
const r2 = P.TlvCaseSigma2Resume.decode(v.sigma2Resume);
const s2rk = await crypto.createHkdfKey(shared, concat(r1.initiatorRandom, r2.resumptionId), P.KDFSR2_KEY_INFO);
crypto.decrypt(s2rk, r2.resumeMic, P.RESUME2_MIC_NONCE);
ok("sigma2ResumeMIC verifies");
const rkeys = Bytes.of(await crypto.createHkdfKey(shared, concat(r1.initiatorRandom, r1.resumptionId),
    Bytes.fromString("SessionResumptionKeys"), 48));
out("resumeI2R", rkeys.slice(0, 16));
out("resumeR2I", rkeys.slice(16, 32));
out("resumeChallenge", rkeys.slice(32, 48));
