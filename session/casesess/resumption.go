package casesess

// Peer names a node on a fabric: the SDK's ScopedNodeId. A plain value.
type Peer struct {
	FabricIndex uint8
	NodeID      uint64
}

// Record is what a node keeps of a CASE session to resume it later (spec
// 4.14.2.5; connectedhomeip SessionResumptionStorage: resumption id, shared
// secret, peer CATs, keyed by the peer's ScopedNodeId). A Record returned by
// a Resumption shares its slices with the table: do not modify them.
type Record struct {
	Peer         Peer
	ResumptionID [ResumptionIDLen]byte
	SharedSecret []byte // the ECDH shared secret of the full handshake
	PeerCATs     []uint32
}

// DefaultResumptionCapacity is the number of records a Resumption table
// holds by default (connectedhomeip CHIP_CONFIG_CASE_SESSION_RESUME_CACHE_SIZE
// is 4 * CHIP_CONFIG_MAX_FABRICS, 64 with 16 fabrics; matter.js keeps
// one per peer without bound). A node in a simulation rarely talks to more.
const DefaultResumptionCapacity = 16

// Resumption is a bounded table of resumption records, one per peer, used
// by both roles: an initiator looks its peer up to offer a resumption in
// Sigma1, a responder looks the offered resumption id up. Saving a record
// replaces the peer's previous one; when the table is full the record saved
// longest ago is evicted. Eviction order depends only on the order of
// calls, never on map iteration. The zero value is not usable; make it with
// NewResumption. Not safe for concurrent use.
type Resumption struct {
	capacity int
	seq      uint64
	byPeer   map[Peer]*entry
	byID     map[[ResumptionIDLen]byte]*entry
}

type entry struct {
	rec Record
	seq uint64 // when it was saved
}

// NewResumption returns an empty table for capacity records (0 means
// DefaultResumptionCapacity).
func NewResumption(capacity int) *Resumption {
	if capacity <= 0 {
		capacity = DefaultResumptionCapacity
	}
	return &Resumption{capacity: capacity, byPeer: map[Peer]*entry{}, byID: map[[ResumptionIDLen]byte]*entry{}}
}

// Len returns the number of records.
func (t *Resumption) Len() int { return len(t.byPeer) }

// Save stores rec, replacing any record for the same peer or with the same
// resumption id, and evicts the oldest record if the table is over capacity.
// rec's slices are copied.
func (t *Resumption) Save(rec Record) {
	if e, ok := t.byPeer[rec.Peer]; ok {
		t.remove(e)
	}
	if e, ok := t.byID[rec.ResumptionID]; ok {
		t.remove(e)
	}
	rec.SharedSecret = append([]byte(nil), rec.SharedSecret...)
	rec.PeerCATs = append([]uint32(nil), rec.PeerCATs...)
	t.seq++
	e := &entry{rec: rec, seq: t.seq}
	t.byPeer[rec.Peer] = e
	t.byID[rec.ResumptionID] = e
	for len(t.byPeer) > t.capacity {
		var oldest *entry
		for _, c := range t.byPeer { // the minimum is unique: seq increases
			if oldest == nil || c.seq < oldest.seq {
				oldest = c
			}
		}
		t.remove(oldest)
	}
}

func (t *Resumption) remove(e *entry) {
	delete(t.byPeer, e.rec.Peer)
	delete(t.byID, e.rec.ResumptionID)
}

// ByPeer returns the record for p.
func (t *Resumption) ByPeer(p Peer) (Record, bool) {
	if t == nil {
		return Record{}, false
	}
	e, ok := t.byPeer[p]
	if !ok {
		return Record{}, false
	}
	return e.rec, true
}

// ByID returns the record with resumption id id.
func (t *Resumption) ByID(id [ResumptionIDLen]byte) (Record, bool) {
	if t == nil {
		return Record{}, false
	}
	e, ok := t.byID[id]
	if !ok {
		return Record{}, false
	}
	return e.rec, true
}

// Delete removes the record for p (when its fabric is removed or the peer
// is forgotten).
func (t *Resumption) Delete(p Peer) {
	if e, ok := t.byPeer[p]; ok {
		t.remove(e)
	}
}

// DeleteFabric removes every record of fabric index: a removed fabric's
// resumption state must not outlive it, or a later fabric given the same
// index would accept a resumption minted on the old one (connectedhomeip
// Server's fabric delegate OnFabricRemoved calls
// SessionResumptionStorage::DeleteAll(fabricIndex)).
func (t *Resumption) DeleteFabric(index uint8) {
	if t == nil {
		return
	}
	for p, e := range t.byPeer {
		if p.FabricIndex == index {
			t.remove(e)
		}
	}
}
