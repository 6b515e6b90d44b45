// Prints Interaction Model test vectors for Subscribe, Write and Timed,
// encoded by matter.js's own TLV schemas (@matter/types 0.17.9,
// packages/types/src/protocol/messages/Tlv{SubscribeRequest,
// SubscribeResponse,DataReport,WriteRequest,WriteResponse,TimedRequest,
// StatusResponse}.ts), for im/testdata/subscribe_vectors.txt. Opens no
// sockets, but like every matter.js script here it is run inside a
// throw-away namespace:
//
//	ip netns add mtr-gen && ip -n mtr-gen link set lo up
//	MATTER_PATH_ROOT=$(mktemp -d) ip netns exec mtr-gen node gen-im-sub-vectors.mjs
//	ip netns del mtr-gen
import { Bytes } from "@matter/main";
import {
    TlvBoolean,
    TlvDataReport,
    TlvString,
    TlvSubscribeRequest,
    TlvSubscribeResponse,
    TlvTimedRequest,
    TlvWriteRequest,
    TlvWriteResponse,
} from "@matter/main/types";

const v = (name, op, schema, value) => console.log(`${name} ${op} ${Bytes.toHex(schema.encode(value))}`);

v("subscribe_request_onoff", "03", TlvSubscribeRequest, {
    keepSubscriptions: false,
    minIntervalFloorSeconds: 1,
    maxIntervalCeilingSeconds: 60,
    attributeRequests: [{ endpointId: 1, clusterId: 6, attributeId: 0 }],
    isFabricFiltered: true,
    interactionModelRevision: 12,
});
v("subscribe_request_wildcard_filters", "03", TlvSubscribeRequest, {
    keepSubscriptions: true,
    minIntervalFloorSeconds: 0,
    maxIntervalCeilingSeconds: 3600,
    attributeRequests: [{ endpointId: 1 }, { clusterId: 0x28, attributeId: 5 }],
    isFabricFiltered: false,
    dataVersionFilters: [{ path: { endpointId: 1, clusterId: 6 }, dataVersion: 0x12345678 }],
    interactionModelRevision: 12,
});
v("subscribe_response", "04", TlvSubscribeResponse, {
    subscriptionId: 0xa1b2c3d4,
    maxInterval: 60,
    interactionModelRevision: 12,
});
v("report_data_priming_chunk", "05", TlvDataReport, {
    subscriptionId: 7,
    attributeReports: [
        { attributeData: { dataVersion: 3, path: { endpointId: 1, clusterId: 6, attributeId: 0 }, data: TlvBoolean.encodeTlv(true) } },
    ],
    moreChunkedMessages: true,
    interactionModelRevision: 12,
});
v("report_data_keepalive", "05", TlvDataReport, {
    subscriptionId: 7,
    suppressResponse: true,
    interactionModelRevision: 12,
});
v("timed_request_500ms", "0a", TlvTimedRequest, { timeout: 500, interactionModelRevision: 12 });
v("write_request_node_label_timed", "06", TlvWriteRequest, {
    timedRequest: true,
    writeRequests: [{ path: { endpointId: 0, clusterId: 0x28, attributeId: 5 }, data: TlvString.encodeTlv("kitchen") }],
    interactionModelRevision: 12,
});
v("write_request_versioned", "06", TlvWriteRequest, {
    suppressResponse: false,
    timedRequest: false,
    writeRequests: [
        { dataVersion: 9, path: { endpointId: 0, clusterId: 0x28, attributeId: 6 }, data: TlvString.encodeTlv("XX") },
    ],
    moreChunkedMessages: false,
    interactionModelRevision: 12,
});
v("write_response_mixed", "07", TlvWriteResponse, {
    writeResponses: [
        { path: { endpointId: 0, clusterId: 0x28, attributeId: 5 }, status: { status: 0 } },
        { path: { endpointId: 0, clusterId: 0x28, attributeId: 1 }, status: { status: 0x88 } },
    ],
    interactionModelRevision: 12,
});
