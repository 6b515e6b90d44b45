// matter.js controller that reconnects to a node it commissioned before:
// the peer of TestInteropMatterJSReconnectsAfterDeviceRestart.
//
// SAFETY: run ONLY inside a network namespace the test created, with
// MATTER_PATH_ROOT set to the directory commission.mjs used (its fabric,
// the commissioned node and its CASE resumption record are there).
//
// No commissioning: it takes the one commissioned node from storage,
// finds it by operational mDNS (_matter._tcp; FullDiscovery ignores the
// stored address), opens CASE — resuming if both sides kept the record —
// and reads OnOff. Each step prints an "INTEROP:" line; any failure prints
// "INTEROP: FAILED ..." and exits 1.
import { Environment, EndpointNumber } from "@matter/main";
import { OnOff } from "@matter/main/clusters";
import { CommissioningController } from "@project-chip/matter.js";
import { NodeDiscoveryType } from "@project-chip/matter.js/cluster";

const controller = new CommissioningController({
    environment: { environment: Environment.default, id: "interop-commissioner" },
    autoConnect: false,
    adminFabricLabel: "interop",
});
await controller.start();

let exitCode = 0;
try {
    const nodes = controller.getCommissionedNodes();
    console.log(`INTEROP: commissioned nodes in storage = ${JSON.stringify(nodes.map(String))}`);
    if (nodes.length !== 1) throw new Error(`want 1 commissioned node, have ${nodes.length}`);
    const started = Date.now();
    const client = await controller.createInteractionClient(nodes[0], NodeDiscoveryType.FullDiscovery, {
        forcedConnection: true,
        discoveryTimeout: 30_000,
    });
    console.log(`INTEROP: reconnected over CASE in ${Date.now() - started} ms`);
    const onOff = await client.getAttribute({
        endpointId: EndpointNumber(1),
        clusterId: OnOff.Cluster.id,
        attribute: OnOff.Cluster.attributes.onOff,
        requestFromRemote: true,
    });
    console.log(`INTEROP: OnOff after restart = ${JSON.stringify(onOff)}`);
} catch (e) {
    console.error("INTEROP: FAILED", e);
    exitCode = 1;
}
await controller.close();
process.exit(exitCode);
