package capture

import (
	"errors"
	"fmt"
	"net/netip"

	"mattersim/session"
	"mattersim/session/message"
	"mattersim/session/security"
)

// Marks of a plaintext capture (see the package documentation).
const (
	// PlaintextFlag, set in a message's security flags (a bit spec 4.4.1.3
	// reserves), says mattersim replaced the encrypted part and its MIC
	// by the plaintext protocol header and payload.
	PlaintextFlag message.SecurityFlags = 0x10
	// MatterPort is the Matter UDP port (spec 4.3.1.1).
	MatterPort = 5540
	// PlaintextPort replaces MatterPort in a plaintext capture.
	PlaintextPort = 15540
)

// Direction says which key of a session a message used.
type Direction uint8

// Directions.
const (
	I2R Direction = iota + 1 // initiator to responder
	R2I                      // responder to initiator
)

func (d Direction) String() string {
	switch d {
	case I2R:
		return "I2R"
	case R2I:
		return "R2I"
	}
	return "Direction(?)"
}

// Status says what Keyring.Open made of a datagram.
type Status uint8

// Statuses.
const (
	// Unsecured: session 0 unicast, nothing to decrypt (spec 4.13.2.1).
	Unsecured Status = iota + 1
	// Decrypted: a key log record authenticated and decrypted it.
	Decrypted
	// Plaintext: a plaintext-capture message (PlaintextFlag): mattersim
	// decrypted it when it wrote the capture.
	Plaintext
	// NoKey: no record names the message's destination and session id
	// (for a group message: no GROUP record has its group session id).
	NoKey
	// AuthFailed: records matched but none authenticated the message
	// (forged or corrupted, or a record is wrong).
	AuthFailed
	// Malformed: the message header does not decode, or a secure message
	// is shorter than its MIC.
	Malformed
)

var statusNames = [...]string{Unsecured: "unsecured", Decrypted: "decrypted", Plaintext: "plaintext",
	NoKey: "no-key", AuthFailed: "auth-failed", Malformed: "malformed"}

func (s Status) String() string {
	if int(s) < len(statusNames) && statusNames[s] != "" {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Opened is a datagram Keyring.Open looked at.
type Opened struct {
	Status Status
	// Header is the message header, de-obfuscated when a group key
	// opened a message with the privacy flag; Clear is its bytes as
	// decoded (HeaderLen of them; aliasing the datagram, or a buffer of
	// the Keyring reused by the next Open).
	Header    message.Header
	HeaderLen int
	Clear     []byte
	// Plain is the protocol header and application payload (Unsecured,
	// Decrypted, Plaintext). It aliases the datagram for Unsecured and
	// Plaintext and a buffer of the Keyring for Decrypted, reused by the
	// next Open.
	Plain []byte
	// Record and Dir: the key log record and key that opened a unicast
	// message (Decrypted); Group the record that opened a group message.
	Record *SessionRecord
	Dir    Direction
	Group  *GroupRecord
	// Err says why for Malformed, NoKey and AuthFailed.
	Err error
}

// Keyring holds key log records and finds the key of a captured secure
// unicast message: the record whose endpoint at the message's destination
// has the message's session id. The zero value is an empty keyring ready
// to use. Not safe for concurrent use.
type Keyring struct {
	recs   []SessionRecord
	ccms   [][2]*security.CCM // per record: I2R, R2I (made on first use)
	by     map[ringKey][]int  // record indexes, oldest first
	groups []GroupRecord
	gccms  []*security.CCM
	bySID  map[uint16][]int // group record indexes by group session id
	buf    []byte
	hdr    []byte
}

// cipher returns the AES-CCM of record i's key for dir, made once.
func (k *Keyring) cipher(i int, dir Direction) *security.CCM {
	j := int(dir) - 1
	if c := k.ccms[i][j]; c != nil {
		return c
	}
	key := k.recs[i].I2R
	if dir == R2I {
		key = k.recs[i].R2I
	}
	c := security.NewCCM(key)
	k.ccms[i][j] = c
	return c
}

type ringKey struct {
	dst netip.AddrPort
	sid uint16
}

// Add enters r.
func (k *Keyring) Add(r SessionRecord) {
	if k.by == nil {
		k.by = make(map[ringKey][]int)
	}
	i := len(k.recs)
	k.recs = append(k.recs, r)
	k.ccms = append(k.ccms, [2]*security.CCM{})
	for _, ep := range []Endpoint{r.Responder, r.Initiator} {
		rk := ringKey{ep.Addr, ep.SessionID}
		k.by[rk] = append(k.by[rk], i)
	}
}

// AddGroup enters a group key.
func (k *Keyring) AddGroup(r GroupRecord) {
	if k.bySID == nil {
		k.bySID = make(map[uint16][]int)
	}
	k.bySID[r.SessionID] = append(k.bySID[r.SessionID], len(k.groups))
	k.groups = append(k.groups, r)
	k.gccms = append(k.gccms, security.NewCCM(r.Operational))
}

// AddLog enters every record of a parsed key log.
func (k *Keyring) AddLog(l KeyLogRecords) {
	for _, r := range l.Sessions {
		k.Add(r)
	}
	for _, r := range l.Groups {
		k.AddGroup(r)
	}
}

// Len returns the number of records, SESSION and GROUP.
func (k *Keyring) Len() int { return len(k.recs) + len(k.groups) }

// ErrNoKey and ErrAuth are the Err of a NoKey and an AuthFailed Opened,
// wrapped with the session id and destination.
var (
	ErrNoKey = errors.New("capture: no key")
	ErrAuth  = errors.New("capture: message authentication failed")
)

// Open looks at a Matter datagram sent to dst and decrypts it if it is a
// secure message the keyring has the key for. For a unicast message,
// records whose destination endpoint matches are tried newest first:
// session ids are reused once a session is gone, and the MIC decides. For
// a group message, the group keys with its group session id are tried in
// the order added, each de-obfuscating a copy of the header first if the
// privacy flag is set (spec 4.9.3); the nonce uses the source node id
// (spec 4.8.1.1). datagram is not modified.
func (k *Keyring) Open(dst netip.AddrPort, datagram []byte) Opened {
	var o Opened
	n, err := o.Header.Decode(datagram)
	if err != nil {
		o.Status, o.Err = Malformed, err
		return o
	}
	o.HeaderLen, o.Clear = n, datagram[:n]
	h := &o.Header
	switch {
	case !h.IsSecure():
		o.Status, o.Plain = Unsecured, datagram[n:]
		return o
	case h.Flags&PlaintextFlag != 0:
		o.Status, o.Plain = Plaintext, datagram[n:]
		return o
	case len(datagram)-n < security.MICSize:
		o.Status, o.Err = Malformed, fmt.Errorf("capture: secure message of %d bytes after its header: shorter than the %d-byte MIC", len(datagram)-n, security.MICSize)
		return o
	case h.Flags.SessionType() == message.SessionGroup:
		return k.openGroup(o, datagram)
	}
	idx := k.by[ringKey{dst, uint16(h.SessionID)}]
	if len(idx) == 0 {
		o.Status, o.Err = NoKey, fmt.Errorf("%w for session %d to %s", ErrNoKey, uint16(h.SessionID), dst)
		return o
	}
	for j := len(idx) - 1; j >= 0; j-- {
		r := &k.recs[idx[j]]
		dir, node := R2I, r.Responder.Node
		if r.Responder.Addr == dst && r.Responder.SessionID == uint16(h.SessionID) {
			dir, node = I2R, r.Initiator.Node
		}
		if r.Kind != session.CASE {
			node = 0 // PASE: node id 0 both ways (spec 4.8.1.1)
		}
		plain, err := security.OpenMessage(k.buf[:0], k.cipher(idx[j], dir), datagram, n, node)
		if err != nil {
			continue
		}
		k.buf = plain[:0]
		o.Status, o.Plain, o.Record, o.Dir = Decrypted, plain, r, dir
		return o
	}
	o.Status, o.Err = AuthFailed, fmt.Errorf("%w: session %d to %s (%d key log records tried)", ErrAuth, uint16(h.SessionID), dst, len(idx))
	return o
}

func (k *Keyring) openGroup(o Opened, datagram []byte) Opened {
	sid := uint16(o.Header.SessionID)
	idx := k.bySID[sid]
	if len(idx) == 0 {
		o.Status, o.Err = NoKey, fmt.Errorf("%w for group session %d", ErrNoKey, sid)
		return o
	}
	privacy := o.Header.Flags.Privacy()
	for _, i := range idx {
		r := &k.groups[i]
		buf := append(k.hdr[:0], datagram...)
		k.hdr = buf
		if privacy {
			if security.NewPrivacy(security.DerivePrivacyKey(r.Operational)).Deobfuscate(buf) != nil {
				continue
			}
		}
		var h message.Header
		n, err := h.Decode(buf)
		if err != nil || !h.HasSource {
			continue
		}
		plain, err := security.OpenMessage(k.buf[:0], k.gccms[i], buf, n, h.Source)
		if err != nil {
			continue
		}
		k.buf = plain[:0]
		o.Status, o.Header, o.HeaderLen, o.Clear, o.Plain, o.Group = Decrypted, h, n, buf[:n], plain, r
		return o
	}
	o.Status, o.Err = AuthFailed, fmt.Errorf("%w: group session %d (%d group keys tried)", ErrAuth, sid, len(idx))
	return o
}
