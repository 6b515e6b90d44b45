-- matter.lua: a Wireshark/tshark dissector for Matter messages over UDP,
-- written for mattersim captures (and usable on any Matter capture).
--
--   tshark -X lua_script:tools/wireshark/matter.lua -r capture.pcap
--   wireshark -X lua_script:tools/wireshark/matter.lua capture.pcap
--
-- It decodes (Matter Core Specification 1.3):
--   * the message header (4.4.1): message flags, session id, security
--     flags, counter, source and destination node ids, group id, the
--     message extensions block;
--   * the protocol header (4.4.3) of unsecured messages, and of secure
--     ones in a mattersim plaintext capture: exchange flags, opcode,
--     exchange id, protocol and vendor ids, ack counter, secured
--     extensions;
--   * Secure Channel (4.11) and Interaction Model (8.2) opcode names, the
--     StatusReport layout (4.10.1), and Matter TLV payloads (appendix A):
--     tags, types, values and nested containers, with field names for the
--     PASE messages and the common IM messages.
--
-- It registers on udp.port 5540 and on udp.port 15540, the port of
-- mattersim plaintext captures. UDP tries its port table before its
-- heuristic dissectors, so these frames are no longer taken by
-- WireGuard's heuristic (Wireshark 4.0 shows port 5540 as WireGuard),
-- unless the preference udp.try_heuristic_first is set: then also pass
-- --disable-heuristic wg. In Wireshark 4.2 and later the entry replaces
-- the built-in Matter dissector's on port 5540.
--
-- Plaintext captures (mattersim run --pcap-plaintext FILE): every Matter
-- frame's port 5540 reads 15540, and a secure message that mattersim
-- decrypted has bit 0x10 of its security flags set (reserved by 4.4.1.3)
-- and carries its plaintext protocol header and payload where the
-- ciphertext and the MIC were. Such frames show "PLAINTEXT (decrypted by
-- mattersim, not wire bytes)". Nothing else decrypts: encrypted payloads
-- are shown as such (mattersim decode pcap --keylog decrypts them).
--
-- The protocol is named "mattersim" (filter prefix mattersim.), so that it
-- can be loaded next to Wireshark's own "matter" dissector.
--
-- Malformed or truncated frames never raise a Lua error: the dissector
-- stops at the first field that does not fit and adds a "Malformed"
-- expert item.

local proto = Proto("mattersim", "Matter (mattersim dissector)")

local PLAIN_PORT = 15540
local MATTER_PORT = 5540
local PLAIN_FLAG = 0x10
local MIC_LEN = 16
local MAX_DEPTH = 32

-- Bit test without a bit library (Lua 5.2 and 5.4 alike): is the bit of
-- value mask (a power of two) set in v?
local function has(v, mask)
    return math.floor(v / mask) % 2 == 1
end

local session_types = { [0] = "unicast", [1] = "group", [2] = "reserved", [3] = "reserved" }
local dsiz_names = { [0] = "none", [1] = "node id", [2] = "group id", [3] = "reserved" }

local protocol_names = {
    [0x0000] = "Secure Channel",
    [0x0001] = "Interaction Model",
    [0x0002] = "BDX",
    [0x0003] = "User Directed Commissioning",
    [0x0004] = "Echo",
}

local secure_channel_ops = {
    [0x00] = "MsgCounterSyncReq", [0x01] = "MsgCounterSyncRsp",
    [0x10] = "StandaloneAck",
    [0x20] = "PBKDFParamRequest", [0x21] = "PBKDFParamResponse",
    [0x22] = "PASE_Pake1", [0x23] = "PASE_Pake2", [0x24] = "PASE_Pake3",
    [0x30] = "CASE_Sigma1", [0x31] = "CASE_Sigma2", [0x32] = "CASE_Sigma3",
    [0x33] = "CASE_Sigma2_Resume",
    [0x40] = "StatusReport",
    [0x50] = "ICD_CheckIn",
}

local im_ops = {
    [0x01] = "StatusResponse", [0x02] = "ReadRequest", [0x03] = "SubscribeRequest",
    [0x04] = "SubscribeResponse", [0x05] = "ReportData", [0x06] = "WriteRequest",
    [0x07] = "WriteResponse", [0x08] = "InvokeRequest", [0x09] = "InvokeResponse",
    [0x0a] = "TimedRequest",
}

local f = proto.fields
-- Message header (4.4.1)
f.msg_flags = ProtoField.uint8("mattersim.msg_flags", "Message flags", base.HEX)
f.version = ProtoField.uint8("mattersim.version", "Version", base.DEC, nil, 0xF0)
f.s_flag = ProtoField.bool("mattersim.msg_flags.s", "Source node id present (S)", 8, nil, 0x04)
f.dsiz = ProtoField.uint8("mattersim.msg_flags.dsiz", "Destination (DSIZ)", base.DEC, dsiz_names, 0x03)
f.session_id = ProtoField.uint16("mattersim.session_id", "Session id", base.HEX)
f.sec_flags = ProtoField.uint8("mattersim.sec_flags", "Security flags", base.HEX)
f.p_flag = ProtoField.bool("mattersim.sec_flags.p", "Privacy (P)", 8, nil, 0x80)
f.c_flag = ProtoField.bool("mattersim.sec_flags.c", "Control message (C)", 8, nil, 0x40)
f.mx_flag = ProtoField.bool("mattersim.sec_flags.mx", "Message extensions (MX)", 8, nil, 0x20)
f.plain_flag = ProtoField.bool("mattersim.sec_flags.plaintext", "mattersim plaintext (reserved bit)", 8, nil, 0x10)
f.session_type = ProtoField.uint8("mattersim.sec_flags.session_type", "Session type", base.DEC, session_types, 0x03)
f.counter = ProtoField.uint32("mattersim.counter", "Message counter", base.DEC)
f.src_node = ProtoField.uint64("mattersim.src_node", "Source node id", base.HEX)
f.dst_node = ProtoField.uint64("mattersim.dst_node", "Destination node id", base.HEX)
f.dst_group = ProtoField.uint16("mattersim.dst_group", "Destination group id", base.HEX)
f.mx_len = ProtoField.uint16("mattersim.mx_len", "Message extensions length", base.DEC)
f.mx = ProtoField.bytes("mattersim.mx", "Message extensions")
f.secure = ProtoField.bool("mattersim.secure", "Secure (encrypted on the wire)")
f.plaintext = ProtoField.string("mattersim.plaintext", "Plaintext")
f.encrypted = ProtoField.bytes("mattersim.encrypted", "Encrypted payload")
f.mic = ProtoField.bytes("mattersim.mic", "MIC")
-- Protocol header (4.4.3)
f.exch_flags = ProtoField.uint8("mattersim.exch_flags", "Exchange flags", base.HEX)
f.i_flag = ProtoField.bool("mattersim.exch_flags.i", "Initiator (I)", 8, nil, 0x01)
f.a_flag = ProtoField.bool("mattersim.exch_flags.a", "Acknowledgement (A)", 8, nil, 0x02)
f.r_flag = ProtoField.bool("mattersim.exch_flags.r", "Reliability (R)", 8, nil, 0x04)
f.sx_flag = ProtoField.bool("mattersim.exch_flags.sx", "Secured extensions (SX)", 8, nil, 0x08)
f.v_flag = ProtoField.bool("mattersim.exch_flags.v", "Vendor (V)", 8, nil, 0x10)
f.opcode = ProtoField.uint8("mattersim.opcode", "Opcode", base.HEX)
f.opcode_name = ProtoField.string("mattersim.opcode_name", "Message")
f.exchange_id = ProtoField.uint16("mattersim.exchange_id", "Exchange id", base.DEC)
f.vendor_id = ProtoField.uint16("mattersim.vendor_id", "Protocol vendor id", base.HEX)
f.protocol_id = ProtoField.uint16("mattersim.protocol_id", "Protocol id", base.HEX, protocol_names)
f.ack_counter = ProtoField.uint32("mattersim.ack_counter", "Acknowledged counter", base.DEC)
f.sx_len = ProtoField.uint16("mattersim.sx_len", "Secured extensions length", base.DEC)
f.sx = ProtoField.bytes("mattersim.sx", "Secured extensions")
-- StatusReport (4.10.1)
f.sr_general = ProtoField.uint16("mattersim.status.general", "General code", base.DEC)
f.sr_protocol = ProtoField.uint32("mattersim.status.protocol_id", "Protocol id", base.HEX)
f.sr_code = ProtoField.uint16("mattersim.status.protocol_code", "Protocol code", base.DEC)
f.sr_data = ProtoField.bytes("mattersim.status.data", "Protocol data")
-- TLV (appendix A)
f.tlv = ProtoField.none("mattersim.tlv", "TLV element")
f.tlv_tag = ProtoField.string("mattersim.tlv.tag", "Tag")
f.tlv_name = ProtoField.string("mattersim.tlv.name", "Name")
f.tlv_type = ProtoField.string("mattersim.tlv.type", "Type")
f.tlv_value = ProtoField.string("mattersim.tlv.value", "Value")
f.payload = ProtoField.bytes("mattersim.payload", "Payload")
-- MsgCounterSyncReq / MsgCounterSyncRsp (4.18.4)
f.mcsp_challenge = ProtoField.bytes("mattersim.mcsp.challenge", "Challenge")
f.mcsp_counter = ProtoField.uint32("mattersim.mcsp.counter", "Synchronized counter", base.DEC)
f.mcsp_response = ProtoField.bytes("mattersim.mcsp.response", "Response")
-- Named values picked out of TLV payloads
f.passcode_id = ProtoField.uint16("mattersim.pase.passcode_id", "Passcode id", base.DEC)
f.init_sid = ProtoField.uint16("mattersim.pase.initiator_session_id", "Initiator session id", base.DEC)
f.resp_sid = ProtoField.uint16("mattersim.pase.responder_session_id", "Responder session id", base.DEC)
f.endpoint = ProtoField.uint16("mattersim.im.endpoint", "Endpoint", base.DEC)
f.cluster = ProtoField.uint32("mattersim.im.cluster", "Cluster", base.HEX)
f.attribute = ProtoField.uint32("mattersim.im.attribute", "Attribute", base.HEX)
f.command = ProtoField.uint32("mattersim.im.command", "Command", base.HEX)

local ef_malformed = ProtoExpert.new("mattersim.malformed", "Malformed Matter message",
    expert.group.MALFORMED, expert.severity.ERROR)
local ef_plaintext = ProtoExpert.new("mattersim.plaintext.expert",
    "PLAINTEXT (decrypted by mattersim, not wire bytes)", expert.group.PROTOCOL, expert.severity.NOTE)
local ef_encrypted = ProtoExpert.new("mattersim.encrypted.expert",
    "Encrypted: mattersim decode pcap --keylog FILE decrypts it", expert.group.UNDECODED, expert.severity.NOTE)
local ef_reserved = ProtoExpert.new("mattersim.reserved", "Reserved bits set",
    expert.group.PROTOCOL, expert.severity.WARN)
proto.experts = { ef_malformed, ef_plaintext, ef_encrypted, ef_reserved }

---------------------------------------------------------------------------
-- TLV schemas: context tag names per message, so that a ReadRequest shows
-- AttributeRequests / AttributePathIB / Cluster rather than bare numbers
-- (spec 8.9 and 10.6 for IM, 4.11.3 for PASE).
---------------------------------------------------------------------------

local session_params = { name = "SessionParameters", tags = {
    [1] = { name = "SessionIdleInterval" }, [2] = { name = "SessionActiveInterval" },
    [3] = { name = "SessionActiveThreshold" }, [4] = { name = "DataModelRevision" },
    [5] = { name = "InteractionModelRevision" }, [6] = { name = "SpecificationVersion" },
    [7] = { name = "MaxPathsPerInvoke" } } }

local attribute_path = { name = "AttributePathIB", tags = {
    [0] = { name = "EnableTagCompression" }, [1] = { name = "Node" },
    [2] = { name = "Endpoint", field = f.endpoint }, [3] = { name = "Cluster", field = f.cluster },
    [4] = { name = "Attribute", field = f.attribute }, [5] = { name = "ListIndex" },
    [6] = { name = "WildcardPathFlags" } } }
local event_path = { name = "EventPathIB", tags = {
    [0] = { name = "Node" }, [1] = { name = "Endpoint", field = f.endpoint },
    [2] = { name = "Cluster", field = f.cluster }, [3] = { name = "Event" }, [4] = { name = "IsUrgent" } } }
local command_path = { name = "CommandPathIB", tags = {
    [0] = { name = "Endpoint", field = f.endpoint }, [1] = { name = "Cluster", field = f.cluster },
    [2] = { name = "Command", field = f.command } } }
local status_ib = { name = "StatusIB", tags = { [0] = { name = "Status" }, [1] = { name = "ClusterStatus" } } }
local attribute_data = { name = "AttributeDataIB", tags = {
    [0] = { name = "DataVersion" }, [1] = attribute_path, [2] = { name = "Data" } } }
local attribute_status = { name = "AttributeStatusIB", tags = { [0] = attribute_path, [1] = status_ib } }
local attribute_report = { name = "AttributeReportIB", tags = { [0] = attribute_status, [1] = attribute_data } }
local command_data = { name = "CommandDataIB", tags = {
    [0] = command_path, [1] = { name = "CommandFields" }, [2] = { name = "CommandRef" } } }
local command_status = { name = "CommandStatusIB", tags = {
    [0] = command_path, [1] = status_ib, [2] = { name = "CommandRef" } } }
local invoke_response_ib = { name = "InvokeResponseIB", tags = { [0] = command_data, [1] = command_status } }
local imrev = { name = "InteractionModelRevision" }

local function list_of(name, elem) return { name = name, elem = elem } end
local function message(name, tags) tags[0xFF] = tags[0xFF] or imrev; return { name = name, tags = tags } end

local schemas = {
    [0x0000] = { -- Secure Channel
        [0x20] = { name = "PBKDFParamRequest", tags = {
            [1] = { name = "initiatorRandom" }, [2] = { name = "initiatorSessionId", field = f.init_sid },
            [3] = { name = "passcodeId", field = f.passcode_id }, [4] = { name = "hasPBKDFParameters" },
            [5] = session_params } },
        [0x21] = { name = "PBKDFParamResponse", tags = {
            [1] = { name = "initiatorRandom" }, [2] = { name = "responderRandom" },
            [3] = { name = "responderSessionId", field = f.resp_sid },
            [4] = { name = "pbkdf_parameters", tags = { [1] = { name = "iterations" }, [2] = { name = "salt" } } },
            [5] = session_params } },
        [0x22] = { name = "PASE_Pake1", tags = { [1] = { name = "pA" } } },
        [0x23] = { name = "PASE_Pake2", tags = { [1] = { name = "pB" }, [2] = { name = "cB" } } },
        [0x24] = { name = "PASE_Pake3", tags = { [1] = { name = "cA" } } },
    },
    [0x0001] = { -- Interaction Model
        [0x01] = message("StatusResponseMessage", { [0] = { name = "Status" } }),
        [0x02] = message("ReadRequestMessage", {
            [0] = list_of("AttributeRequests", attribute_path), [1] = list_of("EventRequests", event_path),
            [2] = { name = "EventFilters" }, [3] = { name = "FabricFiltered" },
            [4] = { name = "DataVersionFilters" } }),
        [0x03] = message("SubscribeRequestMessage", {
            [0] = { name = "KeepSubscriptions" }, [1] = { name = "MinIntervalFloor" },
            [2] = { name = "MaxIntervalCeiling" }, [3] = list_of("AttributeRequests", attribute_path),
            [4] = list_of("EventRequests", event_path), [5] = { name = "EventFilters" },
            [7] = { name = "FabricFiltered" }, [8] = { name = "DataVersionFilters" } }),
        [0x04] = message("SubscribeResponseMessage", {
            [0] = { name = "SubscriptionId" }, [2] = { name = "MaxInterval" } }),
        [0x05] = message("ReportDataMessage", {
            [0] = { name = "SubscriptionId" }, [1] = list_of("AttributeReports", attribute_report),
            [2] = { name = "EventReports" }, [3] = { name = "MoreChunkedMessages" },
            [4] = { name = "SuppressResponse" } }),
        [0x06] = message("WriteRequestMessage", {
            [0] = { name = "SuppressResponse" }, [1] = { name = "TimedRequest" },
            [2] = list_of("WriteRequests", attribute_data), [3] = { name = "MoreChunkedMessages" } }),
        [0x07] = message("WriteResponseMessage", { [0] = list_of("WriteResponses", attribute_status) }),
        [0x08] = message("InvokeRequestMessage", {
            [0] = { name = "SuppressResponse" }, [1] = { name = "TimedRequest" },
            [2] = list_of("InvokeRequests", command_data) }),
        [0x09] = message("InvokeResponseMessage", {
            [0] = { name = "SuppressResponse" }, [1] = list_of("InvokeResponses", invoke_response_ib),
            [2] = { name = "MoreChunkedMessages" } }),
        [0x0a] = message("TimedRequestMessage", { [0] = { name = "Timeout" } }),
    },
}

---------------------------------------------------------------------------
-- Bounded reads: every read goes through need(), which raises a private
-- error value that dissect() catches and turns into an expert item.
---------------------------------------------------------------------------

local Short = {}

local function need(tvb, off, n, what)
    if n < 0 or off + n > tvb:len() then
        error({ short = Short, what = what, off = off }, 0)
    end
end

---------------------------------------------------------------------------
-- TLV (appendix A)
---------------------------------------------------------------------------

local tlv_types = {
    [0x00] = "int8", [0x01] = "int16", [0x02] = "int32", [0x03] = "int64",
    [0x04] = "uint8", [0x05] = "uint16", [0x06] = "uint32", [0x07] = "uint64",
    [0x08] = "bool", [0x09] = "bool", [0x0A] = "float", [0x0B] = "double",
    [0x0C] = "utf8", [0x0D] = "utf8", [0x0E] = "utf8", [0x0F] = "utf8",
    [0x10] = "bytes", [0x11] = "bytes", [0x12] = "bytes", [0x13] = "bytes",
    [0x14] = "null", [0x15] = "structure", [0x16] = "array", [0x17] = "list",
    [0x18] = "end-of-container",
}
local tag_lens = { [0] = 0, 1, 2, 4, 2, 4, 6, 8 }

-- read_uint reads an n-byte little-endian unsigned integer as a Lua number
-- (n <= 4) or a UInt64 (n == 8).
local function read_uint(tvb, off, n)
    if n == 8 then return tvb(off, 8):le_uint64() end
    return tvb(off, n):le_uint()
end

local function read_int(tvb, off, n)
    if n == 8 then return tvb(off, 8):le_int64() end
    return tvb(off, n):le_int()
end

local function tag_text(tvb, off, form)
    if form == 0 then return "anonymous", nil end
    if form == 1 then
        local t = tvb(off, 1):uint()
        return string.format("%d", t), t
    end
    if form == 2 or form == 3 then
        return string.format("common %d", tvb(off, tag_lens[form]):le_uint()), nil
    end
    if form == 4 or form == 5 then
        return string.format("implicit %d", tvb(off, tag_lens[form]):le_uint()), nil
    end
    local vendor, profile = tvb(off, 2):le_uint(), tvb(off + 2, 2):le_uint()
    local tag = tvb(off + 4, form == 6 and 2 or 4):le_uint()
    return string.format("0x%04X:0x%04X:%d", vendor, profile, tag), nil
end

-- dissect_tlv decodes elements from off until end_off, or until the
-- end-of-container that closes the current container (inside = true).
-- schema gives the names of context tags; it returns the offset after the
-- last element read (after the end-of-container when inside).
local dissect_tlv

local function element_schema(schema, ctx_tag, anonymous)
    if schema == nil then return nil end
    if anonymous and schema.elem then return schema.elem end
    if ctx_tag ~= nil and schema.tags then return schema.tags[ctx_tag] end
    return nil
end

dissect_tlv = function(tvb, tree, off, end_off, schema, inside, depth)
    while off < end_off do
        need(tvb, off, 1, "TLV control byte")
        local start = off
        local control = tvb(off, 1):uint()
        local form = math.floor(control / 32)
        local etype = control % 32
        local tname = tlv_types[etype]
        if tname == nil then
            error({ short = Short, what = string.format("TLV element type 0x%02X (reserved)", etype), off = off }, 0)
        end
        off = off + 1
        if etype == 0x18 then
            if not inside then
                error({ short = Short, what = "end-of-container outside a container", off = start }, 0)
            end
            if form ~= 0 then
                error({ short = Short, what = "tagged end-of-container", off = start }, 0)
            end
            return off
        end
        need(tvb, off, tag_lens[form], "TLV tag")
        local ttext, ctx = tag_text(tvb, off, form)
        off = off + tag_lens[form]
        local sub = element_schema(schema, ctx, form == 0)
        local name = sub and sub.name or nil
        local value, item
        if etype <= 0x07 then
            local n = ({ [0] = 1, 2, 4, 8 })[etype % 4]
            need(tvb, off, n, "TLV integer")
            local v = etype <= 0x03 and read_int(tvb, off, n) or read_uint(tvb, off, n)
            value = tostring(v)
            if sub and sub.field and etype >= 0x04 then
                local num = v
                if n == 8 then num = v:tonumber() end
                item = { field = sub.field, range = tvb(off, n), value = num }
            end
            off = off + n
        elseif etype == 0x08 then
            value = "false"
        elseif etype == 0x09 then
            value = "true"
        elseif etype == 0x14 then
            value = "null"
        elseif etype == 0x0A then
            need(tvb, off, 4, "TLV float")
            value = tostring(tvb(off, 4):le_float())
            off = off + 4
        elseif etype == 0x0B then
            need(tvb, off, 8, "TLV double")
            value = tostring(tvb(off, 8):le_float())
            off = off + 8
        elseif etype <= 0x13 then
            local ln = ({ [0] = 1, 2, 4, 8 })[etype % 4]
            need(tvb, off, ln, "TLV length")
            local n, ntext
            if ln == 8 then
                local big = tvb(off, 8):le_uint64()
                n, ntext = big:tonumber(), tostring(big)
            else
                n = tvb(off, ln):le_uint()
                ntext = tostring(n)
            end
            off = off + ln
            need(tvb, off, n, "TLV string of " .. ntext .. " bytes")
            if n == 0 then
                value = etype <= 0x0F and '""' or "(0 bytes)"
            elseif etype <= 0x0F then
                value = '"' .. tvb(off, n):string(ENC_UTF_8) .. '"'
            else
                value = tvb(off, n):bytes():tohex(true) .. string.format(" (%d bytes)", n)
            end
            off = off + n
        end
        local label = ttext
        if name then label = name .. " (" .. ttext .. ")" end
        if etype >= 0x15 and etype <= 0x17 then
            -- A container: its elements, then its end-of-container.
            if depth >= MAX_DEPTH then
                error({ short = Short, what = "TLV nested deeper than " .. MAX_DEPTH, off = start }, 0)
            end
            local t = tree:add(f.tlv, tvb(start, end_off - start))
            t:set_text(string.format("%s: %s", label, tname))
            t:add(f.tlv_tag, tvb(start, off - start), ttext)
            if name then t:add(f.tlv_name, tvb(start, off - start), name) end
            t:add(f.tlv_type, tvb(start, 1), tname)
            local inner = sub
            if sub == nil then inner = nil end
            local ok, res = pcall(dissect_tlv, tvb, t, off, end_off, inner, true, depth + 1)
            if not ok then
                t:set_len(end_off - start)
                error(res, 0)
            end
            if res == nil then
                error({ short = Short, what = "container without end-of-container", off = start }, 0)
            end
            t:set_len(res - start)
            off = res
        else
            local t = tree:add(f.tlv, tvb(start, off - start))
            t:set_text(string.format("%s: %s = %s", label, tname, value))
            t:add(f.tlv_tag, tvb(start, 1), ttext)
            if name then t:add(f.tlv_name, tvb(start, 1), name) end
            t:add(f.tlv_type, tvb(start, 1), tname)
            t:add(f.tlv_value, tvb(start, off - start), value)
            if item then t:add(item.field, item.range, item.value) end
        end
    end
    if inside then
        error({ short = Short, what = "container without end-of-container", off = off }, 0)
    end
    return off
end

---------------------------------------------------------------------------
-- Message and protocol headers
---------------------------------------------------------------------------

-- Which payloads are TLV: Interaction Model messages and the Secure
-- Channel session establishment messages (PBKDF, PAKE, Sigma). Others
-- have fixed layouts (StatusReport, MCSP) or are opaque (vendor
-- protocols, BDX, Echo, ICD Check-In).
local function is_tlv(proto_id, vendor, opcode)
    if vendor ~= 0 then return false end
    if proto_id == 0x0001 then return true end
    return proto_id == 0x0000 and opcode >= 0x20 and opcode <= 0x33
end

local function dissect_payload(tvb, tree, off, proto_id, vendor, opcode)
    local n = tvb:len() - off
    if n <= 0 then return end
    if vendor == 0 and proto_id == 0x0000 and (opcode == 0x00 or opcode == 0x01) then
        -- MsgCounterSyncReq: challenge; MsgCounterSyncRsp: counter, response.
        local t = tree:add(proto, tvb(off, n), opcode == 0 and "MsgCounterSyncReq" or "MsgCounterSyncRsp")
        if opcode == 0x00 then
            need(tvb, off, 8, "MsgCounterSyncReq challenge")
            t:add(f.mcsp_challenge, tvb(off, 8))
        else
            need(tvb, off, 12, "MsgCounterSyncRsp")
            t:add_le(f.mcsp_counter, tvb(off, 4))
            t:add(f.mcsp_response, tvb(off + 4, 8))
        end
        return
    end
    if not is_tlv(proto_id, vendor, opcode) and not (vendor == 0 and proto_id == 0x0000 and opcode == 0x40) then
        tree:add(f.payload, tvb(off, n))
        return
    end
    if vendor == 0 and proto_id == 0x0000 and opcode == 0x40 then
        -- StatusReport (4.10.1): not TLV.
        local t = tree:add(proto, tvb(off, n), "StatusReport")
        need(tvb, off, 8, "StatusReport")
        t:add_le(f.sr_general, tvb(off, 2))
        t:add_le(f.sr_protocol, tvb(off + 2, 4))
        t:add_le(f.sr_code, tvb(off + 6, 2))
        if n > 8 then t:add(f.sr_data, tvb(off + 8, n - 8)) end
        return
    end
    local schema = nil
    if vendor == 0 and schemas[proto_id] then schema = schemas[proto_id][opcode] end
    local t = tree:add(proto, tvb(off, n), "Payload (TLV)")
    if schema then t:set_text("Payload (TLV): " .. schema.name) end
    -- The payload is one anonymous element whose context tags the schema
    -- names.
    local wrapper = nil
    if schema then wrapper = { elem = schema } end
    dissect_tlv(tvb, t, off, tvb:len(), wrapper, false, 0)
end

local function dissect_protocol(tvb, pinfo, tree, off, plaintext)
    need(tvb, off, 6, "protocol header")
    local start = off
    local t = tree:add(proto, tvb(off, 6), "Protocol header")
    local xf = tvb(off, 1):uint()
    local ft = t:add(f.exch_flags, tvb(off, 1))
    ft:add(f.i_flag, tvb(off, 1))
    ft:add(f.a_flag, tvb(off, 1))
    ft:add(f.r_flag, tvb(off, 1))
    ft:add(f.sx_flag, tvb(off, 1))
    ft:add(f.v_flag, tvb(off, 1))
    if xf >= 0x20 then ft:add_proto_expert_info(ef_reserved) end
    local opcode = tvb(off + 1, 1):uint()
    local op_item = t:add(f.opcode, tvb(off + 1, 1))
    t:add_le(f.exchange_id, tvb(off + 2, 2))
    local exid = tvb(off + 2, 2):le_uint()
    off = off + 4
    local vendor = 0
    if has(xf, 0x10) then
        need(tvb, off, 2, "protocol vendor id")
        t:add_le(f.vendor_id, tvb(off, 2))
        vendor = tvb(off, 2):le_uint()
        off = off + 2
    end
    need(tvb, off, 2, "protocol id")
    t:add_le(f.protocol_id, tvb(off, 2))
    local pid = tvb(off, 2):le_uint()
    off = off + 2
    if has(xf, 0x02) then
        need(tvb, off, 4, "acknowledged counter")
        t:add_le(f.ack_counter, tvb(off, 4))
        off = off + 4
    end
    if has(xf, 0x08) then
        need(tvb, off, 2, "secured extensions length")
        local n = tvb(off, 2):le_uint()
        t:add_le(f.sx_len, tvb(off, 2))
        need(tvb, off + 2, n, "secured extensions")
        if n > 0 then t:add(f.sx, tvb(off + 2, n)) end
        off = off + 2 + n
    end
    t:set_len(off - start)
    local pname = protocol_names[pid] or string.format("protocol 0x%04X", pid)
    local oname = nil
    if vendor == 0 and pid == 0x0000 then oname = secure_channel_ops[opcode] end
    if vendor == 0 and pid == 0x0001 then oname = im_ops[opcode] end
    if vendor ~= 0 then pname = string.format("vendor 0x%04X protocol 0x%04X", vendor, pid) end
    local label = oname or string.format("opcode 0x%02X", opcode)
    t:add(f.opcode_name, tvb(start + 1, 1), label)
    op_item:append_text(" (" .. label .. ")")
    t:append_text(string.format(": %s %s, exchange %d%s", pname, label, exid, has(xf, 0x01) and " (I)" or ""))
    local info = string.format("%s %s", pname, label)
    if has(xf, 0x02) then info = info .. string.format(" ack=%d", tvb(start + (has(xf, 0x10) and 8 or 6), 4):le_uint()) end
    if plaintext then info = info .. " [PLAINTEXT]" end
    pinfo.cols.info:set(info)
    dissect_payload(tvb, tree, off, pid, vendor, opcode)
end

local function dissect_message(tvb, pinfo, tree)
    local plain_capture = pinfo.src_port == PLAIN_PORT or pinfo.dst_port == PLAIN_PORT
    need(tvb, 0, 8, "message header")
    local t = tree:add(proto, tvb(0, 8), "Message header")
    local mf = tvb(0, 1):uint()
    local mft = t:add(f.msg_flags, tvb(0, 1))
    mft:add(f.version, tvb(0, 1))
    mft:add(f.s_flag, tvb(0, 1))
    mft:add(f.dsiz, tvb(0, 1))
    if mf >= 0x10 then mft:add_proto_expert_info(ef_reserved, "Message format version is not 0") end
    local sid = tvb(1, 2):le_uint()
    t:add_le(f.session_id, tvb(1, 2))
    local sf = tvb(3, 1):uint()
    local sft = t:add(f.sec_flags, tvb(3, 1))
    sft:add(f.p_flag, tvb(3, 1))
    sft:add(f.c_flag, tvb(3, 1))
    sft:add(f.mx_flag, tvb(3, 1))
    sft:add(f.plain_flag, tvb(3, 1))
    sft:add(f.session_type, tvb(3, 1))
    local stype = sf % 4
    t:add_le(f.counter, tvb(4, 4))
    local ctr = tvb(4, 4):le_uint()
    local off = 8
    if has(mf, 0x04) then
        need(tvb, off, 8, "source node id")
        t:add_le(f.src_node, tvb(off, 8))
        off = off + 8
    end
    local dsiz = mf % 4
    if dsiz == 1 then
        need(tvb, off, 8, "destination node id")
        t:add_le(f.dst_node, tvb(off, 8))
        off = off + 8
    elseif dsiz == 2 then
        need(tvb, off, 2, "destination group id")
        t:add_le(f.dst_group, tvb(off, 2))
        off = off + 2
    elseif dsiz == 3 then
        error({ short = Short, what = "DSIZ 3 (reserved)", off = 0 }, 0)
    end
    if has(sf, 0x20) then
        need(tvb, off, 2, "message extensions length")
        local n = tvb(off, 2):le_uint()
        t:add_le(f.mx_len, tvb(off, 2))
        need(tvb, off + 2, n, "message extensions")
        if n > 0 then t:add(f.mx, tvb(off + 2, n)) end
        off = off + 2 + n
    end
    t:set_len(off)
    local secure = not (sid == 0 and stype == 0)
    local decrypted = secure and plain_capture and has(sf, PLAIN_FLAG)
    t:add(f.secure, tvb(3, 1), secure)
    if has(sf, PLAIN_FLAG) and not decrypted then
        sft:add_proto_expert_info(ef_reserved, "Reserved security flag 0x10 set outside a mattersim plaintext capture")
    end
    if stype >= 2 then
        sft:add_proto_expert_info(ef_reserved, "Reserved session type")
    end
    local where = stype == 1 and string.format("group session 0x%04X", sid) or string.format("session %d", sid)
    local privacy = ""
    if has(sf, 0x80) then
        privacy = decrypted and " (privacy: de-obfuscated by mattersim)" or " (privacy: obfuscated)"
    end
    t:append_text(string.format(": %s, counter %d%s", where, ctr, privacy))
    if decrypted then
        local p = tree:add(f.plaintext, tvb(0, tvb:len()), "PLAINTEXT (decrypted by mattersim, not wire bytes)")
        p:add_proto_expert_info(ef_plaintext)
        dissect_protocol(tvb, pinfo, tree, off, true)
        return
    end
    if secure then
        local n = tvb:len() - off
        if n < MIC_LEN then
            error({ short = Short, what = "secure message shorter than its 16-byte MIC", off = off }, 0)
        end
        if n > MIC_LEN then tree:add(f.encrypted, tvb(off, n - MIC_LEN)) end
        local mi = tree:add(f.mic, tvb(tvb:len() - MIC_LEN, MIC_LEN))
        mi:add_proto_expert_info(ef_encrypted)
        local info = string.format("Encrypted, %s, counter %d", where, ctr)
        if plain_capture then info = info .. " (mattersim had no key for it)" end
        pinfo.cols.info:set(info)
        return
    end
    dissect_protocol(tvb, pinfo, tree, off, false)
end

function proto.dissector(tvb, pinfo, tree)
    pinfo.cols.protocol:set("Matter")
    local root = tree:add(proto, tvb())
    if pinfo.src_port == PLAIN_PORT or pinfo.dst_port == PLAIN_PORT then
        pinfo.cols.protocol:set("Matter/plain")
        root:append_text(" [mattersim plaintext capture]")
    end
    local ok, err = pcall(dissect_message, tvb, pinfo, root)
    if not ok then
        local what
        if type(err) == "table" and err.short == Short then
            what = string.format("%s at byte %d", err.what, err.off)
        else
            what = tostring(err)
        end
        root:add_proto_expert_info(ef_malformed, "Malformed Matter message: " .. what)
        pinfo.cols.info:set("Malformed Matter message: " .. what)
    end
    return tvb:len()
end

local udp = DissectorTable.get("udp.port")
udp:add(MATTER_PORT, proto)
udp:add(PLAIN_PORT, proto)
