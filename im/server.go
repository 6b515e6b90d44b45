package im

import (
	"slices"

	"mattersim/tlv"
)

// MaxPathsPerInvoke is the number of commands one InvokeRequest may carry
// (Basic Information attribute 0x16 says 1; spec 8.8.2: more is
// INVALID_ACTION).
const MaxPathsPerInvoke = 1

// Server answers Interaction Model requests against a Node: one request
// payload in, at most one response payload out. It never panics on input:
// a payload it cannot parse gets a StatusResponse INVALID_ACTION (spec
// 8.9.1, 8.10.1). The zero value is not usable; set Node. A Server is not
// safe for concurrent use.
type Server struct {
	Node *Node
	// Revision is written in responses; 0 means the package's Revision.
	Revision uint8
	// MaxPayload is the largest response payload the transport can carry
	// (0: DefaultMaxPayload; negative: no limit). A response that does not
	// fit is replaced by a StatusResponse RESOURCE_EXHAUSTED, so the client
	// hears why instead of timing out. Chunking a report over several
	// ReportData messages (spec 8.4.3, MoreChunkedMessages) is not
	// implemented.
	MaxPayload int
}

// DefaultMaxPayload is the largest IM payload that fits one unicast
// message on a secure session over UDP: 1232 bytes (IPv6 minimum MTU less
// IPv6 and UDP headers, spec 4.4.4) less an 8-byte message header (no node
// ids), a 10-byte protocol header (with the piggybacked ack counter) and
// the 16-byte MIC (spec 4.4.1, 4.4.3).
const DefaultMaxPayload = 1232 - 8 - 10 - 16

func (s *Server) maxPayload() int {
	if s.MaxPayload == 0 {
		return DefaultMaxPayload
	}
	return s.MaxPayload
}

// NewServer returns a server for n.
func NewServer(n *Node) *Server { return &Server{Node: n} }

func (s *Server) revision() uint8 {
	if s.Revision != 0 {
		return s.Revision
	}
	return Revision
}

// Handle processes one unsolicited request (opcode op, TLV payload) and
// appends the response payload to dst. ok is false when no response is
// due (a StatusResponse received, or an Invoke with SuppressResponse).
// A response longer than MaxPayload becomes StatusResponse
// RESOURCE_EXHAUSTED (no chunking, see Server).
//
//   - ReadRequest → ReportData (SuppressResponse set, spec 8.4.3.4), or
//     StatusResponse INVALID_ACTION when malformed.
//   - InvokeRequest → InvokeResponse, or StatusResponse INVALID_ACTION /
//     TIMED_REQUEST_MISMATCH.
//   - every other opcode → StatusResponse INVALID_ACTION (as
//     connectedhomeip InteractionModelEngine does for unsupported messages).
func (s *Server) Handle(dst []byte, op Opcode, payload []byte) (resp Opcode, out []byte, ok bool) {
	start := len(dst)
	resp, out, ok = s.handle(dst, op, payload)
	if ok && resp != OpStatusResponse {
		if limit := s.maxPayload(); limit >= 0 && len(out)-start > limit {
			return s.status(out[:start], StatusResourceExhausted)
		}
	}
	return resp, out, ok
}

func (s *Server) handle(dst []byte, op Opcode, payload []byte) (resp Opcode, out []byte, ok bool) {
	switch op {
	case OpStatusResponse:
		return 0, dst, false
	case OpReadRequest:
		var req ReadRequest
		if err := DecodeReadRequest(payload, &req); err != nil {
			return s.status(dst, StatusInvalidAction)
		}
		rep, st := s.Read(&req)
		if st != StatusSuccess {
			return s.status(dst, st)
		}
		return OpReportData, AppendReportData(dst, rep), true
	case OpInvokeRequest:
		var req InvokeRequest
		if err := DecodeInvokeRequest(payload, &req); err != nil {
			return s.status(dst, StatusInvalidAction)
		}
		res, st := s.Invoke(&req)
		if st != StatusSuccess {
			return s.status(dst, st)
		}
		if req.SuppressResponse {
			return 0, dst, false
		}
		return OpInvokeResponse, AppendInvokeResponse(dst, res), true
	}
	return s.status(dst, StatusInvalidAction)
}

func (s *Server) status(dst []byte, st Status) (Opcode, []byte, bool) {
	return OpStatusResponse, AppendStatusResponse(dst, &StatusResponse{Status: st, Revision: s.revision()}), true
}

// isGlobal reports whether id is in the global attribute range
// 0xF000–0xFFFE (spec 7.18.2.15).
func isGlobal(id uint32) bool { return id >= 0xF000 && id <= 0xFFFE }

// Read answers a decoded ReadRequest (spec 8.4.3). A message-level failure
// is returned as a non-success Status (send it in a StatusResponse).
// Concrete paths that name something missing yield an AttributeStatusIB
// (UNSUPPORTED_ENDPOINT, _CLUSTER or _ATTRIBUTE); wildcard paths are
// expanded over what exists, in ascending ID order, and report no errors
// (spec 8.9.2.2). Clusters whose DataVersion matches a DataVersionFilter
// are left out (spec 8.4.3.1 step on data version filters). Event paths
// are accepted and produce no event reports (no events are modelled).
func (s *Server) Read(req *ReadRequest) (*ReportData, Status) {
	if len(req.AttributeRequests) == 0 && req.EventRequests == nil {
		return nil, StatusInvalidAction // spec 8.9.2: a read must ask for something
	}
	for _, p := range req.AttributeRequests {
		// spec 8.9.2.2 / 8.10.2: ListIndex is not allowed in read paths, and
		// a wildcard cluster needs a wildcard or global attribute.
		if p.ListIndex.Present {
			return nil, StatusInvalidAction
		}
		if p.Cluster == WildcardCluster && p.Attribute != WildcardAttribute && !isGlobal(p.Attribute) {
			return nil, StatusInvalidAction
		}
	}
	rep := &ReportData{SuppressResponse: true, Revision: s.revision(), AttributeReports: []AttributeReport{}}
	for _, p := range req.AttributeRequests {
		if !p.IsWildcard() {
			rep.AttributeReports = s.readConcrete(rep.AttributeReports, p, req.DataVersionFilters)
			continue
		}
		for _, e := range s.Node.Endpoints {
			if p.Endpoint != WildcardEndpoint && p.Endpoint != e.ID {
				continue
			}
			for _, c := range e.Clusters {
				if p.Cluster != WildcardCluster && p.Cluster != c.ID {
					continue
				}
				if filtered(req.DataVersionFilters, e.ID, c) {
					continue
				}
				for _, id := range c.attributeIDs() {
					if p.Attribute != WildcardAttribute && p.Attribute != id {
						continue
					}
					rep.AttributeReports = append(rep.AttributeReports, dataReport(e.ID, c, id))
				}
			}
		}
	}
	return rep, StatusSuccess
}

func filtered(fs []DataVersionFilter, ep uint16, c *Cluster) bool {
	for _, f := range fs {
		if f.Path.Endpoint == ep && f.Path.Cluster == c.ID && f.DataVersion == c.DataVersion {
			return true
		}
	}
	return false
}

func dataReport(ep uint16, c *Cluster, id uint32) AttributeReport {
	w := tlv.NewWriter(nil)
	c.encodeAttribute(w, tlv.AnonymousTag(), id)
	return AttributeReport{
		Path:        ConcreteAttribute(ep, c.ID, id),
		DataVersion: c.DataVersion, HasDataVersion: true,
		Data: Value(w.Bytes()),
	}
}

func (s *Server) readConcrete(out []AttributeReport, p AttributePath, fs []DataVersionFilter) []AttributeReport {
	path := ConcreteAttribute(p.Endpoint, p.Cluster, p.Attribute)
	e := s.Node.Endpoint(p.Endpoint)
	if e == nil {
		return append(out, AttributeReport{Path: path, Status: StatusIB{Status: StatusUnsupportedEndpoint}})
	}
	c := e.Cluster(p.Cluster)
	if c == nil {
		return append(out, AttributeReport{Path: path, Status: StatusIB{Status: StatusUnsupportedCluster}})
	}
	w := tlv.NewWriter(nil)
	if !c.encodeAttribute(w, tlv.AnonymousTag(), p.Attribute) {
		return append(out, AttributeReport{Path: path, Status: StatusIB{Status: StatusUnsupportedAttribute}})
	}
	if filtered(fs, e.ID, c) {
		return out
	}
	return append(out, AttributeReport{Path: path, DataVersion: c.DataVersion, HasDataVersion: true, Data: Value(w.Bytes())})
}

// Invoke runs a decoded InvokeRequest (spec 8.8.2). A message-level
// failure is returned as a non-success Status: TIMED_REQUEST_MISMATCH when
// TimedRequest is set (Invoke is the untimed path: no Timed Request came
// first, spec 8.8.2; HandleExchange serves timed invokes), INVALID_ACTION
// for no commands, more than MaxPathsPerInvoke, or a wildcard endpoint
// (only valid for groupcast). Each command then gets a CommandStatusIB:
// UNSUPPORTED_ENDPOINT, UNSUPPORTED_CLUSTER, UNSUPPORTED_COMMAND,
// NEEDS_TIMED_INTERACTION (a Cluster.TimedCommands entry invoked untimed),
// INVALID_COMMAND (fields not a structure) or the command's own status.
func (s *Server) Invoke(req *InvokeRequest) (*InvokeResponse, Status) {
	return s.invoke(req, false)
}

// invoke is Invoke for a request that arrived after a Timed Request
// (timed) or not; the flag in the message must agree (the Timed interaction,
// connectedhomeip CommandHandler: TIMED_REQUEST_MISMATCH otherwise).
func (s *Server) invoke(req *InvokeRequest, timed bool) (*InvokeResponse, Status) {
	if req.TimedRequest != timed {
		return nil, StatusTimedRequestMismatch
	}
	if len(req.Requests) == 0 || len(req.Requests) > MaxPathsPerInvoke {
		return nil, StatusInvalidAction
	}
	res := &InvokeResponse{Revision: s.revision(), Responses: make([]InvokeResponseIB, 0, len(req.Requests))}
	for _, cd := range req.Requests {
		if cd.Path.Endpoint == WildcardEndpoint {
			return nil, StatusInvalidAction
		}
		st := s.invokeOne(&cd, timed)
		res.Responses = append(res.Responses, InvokeResponseIB{IsStatus: true, Status: CommandStatus{
			Path: cd.Path, Status: StatusIB{Status: st}, Ref: cd.Ref, HasRef: cd.HasRef,
		}})
	}
	return res, StatusSuccess
}

func (s *Server) invokeOne(cd *CommandData, timed bool) Status {
	e := s.Node.Endpoint(cd.Path.Endpoint)
	if e == nil {
		return StatusUnsupportedEndpoint
	}
	c := e.Cluster(cd.Path.Cluster)
	if c == nil {
		return StatusUnsupportedCluster
	}
	cmd := c.command(cd.Path.Command)
	if cmd == nil {
		return StatusUnsupportedCommand
	}
	if !timed && slices.Contains(c.TimedCommands, cd.Path.Command) {
		return StatusNeedsTimedInteraction // as connectedhomeip's CommandHandler for a timed-only command
	}
	if cd.Fields != nil && (len(cd.Fields) == 0 || cd.Fields[0]&0x1F != 0x15) {
		return StatusInvalidCommand // spec 8.10.12: CommandFields is a structure
	}
	return cmd.Invoke(cd.Fields)
}
