// matter.js on/off light used as the reference DEVICE in mattersim's interop
// tests (docs/interop.md §2). Passcode 20202021,
// discriminator 3840, UDP 5540, binding only ::1 and 127.0.0.1 by default.
//
// SAFETY: matter.js sends mDNS on every non-loopback interface. Run this
// ONLY inside a network namespace the test created (ip netns exec ...).
// Always set MATTER_PATH_ROOT to a fresh directory (deleting it is the
// factory reset; the default would be ~/.matter).
//
// Settings (env): PORT, PASSCODE, DISCRIMINATOR, BIND4, BIND6 (empty = all
// addresses). Prints "INTEROP: online port=... manual=... qr=..." when
// ready, "INTEROP: commissioned" and "INTEROP: light is now ON|OFF".
import { DeviceTypeId, Endpoint, ServerNode, VendorId } from "@matter/main";
import { OnOffLightDevice } from "@matter/main/devices/on-off-light";

const port = Number(process.env.PORT ?? 5540);
const passcode = Number(process.env.PASSCODE ?? 20202021);
const discriminator = Number(process.env.DISCRIMINATOR ?? 3840);
const bind4 = process.env.BIND4 ?? "127.0.0.1";
const bind6 = process.env.BIND6 ?? "::1";

const node = await ServerNode.create({
    id: "interop-light",
    network: {
        port,
        listeningAddressIpv4: bind4 || undefined,
        listeningAddressIpv6: bind6 || undefined,
        ble: false,
        discoveryCapabilities: { onIpNetwork: true, ble: false },
    },
    commissioning: { passcode, discriminator },
    productDescription: {
        name: "Interop Light",
        deviceType: DeviceTypeId(OnOffLightDevice.deviceType),
    },
    basicInformation: {
        vendorName: "InteropVendor",
        vendorId: VendorId(0xfff1),
        productName: "InteropLight",
        productLabel: "InteropLight",
        nodeLabel: "InteropLight",
        productId: 0x8000,
        serialNumber: "interop-0001",
        uniqueId: "interop-0001",
    },
});

const light = new Endpoint(OnOffLightDevice, { id: "light" });
await node.add(light);
light.events.onOff.onOff$Changed.on(v => console.log(`INTEROP: light is now ${v ? "ON" : "OFF"}`));

node.lifecycle.online.on(() => {
    const { qrPairingCode, manualPairingCode } = node.state.commissioning.pairingCodes;
    console.log(`INTEROP: online port=${port} manual=${manualPairingCode} qr=${qrPairingCode}`);
});
node.lifecycle.commissioned.on(() => console.log("INTEROP: commissioned"));

await node.run();
