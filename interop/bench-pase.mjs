// Measures matter.js PASE handshakes per second on this machine: the
// matter.js controller opens a PASE session to HOST:PORT (normally the
// matter.js device.mjs in the same namespace) and closes it with
// CloseSession, N times in a row in one process (importing matter.js costs
// seconds, so never start a process per handshake). This is the matter.js
// side of the benchmark ratio in BENCHMARKS.md.
//
// SAFETY: run ONLY inside a network namespace the test or script created,
// with MATTER_PATH_ROOT set to a fresh directory. TestMatterJSPASERate
// (interop/bench_test.go) does all of that; the command is in
// BENCHMARKS.md.
//
// Env: HOST (::1), PORT (5540), PASSCODE (20202021), DISCRIMINATOR (3840),
// N (200 timed handshakes), WARMUP (5 untimed handshakes first).
// Prints one line: "INTEROP: bench handshakes=N seconds=S rate=R/s p50=Xms p90=Yms".
import { Environment } from "@matter/main";
import { CommissioningController } from "@project-chip/matter.js";

const host = process.env.HOST ?? "::1";
const port = Number(process.env.PORT ?? 5540);
const passcode = Number(process.env.PASSCODE ?? 20202021);
const discriminator = Number(process.env.DISCRIMINATOR ?? 3840);
const n = Number(process.env.N ?? 200);
const warmup = Number(process.env.WARMUP ?? 5);

const controller = new CommissioningController({
    environment: { environment: Environment.default, id: "interop-bench" },
    autoConnect: false,
    adminFabricLabel: "interop-bench",
});
await controller.start();

const options = {
    discovery: {
        knownAddress: { ip: host, port, type: "udp" },
        identifierData: { longDiscriminator: discriminator },
        discoveryCapabilities: { ble: false },
        timeout: 20_000, // milliseconds
    },
    passcode,
};

async function once() {
    const session = await controller.connectPaseChannel(options);
    await session.initiateClose(); // CloseSession: the device accepts the next PASE at once
}

let exitCode = 0;
try {
    for (let i = 0; i < warmup; i++) await once();
    const lat = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
        const s = performance.now();
        await once();
        lat.push(performance.now() - s);
    }
    const secs = (performance.now() - t0) / 1000;
    lat.sort((a, b) => a - b);
    const q = p => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(1);
    console.log(
        `INTEROP: bench handshakes=${n} seconds=${secs.toFixed(2)} rate=${(n / secs).toFixed(1)}/s p50=${q(0.5)}ms p90=${q(0.9)}ms`,
    );
} catch (e) {
    console.error("INTEROP: FAILED", e);
    exitCode = 1;
}
await controller.close();
process.exit(exitCode);
