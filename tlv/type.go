package tlv

// Type is the kind of a TLV element, independent of its encoded width
// (spec A.7, element type field; values spec A.11). The zero value None means "no
// current element".
type Type uint8

// Element types.
const (
	None           Type = iota // no element (reader not positioned on one)
	Int                        // signed integer, 1/2/4/8 octets
	Uint                       // unsigned integer, 1/2/4/8 octets
	Bool                       // boolean (the value is in the type field)
	Float32                    // IEEE 754 binary32
	Float64                    // IEEE 754 binary64
	UTF8                       // UTF-8 string, 1/2/4/8-octet length
	Bytes                      // octet string, 1/2/4/8-octet length
	Null                       // null
	Struct                     // structure: members have distinct, non-anonymous tags
	Array                      // array: ordered, anonymous members
	List                       // list: ordered members, any tags
	EndOfContainer             // end of the enclosing structure, array or list
)

var typeNames = [...]string{
	None: "none", Int: "int", Uint: "uint", Bool: "bool", Float32: "float32",
	Float64: "float64", UTF8: "utf8", Bytes: "bytes", Null: "null",
	Struct: "struct", Array: "array", List: "list", EndOfContainer: "end-of-container",
}

// String returns the lower-case name used by Format ("uint", "struct", ...).
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "type(" + itoa(uint64(t)) + ")"
}

// IsContainer reports whether t is Struct, Array or List.
func (t Type) IsContainer() bool { return t == Struct || t == Array || t == List }

// Encoded element-type field values (spec A.7). The low two bits of the
// integer and string codes give the width: 1<<(code&3) octets.
const (
	etInt8     = 0x00
	etUint8    = 0x04
	etFalse    = 0x08
	etTrue     = 0x09
	etFloat32  = 0x0A
	etFloat64  = 0x0B
	etUTF8L1   = 0x0C
	etBytesL1  = 0x10
	etNull     = 0x14
	etStruct   = 0x15
	etArray    = 0x16
	etList     = 0x17
	etEnd      = 0x18
	etReserved = 0x19 // 0x19..0x1F are reserved
)

// itoa avoids strconv in tiny hot-path-free helpers.
func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return string(b[i:])
}
