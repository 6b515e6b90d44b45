package im

import (
	"errors"
	"fmt"
	"io"

	"mattersim/tlv"
)

// Decoding errors. Every decoder failure is a *DecodeError wrapping one of
// these or a *tlv.DecodeError.
var (
	ErrMissingField = errors.New("im: required field missing")
	ErrWrongType    = errors.New("im: element has the wrong type")
	ErrTrailingData = errors.New("im: data after the message")
)

// DecodeError reports a malformed IM message: which message and field,
// and the underlying cause (errors.Is/As through Unwrap).
type DecodeError struct {
	Message string // "ReadRequest", "ReportData", ...
	Field   string // field or information block, may be empty
	Err     error
}

var _ error = (*DecodeError)(nil)

func (e *DecodeError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("im: %s.%s: %v", e.Message, e.Field, e.Err)
	}
	return fmt.Sprintf("im: %s: %v", e.Message, e.Err)
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

const tagRevision = 0xFF

func ctx(n uint8) tlv.Tag { return tlv.ContextTag(n) }

// ---- encoders ----

func putRevision(w *tlv.Writer, rev uint8) {
	if rev != 0 {
		w.PutUint(ctx(tagRevision), uint64(rev))
	}
}

func putAttributePath(w *tlv.Writer, t tlv.Tag, p *AttributePath) {
	w.StartList(t)
	if p.EnableTagCompression {
		w.PutBool(ctx(0), true)
	}
	if p.HasNode {
		w.PutUint(ctx(1), p.Node)
	}
	if p.Endpoint != WildcardEndpoint {
		w.PutUint(ctx(2), uint64(p.Endpoint))
	}
	if p.Cluster != WildcardCluster {
		w.PutUint(ctx(3), uint64(p.Cluster))
	}
	if p.Attribute != WildcardAttribute {
		w.PutUint(ctx(4), uint64(p.Attribute))
	}
	if p.ListIndex.Present {
		if p.ListIndex.Null {
			w.PutNull(ctx(5))
		} else {
			w.PutUint(ctx(5), uint64(p.ListIndex.Index))
		}
	}
	if p.WildcardPathFlags != 0 {
		w.PutUint(ctx(6), uint64(p.WildcardPathFlags))
	}
	w.EndContainer()
}

func putCommandPath(w *tlv.Writer, t tlv.Tag, p *CommandPath) {
	w.StartList(t)
	if p.Endpoint != WildcardEndpoint {
		w.PutUint(ctx(0), uint64(p.Endpoint))
	}
	w.PutUint(ctx(1), uint64(p.Cluster))
	w.PutUint(ctx(2), uint64(p.Command))
	w.EndContainer()
}

func putStatusIB(w *tlv.Writer, t tlv.Tag, s *StatusIB) {
	w.StartStruct(t)
	w.PutUint(ctx(0), uint64(s.Status))
	if s.HasClusterStatus {
		w.PutUint(ctx(1), uint64(s.ClusterStatus))
	}
	w.EndContainer()
}

func putCommandData(w *tlv.Writer, t tlv.Tag, c *CommandData) {
	w.StartStruct(t)
	putCommandPath(w, ctx(0), &c.Path)
	if c.Fields != nil {
		putValue(w, 1, c.Fields)
	}
	if c.HasRef {
		w.PutUint(ctx(2), uint64(c.Ref))
	}
	w.EndContainer()
}

// AppendReadRequest appends the TLV payload of m (spec 8.9.2).
func AppendReadRequest(b []byte, m *ReadRequest) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	if m.AttributeRequests != nil {
		w.StartArray(ctx(0))
		for i := range m.AttributeRequests {
			putAttributePath(w, tlv.AnonymousTag(), &m.AttributeRequests[i])
		}
		w.EndContainer()
	}
	if m.EventRequests != nil {
		putValue(w, 1, m.EventRequests)
	}
	if m.EventFilters != nil {
		putValue(w, 2, m.EventFilters)
	}
	w.PutBool(ctx(3), m.IsFabricFiltered)
	if m.DataVersionFilters != nil {
		w.StartArray(ctx(4))
		for _, f := range m.DataVersionFilters {
			w.StartStruct(tlv.AnonymousTag())
			w.StartList(ctx(0))
			if f.Path.HasNode {
				w.PutUint(ctx(0), f.Path.Node)
			}
			w.PutUint(ctx(1), uint64(f.Path.Endpoint))
			w.PutUint(ctx(2), uint64(f.Path.Cluster))
			w.EndContainer()
			w.PutUint(ctx(1), uint64(f.DataVersion))
			w.EndContainer()
		}
		w.EndContainer()
	}
	putRevision(w, m.Revision)
	w.EndContainer()
	return w.Bytes()
}

// AppendReportData appends the TLV payload of m (spec 8.9.3). DataVersion
// is written as a 4-octet integer, as matter.js and the SDK do.
func AppendReportData(b []byte, m *ReportData) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	if m.HasSubscriptionID {
		w.PutUint(ctx(0), uint64(m.SubscriptionID))
	}
	if m.AttributeReports != nil {
		w.StartArray(ctx(1))
		for i := range m.AttributeReports {
			r := &m.AttributeReports[i]
			w.StartStruct(tlv.AnonymousTag())
			if r.IsStatus() {
				w.StartStruct(ctx(0))
				putAttributePath(w, ctx(0), &r.Path)
				putStatusIB(w, ctx(1), &r.Status)
			} else {
				w.StartStruct(ctx(1))
				if r.HasDataVersion {
					w.PutUintWidth(ctx(0), uint64(r.DataVersion), 4)
				}
				putAttributePath(w, ctx(1), &r.Path)
				putValue(w, 2, r.Data)
			}
			w.EndContainer()
			w.EndContainer()
		}
		w.EndContainer()
	}
	if m.EventReports != nil {
		putValue(w, 2, m.EventReports)
	}
	if m.MoreChunkedMessages {
		w.PutBool(ctx(3), true)
	}
	if m.SuppressResponse {
		w.PutBool(ctx(4), true)
	}
	putRevision(w, m.Revision)
	w.EndContainer()
	return w.Bytes()
}

// AppendInvokeRequest appends the TLV payload of m (spec 8.9.9).
func AppendInvokeRequest(b []byte, m *InvokeRequest) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBool(ctx(0), m.SuppressResponse)
	w.PutBool(ctx(1), m.TimedRequest)
	w.StartArray(ctx(2))
	for i := range m.Requests {
		putCommandData(w, tlv.AnonymousTag(), &m.Requests[i])
	}
	w.EndContainer()
	putRevision(w, m.Revision)
	w.EndContainer()
	return w.Bytes()
}

// AppendInvokeResponse appends the TLV payload of m (spec 8.9.10).
func AppendInvokeResponse(b []byte, m *InvokeResponse) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBool(ctx(0), m.SuppressResponse)
	w.StartArray(ctx(1))
	for i := range m.Responses {
		r := &m.Responses[i]
		w.StartStruct(tlv.AnonymousTag())
		if r.IsStatus {
			w.StartStruct(ctx(1))
			putCommandPath(w, ctx(0), &r.Status.Path)
			putStatusIB(w, ctx(1), &r.Status.Status)
			if r.Status.HasRef {
				w.PutUint(ctx(2), uint64(r.Status.Ref))
			}
			w.EndContainer()
		} else {
			putCommandData(w, ctx(0), &r.Command)
		}
		w.EndContainer()
	}
	w.EndContainer()
	if m.MoreChunkedMessages {
		w.PutBool(ctx(2), true)
	}
	putRevision(w, m.Revision)
	w.EndContainer()
	return w.Bytes()
}

// AppendStatusResponse appends the TLV payload of m (spec 8.9.1).
func AppendStatusResponse(b []byte, m *StatusResponse) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.PutUint(ctx(0), uint64(m.Status))
	putRevision(w, m.Revision)
	w.EndContainer()
	return w.Bytes()
}

// ---- decoders ----

// dec carries the reader and the message name for error context.
type dec struct {
	r   *tlv.Reader
	msg string
}

func (d *dec) fail(field string, err error) error {
	var de *DecodeError
	if errors.As(err, &de) {
		return err
	}
	return &DecodeError{Message: d.msg, Field: field, Err: err}
}

// top decodes b as one anonymous structure and calls member for each
// member; nothing may follow the structure.
func decodeTop(b []byte, msg string, member func(d *dec, tag uint8) error) error {
	d := &dec{r: tlv.NewReader(b), msg: msg}
	if err := d.r.Next(); err != nil {
		if err == io.EOF {
			err = ErrMissingField
		}
		return d.fail("", err)
	}
	if d.r.Type() != tlv.Struct {
		return d.fail("", ErrWrongType)
	}
	if err := d.each("", member); err != nil {
		return err
	}
	if err := d.r.Next(); err != io.EOF {
		if err == nil {
			err = ErrTrailingData
		}
		return d.fail("", err)
	}
	return nil
}

// each enters the current container and calls fn for every member with a
// context tag (other tags are skipped: spec 8.1.1 tolerance), then exits.
func (d *dec) each(field string, fn func(d *dec, tag uint8) error) error {
	if !d.r.Type().IsContainer() {
		return d.fail(field, ErrWrongType)
	}
	if err := d.r.Enter(); err != nil {
		return d.fail(field, err)
	}
	for {
		err := d.r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return d.fail(field, err)
		}
		t := d.r.Tag()
		if t.Form != tlv.Context {
			continue
		}
		if err := fn(d, uint8(t.Number)); err != nil {
			return err
		}
	}
	if err := d.r.Exit(); err != nil {
		return d.fail(field, err)
	}
	return nil
}

// elems enters an array or list and calls fn for every member.
func (d *dec) elems(field string, fn func(d *dec) error) error {
	if !d.r.Type().IsContainer() {
		return d.fail(field, ErrWrongType)
	}
	if err := d.r.Enter(); err != nil {
		return d.fail(field, err)
	}
	for {
		err := d.r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return d.fail(field, err)
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	if err := d.r.Exit(); err != nil {
		return d.fail(field, err)
	}
	return nil
}

func (d *dec) u8(field string) (uint8, error) {
	v, err := d.r.Uint8()
	if err != nil {
		return 0, d.fail(field, err)
	}
	return v, nil
}

func (d *dec) u16(field string) (uint16, error) {
	v, err := d.r.Uint16()
	if err != nil {
		return 0, d.fail(field, err)
	}
	return v, nil
}

func (d *dec) u32(field string) (uint32, error) {
	v, err := d.r.Uint32()
	if err != nil {
		return 0, d.fail(field, err)
	}
	return v, nil
}

func (d *dec) u64(field string) (uint64, error) {
	v, err := d.r.Uint()
	if err != nil {
		return 0, d.fail(field, err)
	}
	return v, nil
}

func (d *dec) boolean(field string) (bool, error) {
	v, err := d.r.Bool()
	if err != nil {
		return false, d.fail(field, err)
	}
	return v, nil
}

func (d *dec) value(field string) (Value, error) {
	v, err := rawValue(d.r)
	if err != nil {
		return nil, d.fail(field, err)
	}
	return v, nil
}

func (d *dec) attributePath(field string, p *AttributePath) error {
	*p = AttributePathWildcard()
	return d.each(field, func(d *dec, tag uint8) (err error) {
		switch tag {
		case 0:
			p.EnableTagCompression, err = d.boolean(field + ".EnableTagCompression")
		case 1:
			p.Node, err = d.u64(field + ".Node")
			p.HasNode = true
		case 2:
			p.Endpoint, err = d.u16(field + ".Endpoint")
		case 3:
			p.Cluster, err = d.u32(field + ".Cluster")
		case 4:
			p.Attribute, err = d.u32(field + ".Attribute")
		case 5:
			p.ListIndex.Present = true
			if d.r.IsNull() {
				p.ListIndex.Null = true
			} else {
				p.ListIndex.Index, err = d.u16(field + ".ListIndex")
			}
		case 6:
			p.WildcardPathFlags, err = d.u32(field + ".WildcardPathFlags")
		}
		return err
	})
}

func (d *dec) commandPath(field string, p *CommandPath) error {
	*p = CommandPath{Endpoint: WildcardEndpoint}
	var hasCluster, hasCommand bool
	err := d.each(field, func(d *dec, tag uint8) (err error) {
		switch tag {
		case 0:
			p.Endpoint, err = d.u16(field + ".Endpoint")
		case 1:
			p.Cluster, err = d.u32(field + ".Cluster")
			hasCluster = true
		case 2:
			p.Command, err = d.u32(field + ".Command")
			hasCommand = true
		}
		return err
	})
	if err == nil && (!hasCluster || !hasCommand) {
		err = d.fail(field, ErrMissingField)
	}
	return err
}

func (d *dec) statusIB(field string, s *StatusIB) error {
	*s = StatusIB{}
	var has bool
	err := d.each(field, func(d *dec, tag uint8) (err error) {
		switch tag {
		case 0:
			var v uint8
			v, err = d.u8(field + ".Status")
			s.Status, has = Status(v), true
		case 1:
			s.ClusterStatus, err = d.u8(field + ".ClusterStatus")
			s.HasClusterStatus = true
		}
		return err
	})
	if err == nil && !has {
		err = d.fail(field, ErrMissingField)
	}
	return err
}

func (d *dec) commandData(field string, c *CommandData) error {
	*c = CommandData{}
	var hasPath bool
	err := d.each(field, func(d *dec, tag uint8) (err error) {
		switch tag {
		case 0:
			err, hasPath = d.commandPath(field+".CommandPath", &c.Path), true
		case 1:
			c.Fields, err = d.value(field + ".CommandFields")
		case 2:
			c.Ref, err = d.u16(field + ".CommandRef")
			c.HasRef = true
		}
		return err
	})
	if err == nil && !hasPath {
		err = d.fail(field+".CommandPath", ErrMissingField)
	}
	return err
}

// DecodeReadRequest decodes a ReadRequest payload into m (spec 8.9.2).
func DecodeReadRequest(b []byte, m *ReadRequest) error {
	*m = ReadRequest{}
	return decodeTop(b, "ReadRequest", func(d *dec, tag uint8) (err error) {
		switch tag {
		case 0:
			m.AttributeRequests = make([]AttributePath, 0, 4)
			err = d.elems("AttributeRequests", func(d *dec) error {
				var p AttributePath
				if err := d.attributePath("AttributeRequests", &p); err != nil {
					return err
				}
				m.AttributeRequests = append(m.AttributeRequests, p)
				return nil
			})
		case 1:
			m.EventRequests, err = d.value("EventRequests")
		case 2:
			m.EventFilters, err = d.value("EventFilters")
		case 3:
			m.IsFabricFiltered, err = d.boolean("IsFabricFiltered")
		case 4:
			m.DataVersionFilters = make([]DataVersionFilter, 0, 2)
			err = d.elems("DataVersionFilters", func(d *dec) error {
				f, err := d.dataVersionFilter()
				if err == nil {
					m.DataVersionFilters = append(m.DataVersionFilters, f)
				}
				return err
			})
		case tagRevision:
			m.Revision, err = d.u8("InteractionModelRevision")
		}
		return err
	})
}

func (d *dec) dataVersionFilter() (DataVersionFilter, error) {
	const field = "DataVersionFilters"
	var f DataVersionFilter
	var hasPath, hasVersion, hasEp, hasCluster bool
	err := d.each(field, func(d *dec, tag uint8) (err error) {
		switch tag {
		case 0:
			hasPath = true
			err = d.each(field+".Path", func(d *dec, tag uint8) (err error) {
				switch tag {
				case 0:
					f.Path.Node, err = d.u64(field + ".Path.Node")
					f.Path.HasNode = true
				case 1:
					f.Path.Endpoint, err = d.u16(field + ".Path.Endpoint")
					hasEp = true
				case 2:
					f.Path.Cluster, err = d.u32(field + ".Path.Cluster")
					hasCluster = true
				}
				return err
			})
		case 1:
			f.DataVersion, err = d.u32(field + ".DataVersion")
			hasVersion = true
		}
		return err
	})
	if err == nil && !(hasPath && hasVersion && hasEp && hasCluster) {
		err = d.fail(field, ErrMissingField)
	}
	return f, err
}

// DecodeReportData decodes a ReportData payload into m (spec 8.9.3).
// Paths with EnableTagCompression set inherit the omitted fields from the
// previous report's path (spec 8.10.2.1), so callers always see full paths.
func DecodeReportData(b []byte, m *ReportData) error {
	*m = ReportData{}
	return decodeTop(b, "ReportData", func(d *dec, tag uint8) (err error) {
		switch tag {
		case 0:
			m.SubscriptionID, err = d.u32("SubscriptionId")
			m.HasSubscriptionID = true
		case 1:
			m.AttributeReports = make([]AttributeReport, 0, 4)
			err = d.elems("AttributeReports", func(d *dec) error {
				r, err := d.attributeReport()
				if err != nil {
					return err
				}
				if r.Path.EnableTagCompression && len(m.AttributeReports) > 0 {
					decompress(&r.Path, &m.AttributeReports[len(m.AttributeReports)-1].Path)
				}
				m.AttributeReports = append(m.AttributeReports, r)
				return nil
			})
		case 2:
			m.EventReports, err = d.value("EventReports")
		case 3:
			m.MoreChunkedMessages, err = d.boolean("MoreChunkedMessages")
		case 4:
			m.SuppressResponse, err = d.boolean("SuppressResponse")
		case tagRevision:
			m.Revision, err = d.u8("InteractionModelRevision")
		}
		return err
	})
}

func decompress(p, prev *AttributePath) {
	if !p.HasNode && prev.HasNode {
		p.Node, p.HasNode = prev.Node, true
	}
	if p.Endpoint == WildcardEndpoint {
		p.Endpoint = prev.Endpoint
	}
	if p.Cluster == WildcardCluster {
		p.Cluster = prev.Cluster
	}
	if p.Attribute == WildcardAttribute {
		p.Attribute = prev.Attribute
	}
}

func (d *dec) attributeReport() (AttributeReport, error) {
	const field = "AttributeReportIB"
	var r AttributeReport
	var seen bool
	err := d.each(field, func(d *dec, tag uint8) error {
		switch tag {
		case 0: // AttributeStatusIB; a later IB replaces an earlier one
			seen, r = true, AttributeReport{}
			var hasPath, hasStatus bool
			err := d.each(field+".AttributeStatus", func(d *dec, tag uint8) (err error) {
				switch tag {
				case 0:
					err, hasPath = d.attributePath(field+".AttributeStatus.Path", &r.Path), true
				case 1:
					err, hasStatus = d.statusIB(field+".AttributeStatus.Status", &r.Status), true
				}
				return err
			})
			if err == nil && !(hasPath && hasStatus) {
				err = d.fail(field+".AttributeStatus", ErrMissingField)
			}
			return err
		case 1: // AttributeDataIB
			seen, r = true, AttributeReport{}
			var hasPath bool
			err := d.each(field+".AttributeData", func(d *dec, tag uint8) (err error) {
				switch tag {
				case 0:
					r.DataVersion, err = d.u32(field + ".AttributeData.DataVersion")
					r.HasDataVersion = true
				case 1:
					err, hasPath = d.attributePath(field+".AttributeData.Path", &r.Path), true
				case 2:
					r.Data, err = d.value(field + ".AttributeData.Data")
				}
				return err
			})
			if err == nil && !(hasPath && r.Data != nil) {
				err = d.fail(field+".AttributeData", ErrMissingField)
			}
			return err
		}
		return nil
	})
	if err == nil && !seen {
		err = d.fail(field, ErrMissingField)
	}
	return r, err
}

// DecodeInvokeRequest decodes an InvokeRequest payload into m (spec
// 8.9.9). SuppressResponse, TimedRequest and InvokeRequests are required.
func DecodeInvokeRequest(b []byte, m *InvokeRequest) error {
	*m = InvokeRequest{}
	var hasSuppress, hasTimed, hasReqs bool
	err := decodeTop(b, "InvokeRequest", func(d *dec, tag uint8) (err error) {
		switch tag {
		case 0:
			m.SuppressResponse, err = d.boolean("SuppressResponse")
			hasSuppress = true
		case 1:
			m.TimedRequest, err = d.boolean("TimedRequest")
			hasTimed = true
		case 2:
			hasReqs = true
			m.Requests = make([]CommandData, 0, 1)
			err = d.elems("InvokeRequests", func(d *dec) error {
				var c CommandData
				if err := d.commandData("InvokeRequests", &c); err != nil {
					return err
				}
				m.Requests = append(m.Requests, c)
				return nil
			})
		case tagRevision:
			m.Revision, err = d.u8("InteractionModelRevision")
		}
		return err
	})
	if err == nil && !(hasSuppress && hasTimed && hasReqs) {
		err = &DecodeError{Message: "InvokeRequest", Err: ErrMissingField}
	}
	return err
}

// DecodeInvokeResponse decodes an InvokeResponse payload into m (spec
// 8.9.10). InvokeResponses is required.
func DecodeInvokeResponse(b []byte, m *InvokeResponse) error {
	*m = InvokeResponse{}
	var hasResps bool
	err := decodeTop(b, "InvokeResponse", func(d *dec, tag uint8) (err error) {
		switch tag {
		case 0:
			m.SuppressResponse, err = d.boolean("SuppressResponse")
		case 1:
			hasResps = true
			m.Responses = make([]InvokeResponseIB, 0, 1)
			err = d.elems("InvokeResponses", func(d *dec) error {
				r, err := d.invokeResponseIB()
				if err == nil {
					m.Responses = append(m.Responses, r)
				}
				return err
			})
		case 2:
			m.MoreChunkedMessages, err = d.boolean("MoreChunkedMessages")
		case tagRevision:
			m.Revision, err = d.u8("InteractionModelRevision")
		}
		return err
	})
	if err == nil && !hasResps {
		err = &DecodeError{Message: "InvokeResponse", Field: "InvokeResponses", Err: ErrMissingField}
	}
	return err
}

func (d *dec) invokeResponseIB() (InvokeResponseIB, error) {
	const field = "InvokeResponseIB"
	var r InvokeResponseIB
	var seen bool
	err := d.each(field, func(d *dec, tag uint8) error {
		switch tag {
		case 0: // a later IB replaces an earlier one
			seen, r = true, InvokeResponseIB{}
			return d.commandData(field+".Command", &r.Command)
		case 1:
			seen, r = true, InvokeResponseIB{IsStatus: true}
			var hasPath, hasStatus bool
			err := d.each(field+".Status", func(d *dec, tag uint8) (err error) {
				switch tag {
				case 0:
					err, hasPath = d.commandPath(field+".Status.CommandPath", &r.Status.Path), true
				case 1:
					err, hasStatus = d.statusIB(field+".Status.Status", &r.Status.Status), true
				case 2:
					r.Status.Ref, err = d.u16(field + ".Status.CommandRef")
					r.Status.HasRef = true
				}
				return err
			})
			if err == nil && !(hasPath && hasStatus) {
				err = d.fail(field+".Status", ErrMissingField)
			}
			return err
		}
		return nil
	})
	if err == nil && !seen {
		err = d.fail(field, ErrMissingField)
	}
	return r, err
}

// DecodeStatusResponse decodes a StatusResponse payload into m (spec 8.9.1).
func DecodeStatusResponse(b []byte, m *StatusResponse) error {
	*m = StatusResponse{}
	var has bool
	err := decodeTop(b, "StatusResponse", func(d *dec, tag uint8) (err error) {
		switch tag {
		case 0:
			var v uint8
			v, err = d.u8("Status")
			m.Status, has = Status(v), true
		case tagRevision:
			m.Revision, err = d.u8("InteractionModelRevision")
		}
		return err
	})
	if err == nil && !has {
		err = &DecodeError{Message: "StatusResponse", Field: "Status", Err: ErrMissingField}
	}
	return err
}
