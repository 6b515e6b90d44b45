package pase

import (
	"fmt"
	"io"
	"time"

	"mattersim/tlv"
)

// This file is the only place that knows the session-parameter struct
// (spec 4.12.8 "Session Parameters"; TLV tags 1-9, all optional). It is a
// stand-in written while mattersim/session/params (helper C1) was not yet
// in the tree: when that package lands, SessionParams becomes an alias of
// params.Params and the three functions below delegate to it.

// SessionParams are the session parameters a peer advertises in tag 5 of
// PBKDFParamRequest/Response. Zero durations/revisions mean "not sent";
// Default fills them. The zero value is usable.
type SessionParams struct {
	IdleInterval             time.Duration // tag 1, SESSION_IDLE_INTERVAL (ms)
	ActiveInterval           time.Duration // tag 2, SESSION_ACTIVE_INTERVAL (ms)
	ActiveThreshold          time.Duration // tag 3, SESSION_ACTIVE_THRESHOLD (ms)
	DataModelRevision        uint16        // tag 4
	InteractionModelRevision uint16        // tag 5
	SpecificationVersion     uint32        // tag 6
	MaxPathsPerInvoke        uint16        // tag 7
	SupportedTransports      uint16        // tag 8 (matter.js sends it)
	MaxTCPMessageSize        uint32        // tag 9
}

// Spec 2.12 / 4.12.8 defaults (connectedhomeip ReliableMessageProtocolConfig.h,
// matter.js SessionParameters defaults).
const (
	defaultIdle            = 500 * time.Millisecond
	defaultActive          = 300 * time.Millisecond
	defaultActiveThreshold = 4000 * time.Millisecond
	defaultMaxPaths        = 1
)

func defaultParams() SessionParams {
	return SessionParams{
		IdleInterval:      defaultIdle,
		ActiveInterval:    defaultActive,
		ActiveThreshold:   defaultActiveThreshold,
		MaxPathsPerInvoke: defaultMaxPaths,
	}
}

// withDefaults fills missing fields.
func (p SessionParams) withDefaults() SessionParams {
	d := defaultParams()
	if p.IdleInterval == 0 {
		p.IdleInterval = d.IdleInterval
	}
	if p.ActiveInterval == 0 {
		p.ActiveInterval = d.ActiveInterval
	}
	if p.ActiveThreshold == 0 {
		p.ActiveThreshold = d.ActiveThreshold
	}
	if p.MaxPathsPerInvoke == 0 {
		p.MaxPathsPerInvoke = d.MaxPathsPerInvoke
	}
	return p
}

// appendParams writes p as a structure with tag t, members in tag order,
// omitting zero fields.
func appendParams(w *tlv.Writer, t tlv.Tag, p *SessionParams) {
	w.StartStruct(t)
	put := func(n uint8, v uint64) {
		if v != 0 {
			w.PutUint(tlv.ContextTag(n), v)
		}
	}
	put(1, uint64(p.IdleInterval/time.Millisecond))
	put(2, uint64(p.ActiveInterval/time.Millisecond))
	put(3, uint64(p.ActiveThreshold/time.Millisecond))
	put(4, uint64(p.DataModelRevision))
	put(5, uint64(p.InteractionModelRevision))
	put(6, uint64(p.SpecificationVersion))
	put(7, uint64(p.MaxPathsPerInvoke))
	put(8, uint64(p.SupportedTransports))
	put(9, uint64(p.MaxTCPMessageSize))
	w.EndContainer()
}

// decodeParams reads the structure at r's current element. Unknown tags are
// ignored, integers of any width accepted if they fit, missing fields take
// defaults.
func decodeParams(r *tlv.Reader) (SessionParams, error) {
	var p SessionParams
	if r.Type() != tlv.Struct {
		return p, fmt.Errorf("is %s, want a structure", r.Type())
	}
	if err := r.Enter(); err != nil {
		return p, err
	}
	for {
		err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return p, err
		}
		t := r.Tag()
		if t.Form != tlv.Context {
			continue
		}
		var v uint64
		switch t.Number {
		case 1, 2, 6, 9:
			var u uint32
			u, err = r.Uint32()
			v = uint64(u)
		case 3, 4, 5, 7, 8:
			var u uint16
			u, err = r.Uint16()
			v = uint64(u)
		default:
			continue
		}
		if err != nil {
			return p, err
		}
		switch t.Number {
		case 1:
			p.IdleInterval = time.Duration(v) * time.Millisecond
		case 2:
			p.ActiveInterval = time.Duration(v) * time.Millisecond
		case 3:
			p.ActiveThreshold = time.Duration(v) * time.Millisecond
		case 4:
			p.DataModelRevision = uint16(v)
		case 5:
			p.InteractionModelRevision = uint16(v)
		case 6:
			p.SpecificationVersion = uint32(v)
		case 7:
			p.MaxPathsPerInvoke = uint16(v)
		case 8:
			p.SupportedTransports = uint16(v)
		case 9:
			p.MaxTCPMessageSize = uint32(v)
		}
	}
	if err := r.Exit(); err != nil {
		return p, err
	}
	return p.withDefaults(), nil
}
