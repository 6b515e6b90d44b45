package casesess

import "sort"

// Records returns the table's records oldest first (in the order they
// were saved), so that saving them in that order into an empty table of
// the same capacity rebuilds it with the same eviction order: what a
// node writes to storage to resume sessions after a restart
// (connectedhomeip DefaultSessionResumptionStorage keeps them in the
// key-value store). The records share their slices with the table: do
// not modify them.
func (t *Resumption) Records() []Record {
	if t == nil {
		return nil
	}
	es := make([]*entry, 0, len(t.byPeer))
	for _, e := range t.byPeer {
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool { return es[i].seq < es[j].seq })
	out := make([]Record, len(es))
	for i, e := range es {
		out[i] = e.rec
	}
	return out
}
