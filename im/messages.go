package im

// StatusIB is a StatusIB (spec 8.10.17): tag 0 status, tag 1 optional
// cluster-specific status.
type StatusIB struct {
	Status           Status
	ClusterStatus    uint8
	HasClusterStatus bool
}

// Err returns nil for SUCCESS without a cluster status, else a *StatusError.
func (s StatusIB) Err() error {
	if s.Status == StatusSuccess && !s.HasClusterStatus {
		return nil
	}
	return &StatusError{Status: s.Status, ClusterStatus: s.ClusterStatus, HasClusterStatus: s.HasClusterStatus}
}

// ReadRequest is a ReadRequestMessage (spec 8.9.2, opcode 0x02). Tags:
// 0 AttributeRequests (array of AttributePathIB), 1 EventRequests,
// 2 EventFilters, 3 IsFabricFiltered, 4 DataVersionFilters, 0xFF
// InteractionModelRevision. Event requests and filters are kept as raw
// values (this package has no events); nil when absent.
type ReadRequest struct {
	AttributeRequests  []AttributePath
	EventRequests      Value // tag 1, the raw array
	EventFilters       Value // tag 2, the raw array
	IsFabricFiltered   bool
	DataVersionFilters []DataVersionFilter
	Revision           uint8 // 0: absent
}

// AttributeReport is an AttributeReportIB (spec 8.10.4): either an
// AttributeDataIB (Data != nil) or an AttributeStatusIB (Data == nil).
type AttributeReport struct {
	Path AttributePath
	// DataVersion of the cluster (AttributeDataIB tag 0), meaningful when HasDataVersion.
	DataVersion    uint32
	HasDataVersion bool
	Data           Value    // AttributeDataIB tag 2; nil for a status report
	Status         StatusIB // AttributeStatusIB tag 1; meaningful when Data == nil
}

// IsStatus reports whether r is an AttributeStatusIB.
func (r AttributeReport) IsStatus() bool { return r.Data == nil }

// ReportData is a ReportDataMessage (spec 8.9.3, opcode 0x05). Tags:
// 0 SubscriptionId, 1 AttributeReports, 2 EventReports (kept raw),
// 3 MoreChunkedMessages, 4 SuppressResponse, 0xFF revision.
type ReportData struct {
	SubscriptionID      uint32
	HasSubscriptionID   bool
	AttributeReports    []AttributeReport
	EventReports        Value // tag 2, the raw array; nil when absent
	MoreChunkedMessages bool
	SuppressResponse    bool
	Revision            uint8
}

// CommandData is a CommandDataIB (spec 8.10.12): tag 0 CommandPath,
// tag 1 CommandFields (optional; nil when absent), tag 2 CommandRef.
type CommandData struct {
	Path   CommandPath
	Fields Value
	Ref    uint16
	HasRef bool
}

// CommandStatus is a CommandStatusIB (spec 8.10.13): tag 0 CommandPath,
// tag 1 StatusIB, tag 2 CommandRef.
type CommandStatus struct {
	Path   CommandPath
	Status StatusIB
	Ref    uint16
	HasRef bool
}

// InvokeResponseIB (spec 8.10.14) holds a command response (tag 0) or a
// status (tag 1).
type InvokeResponseIB struct {
	IsStatus bool
	Command  CommandData   // when !IsStatus
	Status   CommandStatus // when IsStatus
}

// InvokeRequest is an InvokeRequestMessage (spec 8.9.9, opcode 0x08). Tags:
// 0 SuppressResponse, 1 TimedRequest, 2 InvokeRequests (array of
// CommandDataIB), 0xFF revision.
type InvokeRequest struct {
	SuppressResponse bool
	TimedRequest     bool
	Requests         []CommandData
	Revision         uint8
}

// InvokeResponse is an InvokeResponseMessage (spec 8.9.10, opcode 0x09).
// Tags: 0 SuppressResponse, 1 InvokeResponses, 2 MoreChunkedMessages,
// 0xFF revision.
type InvokeResponse struct {
	SuppressResponse    bool
	Responses           []InvokeResponseIB
	MoreChunkedMessages bool
	Revision            uint8
}

// StatusResponse is a StatusResponseMessage (spec 8.9.1, opcode 0x01):
// tag 0 Status, 0xFF revision.
type StatusResponse struct {
	Status   Status
	Revision uint8
}
