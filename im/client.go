package im

import (
	"errors"
	"fmt"
)

// NewReadRequest returns a ReadRequest for the given attribute paths, set
// up as matter.js sends it: fabric-filtered, revision Revision.
func NewReadRequest(paths ...AttributePath) *ReadRequest {
	return &ReadRequest{AttributeRequests: paths, IsFabricFiltered: true, Revision: Revision}
}

// NewInvokeRequest returns an InvokeRequest for one command. A nil fields
// is sent as an empty structure, as matter.js does for commands without
// fields.
func NewInvokeRequest(p CommandPath, fields Value) *InvokeRequest {
	if fields == nil {
		fields = EmptyStruct()
	}
	return &InvokeRequest{Requests: []CommandData{{Path: p, Fields: fields}}, Revision: Revision}
}

// ParseReadResponse decodes the response to a ReadRequest: a ReportData,
// or a StatusResponse, which becomes a *StatusError.
func ParseReadResponse(op Opcode, payload []byte) (*ReportData, error) {
	switch op {
	case OpReportData:
		var m ReportData
		if err := DecodeReportData(payload, &m); err != nil {
			return nil, err
		}
		return &m, nil
	case OpStatusResponse:
		return nil, statusResponseErr(payload)
	}
	return nil, fmt.Errorf("im: unexpected %s in response to a ReadRequest", op)
}

// ParseInvokeResponse decodes the response to an InvokeRequest: an
// InvokeResponse, or a StatusResponse, which becomes a *StatusError.
func ParseInvokeResponse(op Opcode, payload []byte) (*InvokeResponse, error) {
	switch op {
	case OpInvokeResponse:
		var m InvokeResponse
		if err := DecodeInvokeResponse(payload, &m); err != nil {
			return nil, err
		}
		return &m, nil
	case OpStatusResponse:
		return nil, statusResponseErr(payload)
	}
	return nil, fmt.Errorf("im: unexpected %s in response to an InvokeRequest", op)
}

func statusResponseErr(payload []byte) error {
	var sr StatusResponse
	if err := DecodeStatusResponse(payload, &sr); err != nil {
		return err
	}
	return &StatusError{Status: sr.Status}
}

// Value returns the data reported for the concrete path p: the value, a
// *StatusError when the peer answered with an AttributeStatusIB, or
// ErrNotReported when the path is missing from m.
func (m *ReportData) Value(p AttributePath) (Value, error) {
	for _, r := range m.AttributeReports {
		if r.Path.Endpoint != p.Endpoint || r.Path.Cluster != p.Cluster || r.Path.Attribute != p.Attribute {
			continue
		}
		if r.IsStatus() {
			return nil, r.Status.Err()
		}
		return r.Data, nil
	}
	return nil, ErrNotReported
}

// ErrNotReported is returned by ReportData.Value for a path the report
// does not contain.
var ErrNotReported = errors.New("im: path not in report")

// Result returns the status of the i-th command response: nil for
// SUCCESS, a *StatusError otherwise; command data responses count as
// success.
func (m *InvokeResponse) Result(i int) error {
	if i < 0 || i >= len(m.Responses) {
		return ErrNotReported
	}
	if r := m.Responses[i]; r.IsStatus {
		return r.Status.Status.Err()
	}
	return nil
}
