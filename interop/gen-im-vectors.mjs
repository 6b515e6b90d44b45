// Prints Interaction Model test vectors encoded by matter.js's own TLV
// schemas (@matter/types 0.17.9, packages/types/src/protocol/messages/*),
// for im/testdata/matterjs_vectors.txt. Opens no sockets, but like every
// matter.js script here it is run inside a throw-away namespace:
//
//	ip netns add mtr-gen && ip -n mtr-gen link set lo up
//	MATTER_PATH_ROOT=$(mktemp -d) ip netns exec mtr-gen node gen-im-vectors.mjs
//	ip netns del mtr-gen
import { Bytes } from "@matter/main";
import {
    TlvDataReport,
    TlvInvokeRequest,
    TlvInvokeResponse,
    TlvReadRequest,
    TlvNoArguments,
    TlvStatusResponse,
} from "@matter/main/types";

const v = (name, schema, value) => console.log(`${name} ${Bytes.toHex(schema.encode(value))}`);

v("read_request_vendor_name_matterjs", TlvReadRequest, {
    attributeRequests: [{ endpointId: 0, clusterId: 0x28, attributeId: 1 }],
    isFabricFiltered: true,
    interactionModelRevision: 12,
});
v("read_request_wildcard_endpoint", TlvReadRequest, {
    attributeRequests: [{ clusterId: 6, attributeId: 0 }],
    isFabricFiltered: false,
    dataVersionFilters: [{ path: { endpointId: 1, clusterId: 6 }, dataVersion: 7 }],
    interactionModelRevision: 12,
});
v("report_data_status_unsupported_endpoint", TlvDataReport, {
    attributeReports: [
        { attributeStatus: { path: { endpointId: 9, clusterId: 0x28, attributeId: 1 }, status: { status: 0x7f } } },
    ],
    suppressResponse: true,
    interactionModelRevision: 12,
});
v("invoke_request_toggle", TlvInvokeRequest, {
    suppressResponse: false,
    timedRequest: false,
    invokeRequests: [{ commandPath: { endpointId: 1, clusterId: 6, commandId: 2 }, commandFields: TlvNoArguments.encodeTlv(undefined) }],
    interactionModelRevision: 12,
});
v("invoke_response_success", TlvInvokeResponse, {
    suppressResponse: false,
    invokeResponses: [{ status: { commandPath: { endpointId: 1, clusterId: 6, commandId: 2 }, status: { status: 0 } } }],
    interactionModelRevision: 12,
});
v("status_response_invalid_action", TlvStatusResponse, { status: 0x80, interactionModelRevision: 12 });
