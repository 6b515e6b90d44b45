package scenarios

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/invopop/jsonschema"

	"mattersim/im"
	"mattersim/session/message"
	"mattersim/sim/fault"
)

// Names the format accepts for Interaction Model ids (numbers are accepted
// everywhere: 0x0028 or 40).
var (
	clusterNames = map[string]uint32{
		"on_off":            im.ClusterOnOff,
		"descriptor":        im.ClusterDescriptor,
		"basic_information": im.ClusterBasicInformation,
	}
	globalAttributeNames = map[string]uint32{
		"generated_command_list": im.AttrGeneratedCommandList,
		"accepted_command_list":  im.AttrAcceptedCommandList,
		"attribute_list":         im.AttrAttributeList,
		"feature_map":            im.AttrFeatureMap,
		"cluster_revision":       im.AttrClusterRevision,
	}
	attributeNames = map[uint32]map[string]uint32{
		im.ClusterBasicInformation: {
			"data_model_revision": im.BasicDataModelRevision, "vendor_name": im.BasicVendorName,
			"vendor_id": im.BasicVendorID, "product_name": im.BasicProductName, "product_id": im.BasicProductID,
			"node_label": im.BasicNodeLabel, "location": im.BasicLocation, "hardware_version": im.BasicHardwareVersion,
			"hardware_version_string": im.BasicHardwareVersionString, "software_version": im.BasicSoftwareVersion,
			"software_version_string": im.BasicSoftwareVersionString, "serial_number": im.BasicSerialNumber,
			"unique_id": im.BasicUniqueID, "capability_minima": im.BasicCapabilityMinima,
			"specification_version": im.BasicSpecificationVersion, "max_paths_per_invoke": im.BasicMaxPathsPerInvoke,
		},
		im.ClusterDescriptor: {
			"device_type_list": im.DescriptorDeviceTypeList, "server_list": im.DescriptorServerList,
			"client_list": im.DescriptorClientList, "parts_list": im.DescriptorPartsList,
		},
		im.ClusterOnOff: {"on_off": im.OnOffAttrOnOff},
	}
	commandNames = map[uint32]map[string]uint32{
		im.ClusterOnOff: {"off": im.OnOffCmdOff, "on": im.OnOffCmdOn, "toggle": im.OnOffCmdToggle},
	}
)

const (
	idPattern            = `(0[xX][0-9a-fA-F]+|[0-9]+|[a-z][a-z0-9_]*)`
	attributePathPattern = `^(\*|` + idPattern + `)/(\*|` + idPattern + `)/(\*|` + idPattern + `)$`
	commandPathPattern   = `^` + idPattern + `/` + idPattern + `/` + idPattern + `$`
)

func parseID(s string, bits int, names map[string]uint32, what string) (uint32, error) {
	if v, ok := names[s]; ok {
		return v, nil
	}
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		v, err := strconv.ParseUint(s, 0, bits)
		if err != nil {
			return 0, fmt.Errorf("%s %q is not a %d-bit number", what, s, bits)
		}
		return uint32(v), nil
	}
	known := make([]string, 0, len(names))
	for n := range names {
		known = append(known, n)
	}
	slices.Sort(known)
	if len(known) == 0 {
		return 0, fmt.Errorf("unknown %s %q (give it as a number)", what, s)
	}
	return 0, fmt.Errorf("unknown %s %q (want a number or %s)", what, s, orList(known))
}

func attrNamesFor(cluster uint32) map[string]uint32 {
	m := make(map[string]uint32, len(globalAttributeNames)+8)
	for k, v := range globalAttributeNames {
		m[k] = v
	}
	for k, v := range attributeNames[cluster] {
		m[k] = v
	}
	return m
}

// AttributePath names the attributes a read asks for, written
// ENDPOINT/CLUSTER/ATTRIBUTE: numbers (0/0x0028/0x0001) or names
// (0/basic_information/vendor_name), * for a wildcard (spec 8.9.2.2).
type AttributePath struct {
	Path im.AttributePath
}

// ParseAttributePath parses an attribute path.
func ParseAttributePath(s string) (AttributePath, error) {
	parts := strings.Split(strings.TrimSpace(s), "/")
	if len(parts) != 3 {
		return AttributePath{}, fmt.Errorf("%q is not an attribute path (want ENDPOINT/CLUSTER/ATTRIBUTE, e.g. 0/basic_information/vendor_name)", s)
	}
	p := im.AttributePathWildcard()
	var err error
	if parts[0] != "*" {
		var v uint32
		if v, err = parseID(parts[0], 16, nil, "endpoint"); err != nil {
			return AttributePath{}, err
		}
		p.Endpoint = uint16(v)
	}
	if parts[1] != "*" {
		if p.Cluster, err = parseID(parts[1], 32, clusterNames, "cluster"); err != nil {
			return AttributePath{}, err
		}
	}
	if parts[2] != "*" {
		names := globalAttributeNames
		if parts[1] != "*" {
			names = attrNamesFor(p.Cluster)
		}
		if p.Attribute, err = parseID(parts[2], 32, names, "attribute"); err != nil {
			return AttributePath{}, err
		}
	}
	return AttributePath{Path: p}, nil
}

func (a *AttributePath) setScalar(s scalar) error {
	if s.kind != kindString {
		return fmt.Errorf("want an attribute path ENDPOINT/CLUSTER/ATTRIBUTE, got %s", s.describe())
	}
	v, err := ParseAttributePath(s.text)
	*a = v
	return err
}

func (a AttributePath) String() string { return a.Path.String() }

// MarshalText writes the path with numbers.
func (a AttributePath) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalYAML reads an attribute path scalar.
func (a *AttributePath) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, a) }

// JSONSchema describes an attribute path.
func (AttributePath) JSONSchema() *jsonschema.Schema {
	return schemaString(attributePathPattern, "an attribute path ENDPOINT/CLUSTER/ATTRIBUTE: numbers or names, * for a wildcard",
		"0/basic_information/vendor_name", "1/on_off/on_off", "0/0x0028/*")
}

// CommandPath names the command an invoke sends, written
// ENDPOINT/CLUSTER/COMMAND: numbers or names (1/on_off/toggle).
type CommandPath struct {
	Path im.CommandPath
}

// ParseCommandPath parses a command path.
func ParseCommandPath(s string) (CommandPath, error) {
	parts := strings.Split(strings.TrimSpace(s), "/")
	if len(parts) != 3 || parts[0] == "*" || parts[1] == "*" || parts[2] == "*" {
		return CommandPath{}, fmt.Errorf("%q is not a command path (want ENDPOINT/CLUSTER/COMMAND, no wildcard, e.g. 1/on_off/toggle)", s)
	}
	ep, err := parseID(parts[0], 16, nil, "endpoint")
	if err != nil {
		return CommandPath{}, err
	}
	cl, err := parseID(parts[1], 32, clusterNames, "cluster")
	if err != nil {
		return CommandPath{}, err
	}
	cmd, err := parseID(parts[2], 32, commandNames[cl], "command")
	if err != nil {
		return CommandPath{}, err
	}
	return CommandPath{Path: im.CommandPath{Endpoint: uint16(ep), Cluster: cl, Command: cmd}}, nil
}

func (c *CommandPath) setScalar(s scalar) error {
	if s.kind != kindString {
		return fmt.Errorf("want a command path ENDPOINT/CLUSTER/COMMAND, got %s", s.describe())
	}
	v, err := ParseCommandPath(s.text)
	*c = v
	return err
}

// IsZero reports an absent command.
func (c CommandPath) IsZero() bool { return c == CommandPath{} }

func (c CommandPath) String() string { return c.Path.String() }

// MarshalText writes the path with numbers.
func (c CommandPath) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalYAML reads a command path scalar.
func (c *CommandPath) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, c) }

// JSONSchema describes a command path.
func (CommandPath) JSONSchema() *jsonschema.Schema {
	return schemaString(commandPathPattern, "a command path ENDPOINT/CLUSTER/COMMAND: numbers or names", "1/on_off/toggle")
}

// Protocol and opcode names for MessageType (spec 4.11.1, 10.2.1).
var (
	protocolNames = map[string]message.ProtocolID{
		"secure_channel":    message.ProtocolSecureChannel,
		"interaction_model": message.ProtocolInteractionModel,
		"bdx":               message.ProtocolBDX,
		"udc":               message.ProtocolUDC,
		"echo":              message.ProtocolEcho,
	}
	opcodeNames = map[message.ProtocolID]map[string]uint32{
		message.ProtocolSecureChannel: {
			"msg_counter_sync_req": message.OpMsgCounterSyncReq, "msg_counter_sync_rsp": message.OpMsgCounterSyncRsp,
			"standalone_ack": message.OpStandaloneAck, "pbkdf_param_request": message.OpPBKDFParamRequest,
			"pbkdf_param_response": message.OpPBKDFParamResponse, "pake1": message.OpPASEPake1,
			"pake2": message.OpPASEPake2, "pake3": message.OpPASEPake3, "sigma1": message.OpCASESigma1,
			"sigma2": message.OpCASESigma2, "sigma3": message.OpCASESigma3, "sigma2_resume": message.OpCASESigma2Resume,
			"status_report": message.OpStatusReport, "icd_check_in": message.OpICDCheckIn,
		},
		message.ProtocolInteractionModel: {
			"status_response": message.OpIMStatusResponse, "read_request": message.OpIMReadRequest,
			"subscribe_request": message.OpIMSubscribeRequest, "subscribe_response": message.OpIMSubscribeResponse,
			"report_data": message.OpIMReportData, "write_request": message.OpIMWriteRequest,
			"write_response": message.OpIMWriteResponse, "invoke_request": message.OpIMInvokeRequest,
			"invoke_response": message.OpIMInvokeResponse, "timed_request": message.OpIMTimedRequest,
		},
	}
)

const messageTypePattern = `^(` + idPattern + `)(/(\*|` + idPattern + `))?$`

// MessageType names Matter messages by protocol and opcode (spec 4.4.3):
// PROTOCOL/OPCODE, PROTOCOL/* or PROTOCOL (any opcode). PROTOCOL is a
// name (secure_channel, interaction_model, bdx, udc, echo) or a number,
// 0xVVVVPPPP with the vendor id in the upper 16 bits; OPCODE a name of
// that protocol (pbkdf_param_request, pake1, ...) or a number. Only
// unsecured messages show their protocol and opcode to an observer (spec
// 4.4.1.2), so in practice this selects handshake messages.
type MessageType struct {
	Type fault.MessageType
}

// ParseMessageType parses a message type.
func ParseMessageType(s string) (MessageType, error) {
	s = strings.TrimSpace(s)
	proto, op, hasOp := strings.Cut(s, "/")
	var t fault.MessageType
	if p, ok := protocolNames[proto]; ok {
		t.Protocol = p
	} else if proto != "" && proto[0] >= '0' && proto[0] <= '9' {
		v, err := strconv.ParseUint(proto, 0, 32)
		if err != nil {
			return MessageType{}, fmt.Errorf("protocol %q is not a 32-bit number (0xVVVVPPPP: vendor, protocol)", proto)
		}
		t.Vendor, t.Protocol = uint16(v>>16), message.ProtocolID(v)
	} else {
		return MessageType{}, fmt.Errorf("unknown protocol %q in %q (want a number or secure_channel, interaction_model, bdx, udc or echo)", proto, s)
	}
	if !hasOp || op == "*" {
		t.AnyOpcode = true
		return MessageType{Type: t}, nil
	}
	var names map[string]uint32
	if t.Vendor == 0 {
		names = opcodeNames[t.Protocol]
	}
	v, err := parseID(op, 8, names, "opcode")
	if err != nil {
		return MessageType{}, err
	}
	t.Opcode = uint8(v)
	return MessageType{Type: t}, nil
}

func (m *MessageType) setScalar(s scalar) error {
	if s.kind != kindString {
		return fmt.Errorf("want a message type PROTOCOL/OPCODE, got %s", s.describe())
	}
	v, err := ParseMessageType(s.text)
	*m = v
	return err
}

func (m MessageType) String() string { return m.Type.String() }

// MarshalText writes the type with numbers.
func (m MessageType) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalYAML reads a message type scalar.
func (m *MessageType) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, m) }

// JSONSchema describes a message type.
func (MessageType) JSONSchema() *jsonschema.Schema {
	return schemaString(messageTypePattern, "a message type PROTOCOL/OPCODE, PROTOCOL/* or PROTOCOL: names or numbers",
		"secure_channel/pbkdf_param_request", "secure_channel/*")
}

const counterRangePattern = `^(0[xX][0-9a-fA-F]+|[0-9]+)(\.\.(0[xX][0-9a-fA-F]+|[0-9]+))?$`

// CounterRange is an inclusive range of message counters, LO..HI, or one
// counter N. LO > HI wraps around 2^32 (0xFFFFFFF0..0x10), as counters do
// (spec 4.6).
type CounterRange struct {
	Range fault.CounterRange
}

func parseCounter(s string) (uint32, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 0, 32)
	if err != nil {
		return 0, fmt.Errorf("counter %q is not a 32-bit number", s)
	}
	return uint32(v), nil
}

func (c *CounterRange) setScalar(s scalar) error {
	*c = CounterRange{}
	switch s.kind {
	case kindInt:
		v, err := parseCounter(s.text)
		c.Range = fault.CounterRange{Lo: v, Hi: v}
		return err
	case kindString:
		lo, hi, ok := strings.Cut(s.text, "..")
		if !ok {
			return fmt.Errorf("%q is not a counter range (want LO..HI or a number)", s.text)
		}
		l, err := parseCounter(lo)
		if err != nil {
			return err
		}
		h, err := parseCounter(hi)
		if err != nil {
			return err
		}
		c.Range = fault.CounterRange{Lo: l, Hi: h}
		return nil
	}
	return fmt.Errorf("want a counter range LO..HI or a number, got %s", s.describe())
}

func (c CounterRange) String() string {
	return strconv.FormatUint(uint64(c.Range.Lo), 10) + ".." + strconv.FormatUint(uint64(c.Range.Hi), 10)
}

// MarshalText writes LO..HI.
func (c CounterRange) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalYAML reads a counter range scalar.
func (c *CounterRange) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, c) }

// JSONSchema describes a counter range.
func (CounterRange) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{
		schemaString(counterRangePattern, "an inclusive counter range LO..HI (wraps when LO > HI)", "0..1000"),
		{Type: "integer", Minimum: "0", Maximum: "4294967295", Description: "one counter"},
	}}
}
