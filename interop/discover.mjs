// matter.js controller for mattersim's bridge test (TestBridgeMatterJSDiscovery):
// finds a commissionable device by its long discriminator over mDNS (no
// known address), opens PASE with it, reads VendorName over the PASE
// session and closes the session. Prints "INTEROP: discovered ...",
// "INTEROP: PASE established ...", "INTEROP: VendorName over PASE = ..." and
// "INTEROP: PASE session closed"; exit 0. Any failure prints
// "INTEROP: FAILED ..." and exits 1.
//
// SAFETY: run ONLY inside a network namespace the test created, with
// MATTER_PATH_ROOT set to a fresh directory.
import { Environment, EndpointNumber } from "@matter/main";
import { BasicInformation, GeneralCommissioning } from "@matter/main/clusters";
import { CommissioningController } from "@project-chip/matter.js";

const passcode = Number(process.env.PASSCODE ?? 20202021);
const discriminator = Number(process.env.DISCRIMINATOR ?? 3840);

const controller = new CommissioningController({
    environment: { environment: Environment.default, id: "interop-discover" },
    autoConnect: false,
    adminFabricLabel: "interop",
});
await controller.start();

let exitCode = 0;
try {
    const identifier = { longDiscriminator: discriminator };
    const found = await controller.discoverCommissionableDevices(
        identifier,
        { ble: false },
        () => controller.cancelCommissionableDeviceDiscovery(identifier, { ble: false }),
        20_000, // milliseconds
    );
    if (found.length === 0) throw new Error(`no device with discriminator ${discriminator} found by mDNS`);
    const dev = found[0];
    console.log(`INTEROP: discovered ${dev.deviceIdentifier} D=${dev.D} CM=${dev.CM} VP=${dev.VP} SII=${dev.SII} SAI=${dev.SAI} addresses=${JSON.stringify(dev.addresses)}`);
    const session = await controller.connectPaseChannel({
        commissioning: {
            regulatoryLocation: GeneralCommissioning.RegulatoryLocationType.IndoorOutdoor,
            regulatoryCountryCode: "XX",
        },
        discovery: {
            identifierData: { longDiscriminator: discriminator },
            discoveryCapabilities: { ble: false },
            timeout: 20_000,
        },
        passcode,
    });
    console.log(`INTEROP: PASE established session=${session.id} peerSession=${session.peerSessionId}`);
    const client = await controller.createInteractionClient(session);
    const vendorName = await client.getAttribute({
        endpointId: EndpointNumber(0),
        clusterId: BasicInformation.Cluster.id,
        attribute: BasicInformation.Cluster.attributes.vendorName,
        requestFromRemote: true,
    });
    console.log(`INTEROP: VendorName over PASE = ${JSON.stringify(vendorName)}`);
    await session.initiateClose();
    console.log("INTEROP: PASE session closed");
} catch (e) {
    console.error("INTEROP: FAILED", e);
    exitCode = 1;
}
await controller.close();
process.exit(exitCode);
