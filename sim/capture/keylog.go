package capture

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"mattersim/clock"
	"mattersim/session"
	"mattersim/session/message"
)

// Endpoint is one side of a secure session in a key log: where it receives
// (address and UDP port), its operational node id (0 when unknown) and its
// local session id, the id carried by every message sent to it (spec
// 4.4.1.2). A plain value.
type Endpoint struct {
	Addr      netip.AddrPort
	Node      message.NodeID
	SessionID uint16
}

// SessionRecord is one key log line: a secure session established at Time
// between Initiator and Responder, with its keys (spec 4.13.2.6: I2R
// encrypts initiator-to-responder messages). A plain value.
type SessionRecord struct {
	Time      clock.Time
	Kind      session.Kind // session.PASE or session.CASE: the nonce rule (spec 4.8.1.1)
	Initiator Endpoint
	Responder Endpoint
	I2R, R2I  [16]byte
	// Attestation is the attestation challenge (zero for installed test
	// keys, which have none).
	Attestation [16]byte
}

// NewSessionRecord builds the record of a session from one side's view:
// k from session.Manager.SessionKeys, local the address that side
// receives on, localNode and peerNode the operational node ids of that
// side and of its peer (0 when unknown).
func NewSessionRecord(now clock.Time, k session.Keys, local netip.AddrPort, localNode, peerNode message.NodeID) SessionRecord {
	me := Endpoint{Addr: local, Node: localNode, SessionID: k.LocalID}
	peer := Endpoint{Addr: k.Peer, Node: peerNode, SessionID: k.PeerID}
	r := SessionRecord{Time: now, Kind: k.Kind, I2R: k.I2R, R2I: k.R2I, Attestation: k.AttestationChallenge}
	if k.Initiator {
		r.Initiator, r.Responder = me, peer
	} else {
		r.Initiator, r.Responder = peer, me
	}
	return r
}

// GroupRecord is a key log GROUP line: an operational group key some node
// holds (spec 4.17.2) and the group session id of the messages it seals.
// The privacy key follows from it (security.DerivePrivacyKey). A plain
// value.
type GroupRecord struct {
	Time        clock.Time
	KeySet      uint16
	Epoch       int
	SessionID   uint16
	Operational [16]byte
}

// NewGroupRecord is the record of one of a node's group keys (from
// session.Manager.GroupKeys).
func NewGroupRecord(now clock.Time, k session.GroupKey) GroupRecord {
	return GroupRecord{Time: now, KeySet: k.KeySet, Epoch: k.Epoch, SessionID: k.SessionID, Operational: k.Operational}
}

// Key log format, one record per line (fields in this order, separated by
// one space; '#' starts a comment line):
//
//	SESSION t=<seconds.nanoseconds> kind=<pase|case>
//	  initiator=<[addr]:port> initiator_node=<0x16 hex> initiator_sid=<decimal>
//	  responder=<[addr]:port> responder_node=<0x16 hex> responder_sid=<decimal>
//	  i2r=<32 hex> r2i=<32 hex> attestation=<32 hex>
//	GROUP t=<seconds.nanoseconds> keyset=<decimal> epoch=<decimal>
//	  group_sid=<decimal> key=<32 hex>
//
// t is virtual time, on the same scale as the capture's timestamps.
// Readers skip lines of an unknown record type, so later versions may add
// some.
const keyLogHeader = "# mattersim key log v1: SESSION lines (secure sessions) and GROUP lines (group keys) (README \"Wireshark\")\n"

// AppendText appends r as a key log line (with its newline).
func (r *GroupRecord) AppendText(b []byte) []byte {
	b = append(b, "GROUP t="...)
	b = appendSeconds(b, r.Time)
	b = append(b, " keyset="...)
	b = strconv.AppendUint(b, uint64(r.KeySet), 10)
	b = append(b, " epoch="...)
	b = strconv.AppendInt(b, int64(r.Epoch), 10)
	b = append(b, " group_sid="...)
	b = strconv.AppendUint(b, uint64(r.SessionID), 10)
	b = append(b, " key="...)
	b = hex.AppendEncode(b, r.Operational[:])
	return append(b, '\n')
}

// AppendText appends r as a key log line (with its newline).
func (r *SessionRecord) AppendText(b []byte) []byte {
	b = append(b, "SESSION t="...)
	b = appendSeconds(b, r.Time)
	b = append(b, " kind="...)
	b = append(b, r.Kind.String()...)
	for _, e := range []struct {
		name string
		ep   *Endpoint
	}{{"initiator", &r.Initiator}, {"responder", &r.Responder}} {
		b = append(b, ' ')
		b = append(b, e.name...)
		b = append(b, '=')
		b = e.ep.Addr.AppendTo(b)
		b = append(b, ' ')
		b = append(b, e.name...)
		b = append(b, "_node=0x"...)
		b = appendHex64(b, uint64(e.ep.Node))
		b = append(b, ' ')
		b = append(b, e.name...)
		b = append(b, "_sid="...)
		b = strconv.AppendUint(b, uint64(e.ep.SessionID), 10)
	}
	b = append(b, " i2r="...)
	b = hex.AppendEncode(b, r.I2R[:])
	b = append(b, " r2i="...)
	b = hex.AppendEncode(b, r.R2I[:])
	b = append(b, " attestation="...)
	b = hex.AppendEncode(b, r.Attestation[:])
	return append(b, '\n')
}

func appendSeconds(b []byte, t clock.Time) []byte {
	if t < 0 {
		b = append(b, '-')
		t = -t
	}
	b = strconv.AppendInt(b, int64(t)/1e9, 10)
	b = append(b, '.')
	frac := strconv.AppendInt(nil, int64(t)%1e9, 10)
	for range 9 - len(frac) {
		b = append(b, '0')
	}
	return append(b, frac...)
}

func appendHex64(b []byte, v uint64) []byte {
	const digits = "0123456789ABCDEF"
	for i := 60; i >= 0; i -= 4 {
		b = append(b, digits[v>>uint(i)&15])
	}
	return b
}

// KeyLog writes a key log: a header comment, then one line per session
// establishment. Both sides of a session report it (each installs it); the
// second report of the same session (same endpoints, ids and keys) is
// skipped, so each establishment is one line. The zero value is not
// usable; call NewKeyLog. Writes are buffered: call Flush at the end.
type KeyLog struct {
	w      *bufio.Writer
	seen   map[sessionKey]struct{}
	groups map[[16]byte]struct{}
	buf    []byte
	n      int
	err    error
}

type sessionKey struct {
	i, r     Endpoint
	i2r, r2i [16]byte
}

// NewKeyLog returns a key log writing to w.
func NewKeyLog(w io.Writer) *KeyLog {
	l := &KeyLog{w: bufio.NewWriterSize(w, 16<<10), seen: make(map[sessionKey]struct{}), groups: make(map[[16]byte]struct{})}
	_, l.err = l.w.WriteString(keyLogHeader)
	return l
}

// Add writes r unless the same session was already written, and reports
// whether it wrote it.
func (l *KeyLog) Add(r SessionRecord) bool {
	k := sessionKey{i: r.Initiator, r: r.Responder, i2r: r.I2R, r2i: r.R2I}
	// Node ids may be unknown on one side: match on addresses, ids, keys.
	k.i.Node, k.r.Node = 0, 0
	if _, dup := l.seen[k]; dup {
		return false
	}
	l.seen[k] = struct{}{}
	l.buf = r.AppendText(l.buf[:0])
	if _, err := l.w.Write(l.buf); err != nil && l.err == nil {
		l.err = err
	}
	l.n++
	return true
}

// AddGroup writes r unless a GROUP line with the same key was written (every
// member of a group holds it), and reports whether it wrote it.
func (l *KeyLog) AddGroup(r GroupRecord) bool {
	if _, dup := l.groups[r.Operational]; dup {
		return false
	}
	l.groups[r.Operational] = struct{}{}
	l.buf = r.AppendText(l.buf[:0])
	if _, err := l.w.Write(l.buf); err != nil && l.err == nil {
		l.err = err
	}
	l.n++
	return true
}

// Records returns the number of lines written.
func (l *KeyLog) Records() int { return l.n }

// Flush writes buffered lines and returns the first write error.
func (l *KeyLog) Flush() error {
	if err := l.w.Flush(); err != nil && l.err == nil {
		l.err = err
	}
	return l.err
}

// KeyLogError is a key log line that does not parse.
type KeyLogError struct {
	Line   int // 1-based
	Reason string
}

func (e *KeyLogError) Error() string {
	return fmt.Sprintf("capture: key log line %d: %s", e.Line, e.Reason)
}

var _ error = (*KeyLogError)(nil)

// KeyLogRecords are the records of a key log, in file order.
type KeyLogRecords struct {
	Sessions []SessionRecord
	Groups   []GroupRecord
}

// ParseKeyLog reads a key log. Blank lines, comments and lines of an
// unknown record type are skipped; a malformed SESSION or GROUP line is a
// *KeyLogError.
func ParseKeyLog(r io.Reader) (KeyLogRecords, error) {
	var out KeyLogRecords
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		fields := strings.Fields(text)
		var reason string
		switch fields[0] {
		case "SESSION":
			var rec SessionRecord
			if rec, reason = parseSession(fields[1:]); reason == "" {
				out.Sessions = append(out.Sessions, rec)
			}
		case "GROUP":
			var rec GroupRecord
			if rec, reason = parseGroup(fields[1:]); reason == "" {
				out.Groups = append(out.Groups, rec)
			}
		}
		if reason != "" {
			return KeyLogRecords{}, &KeyLogError{Line: line, Reason: reason}
		}
	}
	if err := sc.Err(); err != nil {
		return KeyLogRecords{}, fmt.Errorf("capture: key log: %w", err)
	}
	return out, nil
}

// fieldSet is the key=value fields of a key log line.
type fieldSet map[string]string

func parseFields(fields []string) (fieldSet, string) {
	kv := make(fieldSet, len(fields))
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Sprintf("field %q is not key=value", f)
		}
		kv[k] = v
	}
	return kv, ""
}

func (kv fieldSet) need(k string) (string, string) {
	v, ok := kv[k]
	if !ok {
		return "", "missing " + k + "="
	}
	return v, ""
}

func (kv fieldSet) time() (clock.Time, string) {
	v, why := kv.need("t")
	if why != "" {
		return 0, why
	}
	t, err := parseSeconds(v)
	if err != nil {
		return 0, "t=" + v + ": " + err.Error()
	}
	return t, ""
}

func (kv fieldSet) key(name string, dst *[16]byte) string {
	v, why := kv.need(name)
	if why != "" {
		return why
	}
	b, err := hex.DecodeString(v)
	if err != nil || len(b) != 16 {
		return name + "=" + v + ": want 32 hex digits"
	}
	copy(dst[:], b)
	return ""
}

func parseGroup(fields []string) (GroupRecord, string) {
	var r GroupRecord
	kv, why := parseFields(fields)
	if why != "" {
		return r, why
	}
	if r.Time, why = kv.time(); why != "" {
		return r, why
	}
	for _, f := range []struct {
		name string
		bits int
		set  func(uint64)
	}{
		{"keyset", 16, func(v uint64) { r.KeySet = uint16(v) }},
		{"epoch", 8, func(v uint64) { r.Epoch = int(v) }},
		{"group_sid", 16, func(v uint64) { r.SessionID = uint16(v) }},
	} {
		v, why := kv.need(f.name)
		if why != "" {
			return r, why
		}
		n, err := strconv.ParseUint(v, 0, f.bits)
		if err != nil {
			return r, fmt.Sprintf("%s=%s: not a %d-bit number", f.name, v, f.bits)
		}
		f.set(n)
	}
	return r, kv.key("key", &r.Operational)
}

func parseSession(fields []string) (SessionRecord, string) {
	var r SessionRecord
	kv, why := parseFields(fields)
	if why != "" {
		return r, why
	}
	if r.Time, why = kv.time(); why != "" {
		return r, why
	}
	need := kv.need
	var v string
	if v, why = need("kind"); why != "" {
		return r, why
	}
	switch v {
	case "pase":
		r.Kind = session.PASE
	case "case":
		r.Kind = session.CASE
	default:
		return r, "kind=" + v + ": want pase or case"
	}
	for _, e := range []struct {
		name string
		ep   *Endpoint
	}{{"initiator", &r.Initiator}, {"responder", &r.Responder}} {
		if v, why = need(e.name); why != "" {
			return r, why
		}
		var err error
		if e.ep.Addr, err = netip.ParseAddrPort(v); err != nil {
			return r, e.name + "=" + v + ": not [address]:port"
		}
		if v, why = need(e.name + "_node"); why != "" {
			return r, why
		}
		n, err := strconv.ParseUint(v, 0, 64)
		if err != nil {
			return r, e.name + "_node=" + v + ": not a 64-bit node id"
		}
		e.ep.Node = message.NodeID(n)
		if v, why = need(e.name + "_sid"); why != "" {
			return r, why
		}
		sid, err := strconv.ParseUint(v, 0, 16)
		if err != nil || sid == 0 {
			return r, e.name + "_sid=" + v + ": not a session id (1..65535)"
		}
		e.ep.SessionID = uint16(sid)
	}
	for _, k := range []struct {
		name string
		dst  *[16]byte
	}{{"i2r", &r.I2R}, {"r2i", &r.R2I}, {"attestation", &r.Attestation}} {
		if why := kv.key(k.name, k.dst); why != "" {
			return r, why
		}
	}
	return r, ""
}

func parseSeconds(s string) (clock.Time, error) {
	whole, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || sec < 0 || sec > 1<<33 {
		return 0, fmt.Errorf("not seconds")
	}
	if len(frac) > 9 {
		return 0, fmt.Errorf("more than 9 decimals")
	}
	var ns int64
	if frac != "" {
		if ns, err = strconv.ParseInt(frac, 10, 64); err != nil || ns < 0 {
			return 0, fmt.Errorf("not seconds")
		}
		for range 9 - len(frac) {
			ns *= 10
		}
	}
	return clock.Time(sec*1e9 + ns), nil
}
