// Package tlv encodes and decodes Matter TLV (Matter Core Specification,
// appendix A "Tag-length-value (TLV) Encoding Format").
//
// An element is a control octet (tag control in the high 3 bits, element
// type in the low 5 bits, spec A.7), an optional tag (0, 1, 2, 4, 6 or 8
// octets, spec A.8), an optional length (strings, spec A.9) and a value
// (spec A.11). Section numbers follow Matter Core Specification 1.x
// appendix A; A.12 is the table of encoding examples in testdata/.
// All multi-octet fields are little-endian.
//
// Writer appends elements to a byte slice and always picks the shortest
// encoding (integer width, length width, tag form) unless a *Width variant
// asks for a fixed width. Reader walks a caller-owned buffer without
// allocating: Next moves to the next element of the current container,
// Enter descends into a structure, array or list, Exit leaves it, skipping
// whatever the caller did not read. Values returned by Reader.String,
// Reader.Bytes and Reader.Raw alias the input buffer.
//
// Bad input never panics: every failure is a *DecodeError carrying the byte
// offset, the element's tag when known, and a Kind that errors.Is matches
// (for example errors.Is(err, tlv.KindTruncated)).
//
// Format renders TLV bytes as indented text for traces and the
// `mattersim decode tlv` command.
//
// The package is sans-I/O and imports only the standard library.
package tlv
