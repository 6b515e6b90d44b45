package tlv

import (
	"fmt"
	"strconv"
)

// TagForm is the kind of a tag (spec A.8). The encoded width of profile
// tags (2 or 4 octets of tag number) is not part of the form: the writer
// picks the shortest, and the reader accepts both.
type TagForm uint8

// Tag forms. The tag control field (spec A.7, high 3 bits of the control octet) maps as:
// 0 Anonymous, 1 Context, 2/3 CommonProfile (2/4-octet number),
// 4/5 ImplicitProfile (2/4-octet number), 6/7 FullyQualified (2/4-octet number).
const (
	Anonymous       TagForm = iota // no tag
	Context                        // context-specific tag, number 0..255
	CommonProfile                  // tag in the Matter common profile (vendor 0, profile 0)
	ImplicitProfile                // tag in a profile implied by the protocol context
	FullyQualified                 // tag with explicit vendor ID and profile number
)

func (f TagForm) String() string {
	switch f {
	case Anonymous:
		return "anonymous"
	case Context:
		return "context"
	case CommonProfile:
		return "common-profile"
	case ImplicitProfile:
		return "implicit-profile"
	case FullyQualified:
		return "fully-qualified"
	}
	return "tagform(" + itoa(uint64(f)) + ")"
}

// Tag identifies an element within its container (spec A.8). It is a
// comparable value type: compare with ==. The zero value is the anonymous
// tag. Vendor and Profile are used only by FullyQualified tags; the
// constructors leave them zero otherwise, so use the constructors (or set
// unused fields to zero) for == to work.
//
// FullyQualifiedTag(0, 0, n) is kept distinct from CommonProfileTag(n):
// tags round-trip in the form they were written.
type Tag struct {
	Form    TagForm
	Vendor  uint16 // vendor ID (FullyQualified only)
	Profile uint16 // profile number within the vendor (FullyQualified only)
	Number  uint32 // tag number; at most 255 for Context
}

// AnonymousTag returns the anonymous tag (the zero Tag).
func AnonymousTag() Tag { return Tag{} }

// ContextTag returns the context-specific tag n (spec A.8.2).
func ContextTag(n uint8) Tag { return Tag{Form: Context, Number: uint32(n)} }

// CommonProfileTag returns tag n of the Matter common profile (spec A.8.3).
func CommonProfileTag(n uint32) Tag { return Tag{Form: CommonProfile, Number: n} }

// ImplicitProfileTag returns tag n of the implicit profile (spec A.8.4).
func ImplicitProfileTag(n uint32) Tag { return Tag{Form: ImplicitProfile, Number: n} }

// FullyQualifiedTag returns tag n of profile (vendor, profile) (spec A.8.5).
func FullyQualifiedTag(vendor, profile uint16, n uint32) Tag {
	return Tag{Form: FullyQualified, Vendor: vendor, Profile: profile, Number: n}
}

// IsAnonymous reports whether t is the anonymous tag.
func (t Tag) IsAnonymous() bool { return t.Form == Anonymous }

// String renders t in the notation of the spec's examples (appendix A.12):
// "anonymous", "1" (context), "Matter::1" (common profile),
// "Implicit::1", "0xFFF1::0xDEED:1" (fully qualified).
func (t Tag) String() string {
	return string(t.appendText(nil))
}

func (t Tag) appendText(b []byte) []byte {
	switch t.Form {
	case Anonymous:
		return append(b, "anonymous"...)
	case Context:
		return strconv.AppendUint(b, uint64(t.Number), 10)
	case CommonProfile:
		return strconv.AppendUint(append(b, "Matter::"...), uint64(t.Number), 10)
	case ImplicitProfile:
		return strconv.AppendUint(append(b, "Implicit::"...), uint64(t.Number), 10)
	case FullyQualified:
		return fmt.Appendf(b, "0x%04X::0x%04X:%d", t.Vendor, t.Profile, t.Number)
	}
	return fmt.Appendf(b, "tag(%d,%d,%d,%d)", t.Form, t.Vendor, t.Profile, t.Number)
}

// Tag control field values (spec A.7).
const (
	tcAnonymous = 0
	tcContext   = 1
	tcCommon2   = 2
	tcCommon4   = 3
	tcImplicit2 = 4
	tcImplicit4 = 5
	tcFull6     = 6
	tcFull8     = 7
)

// tagSizes is the encoded tag length for each tag control value.
var tagSizes = [8]int{0, 1, 2, 4, 2, 4, 6, 8}

// appendTag appends the control octet (tag control | et) and the tag,
// choosing the shortest form. It panics on a Tag no constructor can make
// (a context number above 255 or an unknown form): a programmer error.
func appendTag(b []byte, t Tag, et byte) []byte {
	switch t.Form {
	case Anonymous:
		return append(b, tcAnonymous<<5|et)
	case Context:
		if t.Number > 0xFF {
			panic(fmt.Sprintf("tlv: context tag number %d > 255", t.Number))
		}
		return append(b, tcContext<<5|et, byte(t.Number))
	case CommonProfile:
		if t.Number <= 0xFFFF {
			return append(b, tcCommon2<<5|et, byte(t.Number), byte(t.Number>>8))
		}
		return appendU32(append(b, tcCommon4<<5|et), t.Number)
	case ImplicitProfile:
		if t.Number <= 0xFFFF {
			return append(b, tcImplicit2<<5|et, byte(t.Number), byte(t.Number>>8))
		}
		return appendU32(append(b, tcImplicit4<<5|et), t.Number)
	case FullyQualified:
		if t.Number <= 0xFFFF {
			b = append(b, tcFull6<<5|et, byte(t.Vendor), byte(t.Vendor>>8), byte(t.Profile), byte(t.Profile>>8))
			return append(b, byte(t.Number), byte(t.Number>>8))
		}
		b = append(b, tcFull8<<5|et, byte(t.Vendor), byte(t.Vendor>>8), byte(t.Profile), byte(t.Profile>>8))
		return appendU32(b, t.Number)
	}
	panic(fmt.Sprintf("tlv: invalid tag form %d", t.Form))
}

func appendU32(b []byte, v uint32) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}
