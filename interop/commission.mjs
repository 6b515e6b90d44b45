// matter.js controller that commissions a device and then uses it over
// CASE: the peer of TestInteropMatterJSCommissionsGoDevice.
//
// SAFETY: run ONLY inside a network namespace the test created, with
// MATTER_PATH_ROOT set to a fresh directory (the CASE step needs
// operational mDNS: two namespaces joined by a veth pair).
//
// Steps, each printing an "INTEROP:" line: commissionNode with the
// device's address HOST:PORT (no commissionable discovery) — or, with
// PAIRING_CODE set (an 11-digit manual code) or HOST empty, by
// commissionable discovery alone (_matterc._udp by the code's short
// discriminator, or by DISCRIMINATOR; passcode from the code) — read
// BasicInformation VendorName and OnOff, subscribe to OnOff (floor 0 s,
// ceiling 10 s; matter.js asks for a little more), invoke Toggle, wait for the subscription to report the
// new value, read OnOff again, then read the ACL and write it with one more
// (Operate) entry and read it back. Any failure prints "INTEROP: FAILED ..."
// and exits 1.
import { Environment, EndpointNumber } from "@matter/main";
import { AccessControl, BasicInformation, GeneralCommissioning, OnOff } from "@matter/main/clusters";
import { ManualPairingCodeCodec } from "@matter/main/types";
import { CommissioningController } from "@project-chip/matter.js";

const host = process.env.HOST ?? "::1";
const port = Number(process.env.PORT ?? 5540);
const pairingCode = process.env.PAIRING_CODE ?? "";
let passcode = Number(process.env.PASSCODE ?? 20202021);
let identifierData = { longDiscriminator: Number(process.env.DISCRIMINATOR ?? 3840) };
if (pairingCode !== "") {
    const code = ManualPairingCodeCodec.decode(pairingCode);
    passcode = code.passcode;
    identifierData = { shortDiscriminator: code.shortDiscriminator };
}
const byDiscovery = pairingCode !== "" || host === "";
console.log(`INTEROP: commissioning ${byDiscovery ? "by discovery " + JSON.stringify(identifierData) : "at " + host + ":" + port}`);

const controller = new CommissioningController({
    environment: { environment: Environment.default, id: "interop-commissioner" },
    autoConnect: false,
    adminFabricLabel: "interop",
});
await controller.start();

const withTimeout = (p, ms, what) =>
    Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms))]);

let exitCode = 0;
try {
    const started = Date.now();
    const nodeId = await controller.commissionNode(
        {
            commissioning: {
                regulatoryLocation: GeneralCommissioning.RegulatoryLocationType.IndoorOutdoor,
                regulatoryCountryCode: "XX",
            },
            discovery: {
                ...(byDiscovery ? {} : { knownAddress: { ip: host, port, type: "udp" } }),
                identifierData,
                discoveryCapabilities: { ble: false },
                timeout: 20_000, // milliseconds
            },
            passcode,
        },
        { connectNodeAfterCommissioning: false },
    );
    console.log(`INTEROP: commissioned nodeId=${nodeId} in ${Date.now() - started} ms (${byDiscovery ? "by discovery" : "by address"})`);
    const client = await controller.createInteractionClient(nodeId, undefined, { forcedConnection: true });
    const get = (endpointId, clusterId, attribute) =>
        client.getAttribute({ endpointId: EndpointNumber(endpointId), clusterId, attribute, requestFromRemote: true });
    const vendorName = await get(0, BasicInformation.Cluster.id, BasicInformation.Cluster.attributes.vendorName);
    console.log(`INTEROP: VendorName over CASE = ${JSON.stringify(vendorName)}`);
    const before = await get(1, OnOff.Cluster.id, OnOff.Cluster.attributes.onOff);
    console.log(`INTEROP: OnOff over CASE = ${JSON.stringify(before)}`);

    let reported;
    const changed = new Promise(resolve => {
        reported = resolve;
    });
    const { maxInterval } = await client.subscribeAttribute({
        endpointId: EndpointNumber(1),
        clusterId: OnOff.Cluster.id,
        attribute: OnOff.Cluster.attributes.onOff,
        minIntervalFloorSeconds: 0,
        maxIntervalCeilingSeconds: 10,
        listener: value => {
            console.log(`INTEROP: OnOff report = ${JSON.stringify(value)}`);
            if (value !== before) reported(value);
        },
    });
    console.log(`INTEROP: subscribed maxInterval=${maxInterval}`);
    await client.invoke({
        endpointId: EndpointNumber(1),
        clusterId: OnOff.Cluster.id,
        command: OnOff.Cluster.commands.toggle,
        request: undefined,
    });
    console.log("INTEROP: toggle invoked");
    const now = await withTimeout(changed, 15_000, "OnOff report after Toggle");
    console.log(`INTEROP: subscription reported OnOff = ${JSON.stringify(now)}`);
    const after = await get(1, OnOff.Cluster.id, OnOff.Cluster.attributes.onOff);
    console.log(`INTEROP: OnOff after toggle = ${JSON.stringify(after)}`);

    const aclAttr = AccessControl.Cluster.attributes.acl;
    const acl = await get(0, AccessControl.Cluster.id, aclAttr);
    console.log(`INTEROP: ACL entries = ${acl.length}`);
    const operate = { ...acl[0], privilege: AccessControl.AccessControlEntryPrivilege.Operate, subjects: [0x99n] };
    // chunkLists false: one AttributeDataIB with the whole list (our device
    // does not take list-item writes).
    await client.setAttribute({
        attributeData: { endpointId: EndpointNumber(0), clusterId: AccessControl.Cluster.id, attribute: aclAttr,
                         value: [acl[0], operate] },
        chunkLists: false,
    });
    const acl2 = await get(0, AccessControl.Cluster.id, aclAttr);
    console.log(`INTEROP: ACL entries after write = ${acl2.length}`);
} catch (e) {
    console.error("INTEROP: FAILED", e);
    exitCode = 1;
}
await controller.close();
process.exit(exitCode);
