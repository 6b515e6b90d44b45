// Checks a fabric minted by `mattersim fabric new` with matter.js's own
// certificate codec and validation (@matter/protocol 0.17.9,
// packages/protocol/src/certificate/kinds/{Rcac,Icac,Noc}.ts): every .chip
// (Matter TLV) file must decode, convert to the DER of the matching .pem
// byte for byte, and the DER must convert back to the same TLV; every
// chain RCAC → (ICAC) → NOC must pass Rcac/Icac/Noc.verify. With
// WRONG_ROOT=DIR2 it instead verifies DIR's NOCs against DIR2's root and
// expects matter.js to reject each one.
//
// Usage: node certs.mjs DIR. Opens no sockets, but like every matter.js
// script here it is run inside a throw-away network namespace.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Bytes } from "@matter/main";
import { Rcac, Icac, Noc } from "@matter/main/protocol";
import { NodeJsCrypto } from "@matter/nodejs";

const dir = process.argv[2];
const wrongRoot = process.env.WRONG_ROOT;
const crypto = new NodeJsCrypto();
const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));

function pemDer(path) {
    const b64 = readFileSync(path, "utf8").replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
    return new Uint8Array(Buffer.from(b64, "base64"));
}

// load decodes one certificate both ways and checks the conversions.
function load(kind, entry, base) {
    const tlv = new Uint8Array(readFileSync(join(base, entry.tlv)));
    const der = pemDer(join(base, entry.pem));
    const fromTlv = kind.fromTlv(tlv);
    const derHex = Bytes.toHex(Bytes.of(fromTlv.asSignedDer()));
    if (derHex !== Bytes.toHex(der)) {
        throw new Error(`${entry.tlv}: matter.js TLV→DER differs from ${entry.pem}\n got  ${derHex}\n want ${Bytes.toHex(der)}`);
    }
    const back = Bytes.toHex(Bytes.of(kind.fromAsn1(der).asSignedTlv()));
    if (back !== Bytes.toHex(tlv)) {
        throw new Error(`${entry.pem}: matter.js DER→TLV differs from ${entry.tlv}\n got  ${back}\n want ${Bytes.toHex(tlv)}`);
    }
    return fromTlv;
}

try {
    const rootDir = wrongRoot ?? dir;
    const rootManifest = wrongRoot ? JSON.parse(readFileSync(join(wrongRoot, "manifest.json"), "utf8")) : manifest;
    const rcac = load(Rcac, rootManifest.rcac, rootDir);
    await rcac.verify(crypto);
    let icac;
    if (manifest.icac) {
        icac = load(Icac, manifest.icac, dir);
        if (!wrongRoot) await icac.verify(crypto, rcac);
    }
    let verified = 0, rejected = 0;
    for (const n of manifest.nodes) {
        const noc = load(Noc, n, dir);
        try {
            await noc.verify(crypto, rcac, icac);
            verified++;
        } catch (e) {
            if (!wrongRoot) throw new Error(`node ${n.node_id}: ${e.message}`);
            rejected++;
            console.log(`INTEROP: rejected ${n.node_id}: ${e.message.split("\n")[0]}`);
        }
    }
    console.log(`INTEROP: certs converted ${manifest.nodes.length + 1 + (manifest.icac ? 1 : 0)} verified ${verified} rejected ${rejected}`);
} catch (e) {
    console.log(`INTEROP: error ${e.stack ?? e}`);
    process.exit(1);
}
