package counter

import "fmt"

// MinIncrement is the look-ahead of a persisted group counter: the store
// always holds a value at least this far beyond the last one persisted, so
// a reboot skips at most MinIncrement values and never reuses one
// (connectedhomeip src/transport/GroupPeerMessageCounter.h
// GROUP_MSG_COUNTER_MIN_INCREMENT).
const MinIncrement = 1000

// Storage keys of the two group counters (connectedhomeip
// DefaultStorageKeyAllocator GroupDataCounter / GroupControlCounter).
const (
	KeyGroupData    = "GroupDataCounter"
	KeyGroupControl = "GroupControlCounter"
)

// Store persists group counters across (simulated) reboots. Load reports
// ok=false when nothing is stored under key. Implementations decide what a
// "reboot" keeps; MemStore keeps everything.
type Store interface {
	Load(key string) (v uint32, ok bool, err error)
	Save(key string, v uint32) error
}

// MemStore is an in-memory Store; share one value between successive Group
// counters to model a node that reboots. The zero value is an empty,
// usable store. Not safe for concurrent use.
type MemStore struct {
	m map[string]uint32
}

var _ Store = (*MemStore)(nil)

// Load returns the value stored under key.
func (s *MemStore) Load(key string) (uint32, bool, error) {
	v, ok := s.m[key]
	return v, ok, nil
}

// Save stores v under key.
func (s *MemStore) Save(key string, v uint32) error {
	if s.m == nil {
		s.m = make(map[string]uint32)
	}
	s.m[key] = v
	return nil
}

// StoreError is a Store failure seen by a Group counter.
type StoreError struct {
	Key string
	Op  string // "load" or "save"
	Err error
}

var _ error = (*StoreError)(nil)

func (e *StoreError) Error() string {
	return fmt.Sprintf("counter: %s group counter %q: %v", e.Op, e.Key, e.Err)
}

func (e *StoreError) Unwrap() error { return e.Err }

// Group is a persisted global group counter (data or control; spec 4.6.1,
// "Spec 4.5.1.3" in the SDK comments). At creation its value V is the
// stored value, or random in [1, 2^28] if none, and V+MinIncrement is
// stored; whenever the counter reaches the stored value, the store is
// advanced by MinIncrement before that value is used. It wraps mod 2^32
// (receivers use rollover rules). Not safe for concurrent use; the zero
// value is not usable (use NewGroup).
type Group struct {
	store Store
	key   string
	next  uint32
	limit uint32 // the stored value: every value below it may have been used
}

// NewGroup loads (or initializes from src) the counter stored under key.
// src is consulted only when the store holds nothing.
func NewGroup(store Store, key string, src Source) (*Group, error) {
	v, ok, err := store.Load(key)
	if err != nil {
		return nil, &StoreError{Key: key, Op: "load", Err: err}
	}
	if !ok {
		v = InitialValue(src)
	}
	g := &Group{store: store, key: key, next: v}
	if err := g.advance(v + MinIncrement); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *Group) advance(limit uint32) error {
	if err := g.store.Save(g.key, limit); err != nil {
		return &StoreError{Key: g.key, Op: "save", Err: err}
	}
	g.limit = limit
	return nil
}

// Next returns the counter for the next group message and advances. It
// fails only if the store fails, in which case the value is not used.
func (g *Group) Next() (uint32, error) {
	if g.next == g.limit {
		if err := g.advance(g.limit + MinIncrement); err != nil {
			return 0, err
		}
	}
	v := g.next
	g.next++
	return v, nil
}

// Peek returns the value Next would return.
func (g *Group) Peek() uint32 { return g.next }

// Key returns the storage key.
func (g *Group) Key() string { return g.key }
