package im

import "mattersim/tlv"

// SubscribeRequest is a SubscribeRequestMessage (Subscribe interaction,
// spec 8.5; message spec 8.9.4, opcode 0x03). Tags, as matter.js
// (@matter/types packages/types/src/protocol/messages/TlvSubscribeRequest.ts)
// and connectedhomeip (src/app/MessageDef/SubscribeRequestMessage.h) number
// them: 0 KeepSubscriptions, 1 MinIntervalFloorSeconds, 2
// MaxIntervalCeilingSeconds, 3 AttributeRequests, 4 EventRequests, 5
// EventFilters, 7 IsFabricFiltered, 8 DataVersionFilters, 0xFF revision.
// Tags 0, 1, 2 and 7 are required. Event requests and filters are kept raw
// (this package has no events); nil when absent.
type SubscribeRequest struct {
	KeepSubscriptions  bool
	MinIntervalFloor   uint16 // seconds
	MaxIntervalCeiling uint16 // seconds
	AttributeRequests  []AttributePath
	EventRequests      Value
	EventFilters       Value
	IsFabricFiltered   bool
	DataVersionFilters []DataVersionFilter
	Revision           uint8
}

// SubscribeResponse is a SubscribeResponseMessage (spec 8.9.5, opcode
// 0x04): tag 0 SubscriptionId (required), tag 2 MaxInterval in seconds
// (required; tag 1, the old MinIntervalFloor, is gone from the spec),
// 0xFF revision.
type SubscribeResponse struct {
	SubscriptionID uint32
	MaxInterval    uint16 // seconds
	Revision       uint8
}

// NewSubscribeRequest returns a SubscribeRequest for paths with the given
// interval bounds in seconds, fabric-filtered, KeepSubscriptions false
// (a new subscription replaces the client's earlier ones, spec 8.5), as
// the SDK's ReadClient sends by default.
func NewSubscribeRequest(minFloor, maxCeiling uint16, paths ...AttributePath) *SubscribeRequest {
	return &SubscribeRequest{
		MinIntervalFloor: minFloor, MaxIntervalCeiling: maxCeiling,
		AttributeRequests: paths, IsFabricFiltered: true, Revision: Revision,
	}
}

// AppendSubscribeRequest appends the TLV payload of m.
func AppendSubscribeRequest(b []byte, m *SubscribeRequest) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBool(ctx(0), m.KeepSubscriptions)
	w.PutUint(ctx(1), uint64(m.MinIntervalFloor))
	w.PutUint(ctx(2), uint64(m.MaxIntervalCeiling))
	if m.AttributeRequests != nil {
		w.StartArray(ctx(3))
		for i := range m.AttributeRequests {
			putAttributePath(w, tlv.AnonymousTag(), &m.AttributeRequests[i])
		}
		w.EndContainer()
	}
	if m.EventRequests != nil {
		putValue(w, 4, m.EventRequests)
	}
	if m.EventFilters != nil {
		putValue(w, 5, m.EventFilters)
	}
	w.PutBool(ctx(7), m.IsFabricFiltered)
	if m.DataVersionFilters != nil {
		putDataVersionFilters(w, 8, m.DataVersionFilters)
	}
	putRevision(w, m.Revision)
	w.EndContainer()
	return w.Bytes()
}

func putDataVersionFilters(w *tlv.Writer, tag uint8, fs []DataVersionFilter) {
	w.StartArray(ctx(tag))
	for _, f := range fs {
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

// DecodeSubscribeRequest decodes a SubscribeRequest payload into m.
func DecodeSubscribeRequest(b []byte, m *SubscribeRequest) error {
	*m = SubscribeRequest{}
	var hasKeep, hasMin, hasMax, hasFabric bool
	err := decodeTop(b, "SubscribeRequest", func(d *dec, tag uint8) (err error) {
		switch tag {
		case 0:
			m.KeepSubscriptions, err = d.boolean("KeepSubscriptions")
			hasKeep = true
		case 1:
			m.MinIntervalFloor, err = d.u16("MinIntervalFloorSeconds")
			hasMin = true
		case 2:
			m.MaxIntervalCeiling, err = d.u16("MaxIntervalCeilingSeconds")
			hasMax = true
		case 3:
			m.AttributeRequests, err = d.attributePaths("AttributeRequests")
		case 4:
			m.EventRequests, err = d.value("EventRequests")
		case 5:
			m.EventFilters, err = d.value("EventFilters")
		case 7:
			m.IsFabricFiltered, err = d.boolean("IsFabricFiltered")
			hasFabric = true
		case 8:
			m.DataVersionFilters, err = d.dataVersionFilters()
		case tagRevision:
			m.Revision, err = d.u8("InteractionModelRevision")
		}
		return err
	})
	if err == nil && !(hasKeep && hasMin && hasMax && hasFabric) {
		err = &DecodeError{Message: "SubscribeRequest", Err: ErrMissingField}
	}
	return err
}

func (d *dec) attributePaths(field string) ([]AttributePath, error) {
	out := make([]AttributePath, 0, 4)
	err := d.elems(field, func(d *dec) error {
		var p AttributePath
		if err := d.attributePath(field, &p); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

func (d *dec) dataVersionFilters() ([]DataVersionFilter, error) {
	out := make([]DataVersionFilter, 0, 2)
	err := d.elems("DataVersionFilters", func(d *dec) error {
		f, err := d.dataVersionFilter()
		if err == nil {
			out = append(out, f)
		}
		return err
	})
	return out, err
}

// AppendSubscribeResponse appends the TLV payload of m.
func AppendSubscribeResponse(b []byte, m *SubscribeResponse) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.PutUint(ctx(0), uint64(m.SubscriptionID))
	w.PutUint(ctx(2), uint64(m.MaxInterval))
	putRevision(w, m.Revision)
	w.EndContainer()
	return w.Bytes()
}

// DecodeSubscribeResponse decodes a SubscribeResponse payload into m.
func DecodeSubscribeResponse(b []byte, m *SubscribeResponse) error {
	*m = SubscribeResponse{}
	var hasID, hasMax bool
	err := decodeTop(b, "SubscribeResponse", func(d *dec, tag uint8) (err error) {
		switch tag {
		case 0:
			m.SubscriptionID, err = d.u32("SubscriptionId")
			hasID = true
		case 2:
			m.MaxInterval, err = d.u16("MaxInterval")
			hasMax = true
		case tagRevision:
			m.Revision, err = d.u8("InteractionModelRevision")
		}
		return err
	})
	if err == nil && !(hasID && hasMax) {
		err = &DecodeError{Message: "SubscribeResponse", Err: ErrMissingField}
	}
	return err
}

// ParseSubscribeResponse decodes the message that ends a Subscribe
// interaction's setup: a SubscribeResponse, or a StatusResponse, which
// becomes a *StatusError.
func ParseSubscribeResponse(op Opcode, payload []byte) (*SubscribeResponse, error) {
	switch op {
	case OpSubscribeResponse:
		var m SubscribeResponse
		if err := DecodeSubscribeResponse(payload, &m); err != nil {
			return nil, err
		}
		return &m, nil
	case OpStatusResponse:
		return nil, statusResponseErr(payload)
	}
	return nil, &UnexpectedError{Got: op, Want: "SubscribeResponse"}
}

// UnexpectedError reports a message of the wrong opcode for the state of
// an interaction.
type UnexpectedError struct {
	Got  Opcode
	Want string
}

func (e *UnexpectedError) Error() string {
	return "im: unexpected " + e.Got.String() + ", want " + e.Want
}
