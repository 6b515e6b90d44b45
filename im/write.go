package im

import "mattersim/tlv"

// AttributeData is an AttributeDataIB (spec 8.10) as carried in a
// WriteRequest: tag 0 DataVersion (optional), tag 1 Path, tag 2 Data.
type AttributeData struct {
	DataVersion    uint32
	HasDataVersion bool
	Path           AttributePath
	Data           Value
}

// AttributeStatus is an AttributeStatusIB (spec 8.10): tag 0 Path, tag 1
// StatusIB.
type AttributeStatus struct {
	Path   AttributePath
	Status StatusIB
}

// WriteRequest is a WriteRequestMessage (the Write interaction, spec chapter 8;
// opcode 0x06). Tags (matter.js TlvWriteRequest.ts, connectedhomeip
// src/app/MessageDef/WriteRequestMessage.h): 0 SuppressResponse, 1
// TimedRequest (required), 2 WriteRequests (required, AttributeDataIBs), 3
// MoreChunkedMessages, 0xFF revision.
type WriteRequest struct {
	SuppressResponse    bool
	TimedRequest        bool
	Requests            []AttributeData
	MoreChunkedMessages bool
	Revision            uint8
}

// WriteResponse is a WriteResponseMessage (opcode 0x07): tag 0
// WriteResponses (AttributeStatusIBs, required), 0xFF revision.
type WriteResponse struct {
	Responses []AttributeStatus
	Revision  uint8
}

// NewWriteRequest returns a WriteRequest of one concrete attribute value.
// timed marks it part of a Timed interaction (send a TimedRequest first).
func NewWriteRequest(p AttributePath, v Value, timed bool) *WriteRequest {
	return &WriteRequest{TimedRequest: timed, Requests: []AttributeData{{Path: p, Data: v}}, Revision: Revision}
}

// AppendWriteRequest appends the TLV payload of m. SuppressResponse and
// MoreChunkedMessages are written only when true, as matter.js does for
// optional fields.
func AppendWriteRequest(b []byte, m *WriteRequest) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	if m.SuppressResponse {
		w.PutBool(ctx(0), true)
	}
	w.PutBool(ctx(1), m.TimedRequest)
	w.StartArray(ctx(2))
	for i := range m.Requests {
		r := &m.Requests[i]
		w.StartStruct(tlv.AnonymousTag())
		if r.HasDataVersion {
			w.PutUintWidth(ctx(0), uint64(r.DataVersion), 4)
		}
		putAttributePath(w, ctx(1), &r.Path)
		putValue(w, 2, r.Data)
		w.EndContainer()
	}
	w.EndContainer()
	if m.MoreChunkedMessages {
		w.PutBool(ctx(3), true)
	}
	putRevision(w, m.Revision)
	w.EndContainer()
	return w.Bytes()
}

// DecodeWriteRequest decodes a WriteRequest payload into m.
func DecodeWriteRequest(b []byte, m *WriteRequest) error {
	*m = WriteRequest{}
	var hasTimed, hasReqs bool
	err := decodeTop(b, "WriteRequest", func(d *dec, tag uint8) (err error) {
		switch tag {
		case 0:
			m.SuppressResponse, err = d.boolean("SuppressResponse")
		case 1:
			m.TimedRequest, err = d.boolean("TimedRequest")
			hasTimed = true
		case 2:
			hasReqs = true
			m.Requests = make([]AttributeData, 0, 1)
			err = d.elems("WriteRequests", func(d *dec) error {
				r, err := d.attributeData("WriteRequests")
				if err == nil {
					m.Requests = append(m.Requests, r)
				}
				return err
			})
		case 3:
			m.MoreChunkedMessages, err = d.boolean("MoreChunkedMessages")
		case tagRevision:
			m.Revision, err = d.u8("InteractionModelRevision")
		}
		return err
	})
	if err == nil && !(hasTimed && hasReqs) {
		err = &DecodeError{Message: "WriteRequest", Err: ErrMissingField}
	}
	return err
}

func (d *dec) attributeData(field string) (AttributeData, error) {
	var r AttributeData
	var hasPath bool
	err := d.each(field, func(d *dec, tag uint8) (err error) {
		switch tag {
		case 0:
			r.DataVersion, err = d.u32(field + ".DataVersion")
			r.HasDataVersion = true
		case 1:
			err, hasPath = d.attributePath(field+".Path", &r.Path), true
		case 2:
			r.Data, err = d.value(field + ".Data")
		}
		return err
	})
	if err == nil && !(hasPath && r.Data != nil) {
		err = d.fail(field, ErrMissingField)
	}
	return r, err
}

// AppendWriteResponse appends the TLV payload of m.
func AppendWriteResponse(b []byte, m *WriteResponse) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.StartArray(ctx(0))
	for i := range m.Responses {
		r := &m.Responses[i]
		w.StartStruct(tlv.AnonymousTag())
		putAttributePath(w, ctx(0), &r.Path)
		putStatusIB(w, ctx(1), &r.Status)
		w.EndContainer()
	}
	w.EndContainer()
	putRevision(w, m.Revision)
	w.EndContainer()
	return w.Bytes()
}

// DecodeWriteResponse decodes a WriteResponse payload into m.
func DecodeWriteResponse(b []byte, m *WriteResponse) error {
	*m = WriteResponse{}
	var has bool
	err := decodeTop(b, "WriteResponse", func(d *dec, tag uint8) (err error) {
		switch tag {
		case 0:
			has = true
			m.Responses = make([]AttributeStatus, 0, 1)
			err = d.elems("WriteResponses", func(d *dec) error {
				var s AttributeStatus
				var hasPath, hasStatus bool
				err := d.each("WriteResponses", func(d *dec, tag uint8) (err error) {
					switch tag {
					case 0:
						err, hasPath = d.attributePath("WriteResponses.Path", &s.Path), true
					case 1:
						err, hasStatus = d.statusIB("WriteResponses.Status", &s.Status), true
					}
					return err
				})
				if err == nil && !(hasPath && hasStatus) {
					err = d.fail("WriteResponses", ErrMissingField)
				}
				if err == nil {
					m.Responses = append(m.Responses, s)
				}
				return err
			})
		case tagRevision:
			m.Revision, err = d.u8("InteractionModelRevision")
		}
		return err
	})
	if err == nil && !has {
		err = &DecodeError{Message: "WriteResponse", Field: "WriteResponses", Err: ErrMissingField}
	}
	return err
}

// ParseWriteResponse decodes the answer to a WriteRequest: a
// WriteResponse, or a StatusResponse, which becomes a *StatusError.
func ParseWriteResponse(op Opcode, payload []byte) (*WriteResponse, error) {
	switch op {
	case OpWriteResponse:
		var m WriteResponse
		if err := DecodeWriteResponse(payload, &m); err != nil {
			return nil, err
		}
		return &m, nil
	case OpStatusResponse:
		return nil, statusResponseErr(payload)
	}
	return nil, &UnexpectedError{Got: op, Want: "WriteResponse"}
}

// Write applies a decoded WriteRequest (the Write interaction). timed says whether it
// arrived on an exchange after a Timed Request; a mismatch with the
// message's TimedRequest flag is TIMED_REQUEST_MISMATCH for the whole
// message (connectedhomeip WriteHandler). So is INVALID_ACTION for no
// writes or a wildcard path (group writes are not modelled). Each write
// then gets an AttributeStatusIB: UNSUPPORTED_ENDPOINT / _CLUSTER /
// _ATTRIBUTE for what does not exist, UNSUPPORTED_WRITE for a read-only
// attribute or a list-item write (ListIndex; lists are not modelled),
// NEEDS_TIMED_INTERACTION for a Timed attribute written without a Timed
// Request, DATA_VERSION_MISMATCH when a DataVersion is given and differs
// from the cluster's, else the writer's own status.
func (s *Server) Write(req *WriteRequest, timed bool) (*WriteResponse, Status) {
	if req.TimedRequest != timed {
		return nil, StatusTimedRequestMismatch
	}
	if len(req.Requests) == 0 {
		return nil, StatusInvalidAction
	}
	for _, r := range req.Requests {
		if r.Path.IsWildcard() {
			return nil, StatusInvalidAction
		}
	}
	res := &WriteResponse{Revision: s.revision(), Responses: make([]AttributeStatus, 0, len(req.Requests))}
	for i := range req.Requests {
		r := &req.Requests[i]
		path := ConcreteAttribute(r.Path.Endpoint, r.Path.Cluster, r.Path.Attribute)
		res.Responses = append(res.Responses, AttributeStatus{Path: path, Status: StatusIB{Status: s.writeOne(r, timed)}})
	}
	return res, StatusSuccess
}

func (s *Server) writeOne(r *AttributeData, timed bool) Status {
	e := s.Node.Endpoint(r.Path.Endpoint)
	if e == nil {
		return StatusUnsupportedEndpoint
	}
	c := e.Cluster(r.Path.Cluster)
	if c == nil {
		return StatusUnsupportedCluster
	}
	if !c.hasAttribute(r.Path.Attribute) {
		return StatusUnsupportedAttribute
	}
	w := c.writer(r.Path.Attribute)
	if w == nil || r.Path.ListIndex.Present {
		return StatusUnsupportedWrite
	}
	if w.Timed && !timed {
		return StatusNeedsTimedInteraction
	}
	if r.HasDataVersion && r.DataVersion != c.DataVersion {
		return StatusDataVersionMismatch
	}
	return w.Write(r.Data)
}
