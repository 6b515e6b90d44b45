package im

import "fmt"

// Wildcard values: an AttributePath or CommandPath field holding one of
// these is absent on the wire (spec 8.9.2.2: an omitted endpoint, cluster
// or attribute is a wildcard). The values themselves are invalid IDs
// (spec 7.18.2: endpoint 0xFFFF, cluster and attribute 0xFFFF_FFFF are not
// assignable), as in connectedhomeip's kInvalidEndpointId/kInvalidClusterId.
const (
	WildcardEndpoint  uint16 = 0xFFFF
	WildcardCluster   uint32 = 0xFFFF_FFFF
	WildcardAttribute uint32 = 0xFFFF_FFFF
)

// Global attribute IDs present on every cluster (spec 7.13, table "Global
// Attributes").
const (
	AttrGeneratedCommandList uint32 = 0xFFF8
	AttrAcceptedCommandList  uint32 = 0xFFF9
	AttrAttributeList        uint32 = 0xFFFB
	AttrFeatureMap           uint32 = 0xFFFC
	AttrClusterRevision      uint32 = 0xFFFD
)

// ListIndex is the optional, nullable ListIndex of an AttributePathIB
// (tag 5, spec 8.10.2.5). The zero value means "absent".
type ListIndex struct {
	Present bool
	Null    bool   // null: "append" in a write; meaningful only when Present
	Index   uint16 // meaningful when Present && !Null
}

// AttributePath is an AttributePathIB (spec 8.10.2, a TLV list). Endpoint,
// Cluster and Attribute hold the Wildcard* value when absent. The zero
// value is the concrete path 0/0/0; use AttributePathWildcard for "all".
type AttributePath struct {
	EnableTagCompression bool   // tag 0, written only when true
	Node                 uint64 // tag 1, meaningful when HasNode
	HasNode              bool
	Endpoint             uint16 // tag 2
	Cluster              uint32 // tag 3
	Attribute            uint32 // tag 4
	ListIndex            ListIndex
	WildcardPathFlags    uint32 // tag 6, written only when non-zero
}

// ConcreteAttribute returns the concrete path endpoint/cluster/attribute.
func ConcreteAttribute(endpoint uint16, cluster, attribute uint32) AttributePath {
	return AttributePath{Endpoint: endpoint, Cluster: cluster, Attribute: attribute}
}

// AttributePathWildcard returns the path with every field a wildcard
// (all attributes of all clusters on all endpoints).
func AttributePathWildcard() AttributePath {
	return AttributePath{Endpoint: WildcardEndpoint, Cluster: WildcardCluster, Attribute: WildcardAttribute}
}

// IsWildcard reports whether any of endpoint, cluster or attribute is a
// wildcard (spec 8.9.2.2: such a path is expanded and errors on it are
// not reported).
func (p AttributePath) IsWildcard() bool {
	return p.Endpoint == WildcardEndpoint || p.Cluster == WildcardCluster || p.Attribute == WildcardAttribute
}

// String renders "ep/cluster/attr" in hex with "*" for wildcards.
func (p AttributePath) String() string {
	return fmt.Sprintf("%s/%s/%s", wild16(p.Endpoint, WildcardEndpoint), wild32(p.Cluster, WildcardCluster),
		wild32(p.Attribute, WildcardAttribute))
}

// CommandPath is a CommandPathIB (spec 8.10.11, a TLV list). Endpoint is
// WildcardEndpoint when absent (only valid for group invokes); Cluster and
// Command are required.
type CommandPath struct {
	Endpoint uint16 // tag 0
	Cluster  uint32 // tag 1
	Command  uint32 // tag 2
}

// String renders "ep/cluster/command" in hex.
func (p CommandPath) String() string {
	return fmt.Sprintf("%s/0x%04X/0x%02X", wild16(p.Endpoint, WildcardEndpoint), p.Cluster, p.Command)
}

// ClusterPath is a ClusterPathIB (spec 8.10.6, a TLV list): tag 0 node
// (optional), tag 1 endpoint, tag 2 cluster.
type ClusterPath struct {
	Node     uint64
	HasNode  bool
	Endpoint uint16
	Cluster  uint32
}

// DataVersionFilter is a DataVersionFilterIB (spec 8.10.5): the client
// already holds DataVersion of the cluster at Path, so a read may leave
// that cluster's attributes out.
type DataVersionFilter struct {
	Path        ClusterPath // tag 0
	DataVersion uint32      // tag 1
}

func wild16(v, w uint16) string {
	if v == w {
		return "*"
	}
	return fmt.Sprintf("%d", v)
}

func wild32(v, w uint32) string {
	if v == w {
		return "*"
	}
	return fmt.Sprintf("0x%04X", v)
}
