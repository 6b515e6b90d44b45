package cert

import (
	"errors"
	"io"
	"math"

	"mattersim/tlv"
)

// TLV context tags of the matter-certificate structure (spec 6.5).
const (
	tagSerialNumber = 1
	tagSigAlgo      = 2
	tagIssuer       = 3
	tagNotBefore    = 4
	tagNotAfter     = 5
	tagSubject      = 6
	tagPubKeyAlgo   = 7
	tagCurve        = 8
	tagPublicKey    = 9
	tagExtensions   = 10
	tagSignature    = 11

	tagBCIsCA    = 1
	tagBCPathLen = 2
)

// DecodeTLV decodes a certificate in the Matter TLV form (spec 6.5, "matter-certificate"): an
// anonymous structure whose members appear in tag order, all present. It
// returns a *DecodeError for malformed input, including bytes after the
// structure. The result shares nothing with b.
func DecodeTLV(b []byte) (*Certificate, error) {
	r := tlv.NewReader(b)
	if err := r.Next(); err != nil {
		if err == io.EOF {
			return nil, tlvErr("certificate", nil, "empty input")
		}
		return nil, tlvErr("certificate", err, "bad TLV")
	}
	if r.Type() != tlv.Struct || !r.Tag().IsAnonymous() {
		return nil, tlvErr("certificate", nil, "want an anonymous structure, have %s with tag %s", r.Type(), r.Tag())
	}
	if err := r.Enter(); err != nil {
		return nil, tlvErr("certificate", err, "bad TLV")
	}
	c := &Certificate{}
	d := tlvDecoder{r: r}
	c.SerialNumber = d.bytes(tagSerialNumber, "serial-num", 1, MaxSerialLen)
	c.SigAlgo = uint8(d.uint(tagSigAlgo, "sig-algo", math.MaxUint8))
	c.Issuer = d.dn(tagIssuer, "issuer")
	c.NotBefore = Time(d.uint(tagNotBefore, "not-before", math.MaxUint32))
	c.NotAfter = Time(d.uint(tagNotAfter, "not-after", math.MaxUint32))
	c.Subject = d.dn(tagSubject, "subject")
	c.PubKeyAlgo = uint8(d.uint(tagPubKeyAlgo, "pub-key-algo", math.MaxUint8))
	c.Curve = uint8(d.uint(tagCurve, "ec-curve-id", math.MaxUint8))
	c.PublicKey = d.bytes(tagPublicKey, "ec-pub-key", PublicKeyLen, PublicKeyLen)
	c.Extensions = d.extensions()
	c.Signature = d.bytes(tagSignature, "signature", SignatureLen, SignatureLen)
	if d.err != nil {
		return nil, d.err
	}
	if err := r.Next(); err != io.EOF {
		if err != nil {
			return nil, tlvErr("certificate", err, "bad TLV")
		}
		return nil, tlvErr("certificate", nil, "unexpected member %s after the signature", r.Tag())
	}
	if err := r.Exit(); err != nil {
		return nil, tlvErr("certificate", err, "bad TLV")
	}
	if err := r.Next(); err != io.EOF {
		if err != nil {
			return nil, tlvErr("certificate", err, "bad TLV after the structure")
		}
		return nil, tlvErr("certificate", nil, "bytes after the certificate structure")
	}
	if err := c.checkEncodable("tlv"); err != nil {
		return nil, err
	}
	return c, nil
}

// tlvDecoder reads the members of a structure in order, keeping the first
// error.
type tlvDecoder struct {
	r   *tlv.Reader
	err error
}

// next moves to the member with the given context tag.
func (d *tlvDecoder) next(tag uint8, field string) bool {
	if d.err != nil {
		return false
	}
	if err := d.r.Next(); err != nil {
		if err == io.EOF {
			d.err = tlvErr(field, nil, "missing")
		} else {
			d.err = tlvErr(field, err, "bad TLV")
		}
		return false
	}
	if d.r.Tag() != tlv.ContextTag(tag) {
		d.err = tlvErr(field, nil, "want context tag %d, have %s", tag, d.r.Tag())
		return false
	}
	return true
}

func (d *tlvDecoder) uint(tag uint8, field string, max uint64) uint64 {
	if !d.next(tag, field) {
		return 0
	}
	v, err := readUint(d.r, field, max)
	if err != nil {
		d.err = err
	}
	return v
}

func readUint(r *tlv.Reader, field string, max uint64) (uint64, error) {
	if r.Type() != tlv.Uint {
		return 0, tlvErr(field, nil, "want an unsigned integer, have %s", r.Type())
	}
	v, err := r.Uint()
	if err != nil {
		return 0, tlvErr(field, err, "bad integer")
	}
	if v > max {
		return 0, tlvErr(field, nil, "value %d out of range (max %d)", v, max)
	}
	return v, nil
}

func readBytes(r *tlv.Reader, field string, min, max int) ([]byte, error) {
	if r.Type() != tlv.Bytes {
		return nil, tlvErr(field, nil, "want an octet string, have %s", r.Type())
	}
	v, err := r.Bytes()
	if err != nil {
		return nil, tlvErr(field, err, "bad octet string")
	}
	if len(v) < min || len(v) > max {
		if min == max {
			return nil, tlvErr(field, nil, "length %d, want %d", len(v), min)
		}
		return nil, tlvErr(field, nil, "length %d, want %d..%d", len(v), min, max)
	}
	return append([]byte(nil), v...), nil
}

func (d *tlvDecoder) bytes(tag uint8, field string, min, max int) []byte {
	if !d.next(tag, field) {
		return nil
	}
	v, err := readBytes(d.r, field, min, max)
	if err != nil {
		d.err = err
	}
	return v
}

// enterList moves to a list member and enters it.
func (d *tlvDecoder) enterList(tag uint8, field string) bool {
	if !d.next(tag, field) {
		return false
	}
	if d.r.Type() != tlv.List {
		d.err = tlvErr(field, nil, "want a list, have %s", d.r.Type())
		return false
	}
	if err := d.r.Enter(); err != nil {
		d.err = tlvErr(field, err, "bad TLV")
		return false
	}
	return true
}

// dn reads a distinguished name (spec 6.5, "dn-attribute").
func (d *tlvDecoder) dn(tag uint8, field string) DN {
	if !d.enterList(tag, field) {
		return nil
	}
	dn := DN{}
	for {
		err := d.r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			d.err = tlvErr(field, err, "bad TLV")
			return nil
		}
		t := d.r.Tag()
		if t.Form != tlv.Context || !AttrTag(t.Number).valid() {
			d.err = tlvErr(field, nil, "unknown attribute tag %s", t)
			return nil
		}
		a := Attribute{Tag: AttrTag(t.Number)}
		if a.Tag.IsMatter() {
			max := uint64(math.MaxUint64)
			if a.Tag == AttrMatterNOCCAT {
				max = math.MaxUint32
			}
			if a.Value, err = readUint(d.r, field+" "+a.Tag.String(), max); err != nil {
				d.err = err
				return nil
			}
		} else {
			if d.r.Type() != tlv.UTF8 {
				d.err = tlvErr(field, nil, "%s: want a UTF-8 string, have %s", a.Tag, d.r.Type())
				return nil
			}
			s, err := d.r.String()
			if err != nil {
				d.err = tlvErr(field, err, "%s: bad string", a.Tag)
				return nil
			}
			a.Text = string([]byte(s)) // copy out of the input
		}
		dn = append(dn, a)
	}
	if err := d.r.Exit(); err != nil {
		d.err = tlvErr(field, err, "bad TLV")
		return nil
	}
	return dn
}

// extensions reads the extensions list (spec 6.5, "extensions").
func (d *tlvDecoder) extensions() []Extension {
	const field = "extensions"
	if !d.enterList(tagExtensions, field) {
		return nil
	}
	exts := []Extension{}
	for {
		err := d.r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			d.err = tlvErr(field, err, "bad TLV")
			return nil
		}
		t := d.r.Tag()
		if t.Form != tlv.Context || t.Number < uint32(ExtBasicConstraints) || t.Number > uint32(ExtFuture) {
			d.err = tlvErr(field, nil, "unknown extension tag %s", t)
			return nil
		}
		e, err := d.extension(ExtensionID(t.Number))
		if err != nil {
			d.err = err
			return nil
		}
		exts = append(exts, e)
	}
	if err := d.r.Exit(); err != nil {
		d.err = tlvErr(field, err, "bad TLV")
		return nil
	}
	return exts
}

func (d *tlvDecoder) extension(id ExtensionID) (Extension, error) {
	r := d.r
	field := "extensions " + id.String()
	e := Extension{ID: id, PathLen: -1}
	switch id {
	case ExtBasicConstraints:
		if r.Type() != tlv.Struct {
			return e, tlvErr(field, nil, "want a structure, have %s", r.Type())
		}
		if err := r.Enter(); err != nil {
			return e, tlvErr(field, err, "bad TLV")
		}
		err := r.Next()
		if err != nil || r.Tag() != tlv.ContextTag(tagBCIsCA) || r.Type() != tlv.Bool {
			return e, tlvErr(field, errNotEOF(err), "want is-ca [1] boolean first")
		}
		if e.IsCA, err = r.Bool(); err != nil {
			return e, tlvErr(field, err, "bad boolean")
		}
		err = r.Next()
		if err == nil {
			if r.Tag() != tlv.ContextTag(tagBCPathLen) {
				return e, tlvErr(field, nil, "unexpected member %s", r.Tag())
			}
			v, perr := readUint(r, field+" path-len-constraint", math.MaxUint8)
			if perr != nil {
				return e, perr
			}
			e.PathLen = int(v)
			err = r.Next()
			if err == nil {
				return e, tlvErr(field, nil, "unexpected member %s", r.Tag())
			}
		}
		if err != io.EOF {
			return e, tlvErr(field, err, "bad TLV")
		}
		if err := r.Exit(); err != nil {
			return e, tlvErr(field, err, "bad TLV")
		}
	case ExtKeyUsage:
		v, err := readUint(r, field, math.MaxUint16)
		if err != nil {
			return e, err
		}
		e.KeyUsage = KeyUsage(v)
	case ExtExtendedKeyUsage:
		if r.Type() != tlv.Array {
			return e, tlvErr(field, nil, "want an array, have %s", r.Type())
		}
		if err := r.Enter(); err != nil {
			return e, tlvErr(field, err, "bad TLV")
		}
		e.Purposes = []KeyPurpose{}
		for {
			err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return e, tlvErr(field, err, "bad TLV")
			}
			v, err := readUint(r, field, math.MaxUint8)
			if err != nil {
				return e, err
			}
			e.Purposes = append(e.Purposes, KeyPurpose(v))
		}
		if err := r.Exit(); err != nil {
			return e, tlvErr(field, err, "bad TLV")
		}
	case ExtSubjectKeyID, ExtAuthorityKeyID:
		v, err := readBytes(r, field, KeyIDLen, KeyIDLen)
		if err != nil {
			return e, err
		}
		e.KeyID = v
	case ExtFuture:
		v, err := readBytes(r, field, 1, math.MaxInt32)
		if err != nil {
			return e, err
		}
		e.Raw = v
	}
	return e, nil
}

func errNotEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// KeyIDLen is the length of subject and authority key identifiers
// (spec 6.5).
const KeyIDLen = 20

// AppendTLV appends the canonical Matter TLV encoding of c to dst. It
// fails if c cannot be encoded (see checkEncodable).
func AppendTLV(dst []byte, c *Certificate) ([]byte, error) {
	if err := c.checkEncodable("tlv"); err != nil {
		return dst, err
	}
	w := tlv.NewWriter(dst)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBytes(tlv.ContextTag(tagSerialNumber), c.SerialNumber)
	w.PutUint(tlv.ContextTag(tagSigAlgo), uint64(c.SigAlgo))
	appendDNTLV(w, tagIssuer, c.Issuer)
	w.PutUint(tlv.ContextTag(tagNotBefore), uint64(c.NotBefore))
	w.PutUint(tlv.ContextTag(tagNotAfter), uint64(c.NotAfter))
	appendDNTLV(w, tagSubject, c.Subject)
	w.PutUint(tlv.ContextTag(tagPubKeyAlgo), uint64(c.PubKeyAlgo))
	w.PutUint(tlv.ContextTag(tagCurve), uint64(c.Curve))
	w.PutBytes(tlv.ContextTag(tagPublicKey), c.PublicKey)
	w.StartList(tlv.ContextTag(tagExtensions))
	for _, e := range c.Extensions {
		t := tlv.ContextTag(uint8(e.ID))
		switch e.ID {
		case ExtBasicConstraints:
			w.StartStruct(t)
			w.PutBool(tlv.ContextTag(tagBCIsCA), e.IsCA)
			if e.PathLen >= 0 {
				w.PutUint(tlv.ContextTag(tagBCPathLen), uint64(e.PathLen))
			}
			w.EndContainer()
		case ExtKeyUsage:
			w.PutUint(t, uint64(e.KeyUsage))
		case ExtExtendedKeyUsage:
			w.StartArray(t)
			for _, p := range e.Purposes {
				w.PutUint(tlv.AnonymousTag(), uint64(p))
			}
			w.EndContainer()
		case ExtSubjectKeyID, ExtAuthorityKeyID:
			w.PutBytes(t, e.KeyID)
		case ExtFuture:
			w.PutBytes(t, e.Raw)
		}
	}
	w.EndContainer()
	w.PutBytes(tlv.ContextTag(tagSignature), c.Signature)
	w.EndContainer()
	return w.Bytes(), nil
}

func appendDNTLV(w *tlv.Writer, tag uint8, dn DN) {
	w.StartList(tlv.ContextTag(tag))
	for _, a := range dn {
		if a.Tag.IsMatter() {
			w.PutUint(tlv.ContextTag(uint8(a.Tag)), a.Value)
		} else {
			w.PutString(tlv.ContextTag(uint8(a.Tag)), a.Text)
		}
	}
	w.EndContainer()
}
