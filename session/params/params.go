// Package params is the session-parameter structure a peer advertises
// during PASE and CASE (spec 4.12.8 "session-parameter-struct"; carried in
// PBKDFParamRequest/Response tag 5, Sigma1/Sigma2 tag 5, Sigma2_Resume
// tag 4).
//
// Every field is optional on the wire. Params keeps which fields were
// present (Has), so "absent" is distinguishable from any value; Effective
// applies the spec defaults for the absent ones. Fields are read in tag
// order and whatever follows them is ignored (see Decode),
// integers of any width are accepted if they fit the field, and a value too
// wide for its field is a *RangeError (as the SDK's typed TLV Get fails).
//
// Sources: connectedhomeip src/transport/SessionParameters.h and
// src/protocols/secure_channel/PairingSession.cpp (EncodeSessionParameters,
// DecodeMRPParametersIfPresent); matter.js
// packages/protocol/src/session/pase/PaseMessages.ts (TlvSessionParameters).
package params

import (
	"errors"
	"fmt"
	"io"
	"time"

	"mattersim/tlv"
)

// Field identifies one member; its value is the context tag number.
type Field uint8

// Fields (context tags of the session-parameter struct, spec 4.12.8).
const (
	IdleInterval             Field = 1 // SESSION_IDLE_INTERVAL, u32 ms
	ActiveInterval           Field = 2 // SESSION_ACTIVE_INTERVAL, u32 ms
	ActiveThreshold          Field = 3 // SESSION_ACTIVE_THRESHOLD, u16 ms
	DataModelRevision        Field = 4 // u16 (Matter 1.3+)
	InteractionModelRevision Field = 5 // u16 (Matter 1.3+)
	SpecificationVersion     Field = 6 // u32, 0xMMmmpp00 (Matter 1.3+)
	MaxPathsPerInvoke        Field = 7 // u16 (Matter 1.3+)
	SupportedTransports      Field = 8 // bitmap16 (Matter 1.4, TCP)
	MaxTCPMessageSize        Field = 9 // u32, only with TCP in SupportedTransports
)

var fieldNames = [...]string{
	IdleInterval:             "idle-interval",
	ActiveInterval:           "active-interval",
	ActiveThreshold:          "active-threshold",
	DataModelRevision:        "data-model-revision",
	InteractionModelRevision: "interaction-model-revision",
	SpecificationVersion:     "specification-version",
	MaxPathsPerInvoke:        "max-paths-per-invoke",
	SupportedTransports:      "supported-transports",
	MaxTCPMessageSize:        "max-tcp-message-size",
}

// String returns the field's name, or "field(N)".
func (f Field) String() string {
	if f >= 1 && int(f) < len(fieldNames) {
		return fieldNames[f]
	}
	return fmt.Sprintf("field(%d)", uint8(f))
}

// maxValue is the largest value each field's wire type holds.
func (f Field) maxValue() uint64 {
	switch f {
	case ActiveThreshold, DataModelRevision, InteractionModelRevision, MaxPathsPerInvoke, SupportedTransports:
		return 0xFFFF
	}
	return 0xFFFFFFFF
}

// Transports is the SupportedTransports bitmap (tag 8; matter.js
// SupportedTransportsBitmap: bit 0 reserved).
type Transports uint16

// Transport bits.
const (
	TCPClient Transports = 1 << 1
	TCPServer Transports = 1 << 2
)

// Spec defaults for absent fields (spec 4.12.8 and 2.12 MRP parameters;
// connectedhomeip ReliableMessageProtocolConfig.h; matter.js
// SessionIntervals.defaults).
const (
	DefaultIdleInterval      = 500 * time.Millisecond
	DefaultActiveInterval    = 300 * time.Millisecond
	DefaultActiveThreshold   = 4000 * time.Millisecond
	DefaultMaxPathsPerInvoke = 1
	DefaultMaxTCPMessageSize = 64000
)

// MaxInterval is the spec maximum of SESSION_IDLE_INTERVAL and
// SESSION_ACTIVE_INTERVAL (1 hour, spec 4.3.4 / 2.12). The wire field is a
// u32 and the SDK accepts any value, so Decode keeps the value as sent and
// Effective clamps it.
const MaxInterval = time.Hour

// Params is a session-parameter struct. A field's value is meaningful only
// if Has reports it present; Set marks it present. Durations are whole
// milliseconds on the wire (Append truncates). The zero value is an empty
// struct (every field absent) and is usable. Params is a plain value, not
// safe for concurrent mutation.
type Params struct {
	IdleInterval             time.Duration // tag 1
	ActiveInterval           time.Duration // tag 2
	ActiveThreshold          time.Duration // tag 3
	DataModelRevision        uint16        // tag 4
	InteractionModelRevision uint16        // tag 5
	SpecificationVersion     uint32        // tag 6
	MaxPathsPerInvoke        uint16        // tag 7
	SupportedTransports      Transports    // tag 8
	MaxTCPMessageSize        uint32        // tag 9

	present uint16 // bit f set <=> Field f present
}

// Has reports whether field f is present.
func (p *Params) Has(f Field) bool { return f >= 1 && f <= MaxTCPMessageSize && p.present&(1<<f) != 0 }

// Set marks field f present (its value is the struct field's).
func (p *Params) Set(f Field) {
	if f >= 1 && f <= MaxTCPMessageSize {
		p.present |= 1 << f
	}
}

// Clear marks field f absent.
func (p *Params) Clear(f Field) { p.present &^= 1 << f }

// Local returns the parameters a node of this simulator advertises: the
// SDK writes tags 1-7 (PairingSession.cpp EncodeSessionParameters), with
// the spec default intervals and Matter 1.4 revisions.
func Local() Params {
	p := Params{
		IdleInterval:             DefaultIdleInterval,
		ActiveInterval:           DefaultActiveInterval,
		ActiveThreshold:          DefaultActiveThreshold,
		DataModelRevision:        LocalDataModelRevision,
		InteractionModelRevision: LocalInteractionModelRevision,
		SpecificationVersion:     LocalSpecificationVersion,
		MaxPathsPerInvoke:        DefaultMaxPathsPerInvoke,
	}
	for f := IdleInterval; f <= MaxPathsPerInvoke; f++ {
		p.Set(f)
	}
	return p
}

// Revisions Local advertises (connectedhomeip src/app/SpecificationDefinedRevisions.h,
// Matter 1.4: data model 18, interaction model 12, spec 0x01040000).
const (
	LocalDataModelRevision        = 18
	LocalInteractionModelRevision = 12
	LocalSpecificationVersion     = 0x01040000
)

// Effective returns p with every absent field set to its spec default and
// SII/SAI clamped to MaxInterval. The revision fields have no default and
// stay 0 when absent (spec: "not present" means an older peer). Presence
// bits are kept as they were, so callers can still tell what was sent.
func (p Params) Effective() Params {
	if !p.Has(IdleInterval) {
		p.IdleInterval = DefaultIdleInterval
	}
	if !p.Has(ActiveInterval) {
		p.ActiveInterval = DefaultActiveInterval
	}
	if !p.Has(ActiveThreshold) {
		p.ActiveThreshold = DefaultActiveThreshold
	}
	if !p.Has(MaxPathsPerInvoke) {
		p.MaxPathsPerInvoke = DefaultMaxPathsPerInvoke
	}
	if !p.Has(MaxTCPMessageSize) {
		p.MaxTCPMessageSize = DefaultMaxTCPMessageSize
	}
	p.IdleInterval = min(p.IdleInterval, MaxInterval)
	p.ActiveInterval = min(p.ActiveInterval, MaxInterval)
	return p
}

// value returns field f as its wire integer.
func (p *Params) value(f Field) uint64 {
	switch f {
	case IdleInterval:
		return durMS(p.IdleInterval, 0xFFFFFFFF)
	case ActiveInterval:
		return durMS(p.ActiveInterval, 0xFFFFFFFF)
	case ActiveThreshold:
		return durMS(p.ActiveThreshold, 0xFFFF)
	case DataModelRevision:
		return uint64(p.DataModelRevision)
	case InteractionModelRevision:
		return uint64(p.InteractionModelRevision)
	case SpecificationVersion:
		return uint64(p.SpecificationVersion)
	case MaxPathsPerInvoke:
		return uint64(p.MaxPathsPerInvoke)
	case SupportedTransports:
		return uint64(p.SupportedTransports)
	case MaxTCPMessageSize:
		return uint64(p.MaxTCPMessageSize)
	}
	return 0
}

// durMS converts d to whole milliseconds, saturating at 0 and max.
func durMS(d time.Duration, max uint64) uint64 {
	if d <= 0 {
		return 0
	}
	ms := uint64(d / time.Millisecond)
	return min(ms, max)
}

func (p *Params) setValue(f Field, v uint64) {
	switch f {
	case IdleInterval:
		p.IdleInterval = time.Duration(v) * time.Millisecond
	case ActiveInterval:
		p.ActiveInterval = time.Duration(v) * time.Millisecond
	case ActiveThreshold:
		p.ActiveThreshold = time.Duration(v) * time.Millisecond
	case DataModelRevision:
		p.DataModelRevision = uint16(v)
	case InteractionModelRevision:
		p.InteractionModelRevision = uint16(v)
	case SpecificationVersion:
		p.SpecificationVersion = uint32(v)
	case MaxPathsPerInvoke:
		p.MaxPathsPerInvoke = uint16(v)
	case SupportedTransports:
		p.SupportedTransports = Transports(v)
	case MaxTCPMessageSize:
		p.MaxTCPMessageSize = uint32(v)
	}
	p.Set(f)
}

// Encode writes p as a structure with tag t: the present fields in tag
// order, each in its shortest integer form. Durations saturate at the wire
// type's maximum.
func (p Params) Encode(w *tlv.Writer, t tlv.Tag) {
	w.StartStruct(t)
	for f := IdleInterval; f <= MaxTCPMessageSize; f++ {
		if p.Has(f) {
			w.PutUint(tlv.ContextTag(uint8(f)), p.value(f))
		}
	}
	w.EndContainer()
}

// Append appends p encoded as an anonymous structure to b.
func (p Params) Append(b []byte) []byte {
	w := tlv.NewWriter(b)
	p.Encode(w, tlv.AnonymousTag())
	return w.Bytes()
}

// RangeError is a field whose value does not fit its wire type (for
// example SESSION_ACTIVE_THRESHOLD above 65535 ms).
type RangeError struct {
	Field Field
	Value uint64
	Max   uint64
}

var _ error = (*RangeError)(nil)

func (e *RangeError) Error() string {
	return fmt.Sprintf("params: %s = %d exceeds %d", e.Field, e.Value, e.Max)
}

// DecodeError wraps a TLV error met while reading field Field (0 when the
// structure itself is at fault).
type DecodeError struct {
	Field Field
	Err   error
}

var _ error = (*DecodeError)(nil)

func (e *DecodeError) Error() string {
	if e.Field == 0 {
		return "params: " + e.Err.Error()
	}
	return fmt.Sprintf("params: %s: %v", e.Field, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

var (
	// errNotStruct is reported when the element is not a structure.
	errNotStruct = errors.New("session parameters are not a structure")
	// errEmpty is reported for an empty structure.
	errEmpty = errors.New("empty structure (the SDK refuses it)")
)

// Decode reads the structure r is positioned on, as connectedhomeip
// PairingSession::DecodeSessionParametersIfPresent does: the fields are
// read in tag order, each optional (idle interval 1, active interval 2,
// active threshold 3, then 4..9); the first member that is not the next
// known field in that order ends the reading and it and everything after
// it is skipped ("future proofing": matter.js sends tag 8, newer revisions
// may send more). So a known field that comes after a higher or unknown
// tag is ignored, not applied. An empty structure is an error: the SDK's
// first Next() is not guarded against the end of the container, so every
// released SDK refuses it. A value too wide for its field is a
// *RangeError (the SDK's typed Get fails). Only context tags count (the
// SDK compares tag numbers alone; a profile tag in a session-parameter
// structure is not a case worth following).
func Decode(r *tlv.Reader) (Params, error) {
	var p Params
	if r.Type() != tlv.Struct {
		return p, &DecodeError{Err: errNotStruct}
	}
	if err := r.Enter(); err != nil {
		return p, &DecodeError{Err: err}
	}
	err := r.Next()
	if err == io.EOF {
		return p, &DecodeError{Err: errEmpty}
	}
	for f := IdleInterval; f <= MaxTCPMessageSize && err == nil; f++ {
		if t := r.Tag(); t.Form != tlv.Context || t.Number != uint32(f) {
			continue // optional: try the next field against the same member
		}
		v, verr := r.Uint()
		if f >= SupportedTransports && (verr != nil || v > f.maxValue()) {
			// Tags 8 and 9 came with TCP (Matter 1.4); an SDK that does
			// not read them takes any value there ("future proofing":
			// connectedhomeip TestPairingSession.cpp writes tag 8 as a
			// u32 and expects success). Such a member ends the reading
			// like an unknown tag instead of failing the message.
			break
		}
		if verr != nil {
			return p, &DecodeError{Field: f, Err: verr}
		}
		if v > f.maxValue() {
			return p, &RangeError{Field: f, Value: v, Max: f.maxValue()}
		}
		p.setValue(f, v)
		err = r.Next()
	}
	if err != nil && err != io.EOF {
		return p, &DecodeError{Err: err}
	}
	if err := r.Exit(); err != nil {
		return p, &DecodeError{Err: err}
	}
	return p, nil
}

// Parse decodes b, which must hold exactly one structure (any tag) and
// nothing after it.
func Parse(b []byte) (Params, error) {
	r := tlv.NewReader(b)
	if err := r.Next(); err != nil {
		return Params{}, &DecodeError{Err: err}
	}
	p, err := Decode(r)
	if err != nil {
		return p, err
	}
	if err := r.Next(); err != io.EOF {
		if err == nil {
			err = errors.New("trailing data after the structure")
		}
		return p, &DecodeError{Err: err}
	}
	return p, nil
}

// String lists the present fields, e.g. "{idle-interval=500ms active-threshold=4s}".
func (p Params) String() string {
	s := "{"
	for f := IdleInterval; f <= MaxTCPMessageSize; f++ {
		if !p.Has(f) {
			continue
		}
		if len(s) > 1 {
			s += " "
		}
		switch f {
		case IdleInterval:
			s += fmt.Sprintf("%s=%v", f, p.IdleInterval)
		case ActiveInterval:
			s += fmt.Sprintf("%s=%v", f, p.ActiveInterval)
		case ActiveThreshold:
			s += fmt.Sprintf("%s=%v", f, p.ActiveThreshold)
		case SpecificationVersion, SupportedTransports:
			s += fmt.Sprintf("%s=%#x", f, p.value(f))
		default:
			s += fmt.Sprintf("%s=%d", f, p.value(f))
		}
	}
	return s + "}"
}
