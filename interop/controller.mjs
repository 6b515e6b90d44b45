// matter.js controller used as the reference CONTROLLER in mattersim's
// interop tests (docs/interop.md §2).
//
// SAFETY: run ONLY inside a network namespace the test created, with
// MATTER_PATH_ROOT set to a fresh directory.
//
// MODE=pase (default): PASE with HOST:PORT (no mDNS needed), read
// VendorName over the PASE session, close the session. Prints
// "INTEROP: PASE established ...", "INTEROP: VendorName over PASE = ..."
// and "INTEROP: PASE session closed"; exit 0.
// MODE=commission: full commissioning (needs the two-namespace veth setup
// for the CASE reconnect), then VendorName over CASE and OnOff Toggle.
// Any failure prints "INTEROP: FAILED ..." and exits 1.
import { Environment, EndpointNumber } from "@matter/main";
import { BasicInformation, GeneralCommissioning, OnOff } from "@matter/main/clusters";
import { CommissioningController } from "@project-chip/matter.js";

const mode = process.env.MODE ?? "pase";
const host = process.env.HOST ?? "::1";
const port = Number(process.env.PORT ?? 5540);
const passcode = Number(process.env.PASSCODE ?? 20202021);
const discriminator = Number(process.env.DISCRIMINATOR ?? 3840);

const controller = new CommissioningController({
    environment: { environment: Environment.default, id: "interop-controller" },
    autoConnect: false,
    adminFabricLabel: "interop",
    listeningAddressIpv4: process.env.CTL_BIND4 || undefined,
    listeningAddressIpv6: process.env.CTL_BIND6 || undefined,
});
await controller.start();

const options = {
    commissioning: {
        regulatoryLocation: GeneralCommissioning.RegulatoryLocationType.IndoorOutdoor,
        regulatoryCountryCode: "XX",
    },
    discovery: {
        knownAddress: { ip: host, port, type: "udp" },
        identifierData: { longDiscriminator: discriminator },
        discoveryCapabilities: { ble: false },
        timeout: 20_000, // milliseconds! (matter.js Durations are ms; "20" means 20 ms)
    },
    passcode,
};

let exitCode = 0;
try {
    if (mode === "pase") {
        const session = await controller.connectPaseChannel(options);
        console.log(`INTEROP: PASE established session=${session.id} peerSession=${session.peerSessionId}`);
        const client = await controller.createInteractionClient(session);
        const vendorName = await client.getAttribute({
            endpointId: EndpointNumber(0),
            clusterId: BasicInformation.Cluster.id,
            attribute: BasicInformation.Cluster.attributes.vendorName,
            requestFromRemote: true,
        });
        console.log(`INTEROP: VendorName over PASE = ${JSON.stringify(vendorName)}`);
        await session.initiateClose(); // sends CloseSession so the device accepts the next PASE at once
        console.log("INTEROP: PASE session closed");
    } else {
        const nodeId = await controller.commissionNode(options, { connectNodeAfterCommissioning: false });
        console.log(`INTEROP: commissioned nodeId=${nodeId}`);
        const client = await controller.createInteractionClient(nodeId, undefined, { forcedConnection: true });
        const vendorName = await client.getAttribute({
            endpointId: EndpointNumber(0),
            clusterId: BasicInformation.Cluster.id,
            attribute: BasicInformation.Cluster.attributes.vendorName,
            requestFromRemote: true,
        });
        console.log(`INTEROP: VendorName over CASE = ${JSON.stringify(vendorName)}`);
        await client.invoke({
            endpointId: EndpointNumber(1),
            clusterId: OnOff.Cluster.id,
            command: OnOff.Cluster.commands.toggle,
            request: undefined,
        });
        console.log("INTEROP: toggle invoked");
    }
} catch (e) {
    console.error("INTEROP: FAILED", e);
    exitCode = 1;
}
await controller.close();
process.exit(exitCode);
