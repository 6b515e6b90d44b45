package im

import (
	"slices"

	"mattersim/tlv"
)

// Node is the data model of one virtual device: its endpoints, each with
// server clusters (spec 7.9 "Endpoint", 7.10 "Cluster"). Endpoints and
// clusters are kept sorted by ID, so wildcard expansion is ordered and
// deterministic. The zero value is an empty node. A Node is not safe for
// concurrent use.
type Node struct {
	Endpoints []*Endpoint
	// OnChange, if set, is called after a command changes an attribute.
	OnChange func(p AttributePath)
}

// Endpoint is one endpoint of a Node.
type Endpoint struct {
	ID       uint16
	Clusters []*Cluster
}

// Cluster is one server cluster instance. The global attributes
// AttributeList, AcceptedCommandList, GeneratedCommandList, FeatureMap and
// ClusterRevision (spec 7.13) are derived by the Server; Attributes holds
// only the cluster-specific ones.
type Cluster struct {
	ID          uint32
	Revision    uint16 // ClusterRevision (0xFFFD)
	FeatureMap  uint32 // FeatureMap (0xFFFC)
	DataVersion uint32 // spec 7.10.3: changes whenever any attribute value changes
	Attributes  []Attribute
	Commands    []Command
	// Writers makes attributes writable (the Write interaction); an
	// attribute without one answers a write with UNSUPPORTED_WRITE.
	Writers []AttributeWriter
	// TimedCommands lists the commands with the Timed quality: invoked
	// outside a Timed interaction they get NEEDS_TIMED_INTERACTION.
	TimedCommands []uint32
}

// AttributeWriter accepts writes of attribute ID. Write receives the new
// value and returns the status for the AttributeStatusIB; on a change it
// should update the value and call Node.NoteChange (which moves the
// DataVersion and tells subscriptions). Timed marks an attribute with the
// Timed quality ("T" in the cluster specifications): a write outside a Timed interaction gets
// NEEDS_TIMED_INTERACTION.
type AttributeWriter struct {
	ID    uint32
	Timed bool
	Write func(v Value) Status
}

// Attribute is one readable attribute. Encode writes the current value with
// tag t.
type Attribute struct {
	ID     uint32
	Encode func(w *tlv.Writer, t tlv.Tag)
}

// Command is one accepted command. Invoke receives the CommandFields (nil
// when absent) and returns the status for the CommandStatusIB. Commands
// here have no response data.
type Command struct {
	ID     uint32
	Invoke func(fields Value) Status
}

// Endpoint returns the endpoint with the given ID, or nil.
func (n *Node) Endpoint(id uint16) *Endpoint {
	i, ok := slices.BinarySearchFunc(n.Endpoints, id, func(e *Endpoint, id uint16) int { return int(e.ID) - int(id) })
	if !ok {
		return nil
	}
	return n.Endpoints[i]
}

// AddEndpoint inserts e keeping the order by ID; an existing endpoint with
// the same ID is replaced.
func (n *Node) AddEndpoint(e *Endpoint) {
	i, ok := slices.BinarySearchFunc(n.Endpoints, e.ID, func(e *Endpoint, id uint16) int { return int(e.ID) - int(id) })
	if ok {
		n.Endpoints[i] = e
		return
	}
	n.Endpoints = slices.Insert(n.Endpoints, i, e)
}

// Cluster returns the cluster with the given ID, or nil.
func (e *Endpoint) Cluster(id uint32) *Cluster {
	for _, c := range e.Clusters {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// AddCluster inserts c keeping the order by ID.
func (e *Endpoint) AddCluster(c *Cluster) {
	i, _ := slices.BinarySearchFunc(e.Clusters, c.ID, cmpCluster)
	e.Clusters = slices.Insert(e.Clusters, i, c)
}

func cmpCluster(c *Cluster, id uint32) int {
	switch {
	case c.ID < id:
		return -1
	case c.ID > id:
		return 1
	}
	return 0
}

// attributeIDs returns the IDs of every readable attribute of c, globals
// included, ascending (the AttributeList value, spec 7.13.2).
func (c *Cluster) attributeIDs() []uint32 {
	ids := make([]uint32, 0, len(c.Attributes)+5)
	for _, a := range c.Attributes {
		ids = append(ids, a.ID)
	}
	ids = append(ids, AttrGeneratedCommandList, AttrAcceptedCommandList, AttrAttributeList, AttrFeatureMap, AttrClusterRevision)
	slices.Sort(ids)
	return ids
}

// encodeAttribute writes attribute id of c with tag t; false if c has no
// such attribute.
func (c *Cluster) encodeAttribute(w *tlv.Writer, t tlv.Tag, id uint32) bool {
	switch id {
	case AttrClusterRevision:
		w.PutUint(t, uint64(c.Revision))
	case AttrFeatureMap:
		w.PutUint(t, uint64(c.FeatureMap))
	case AttrAttributeList:
		putUintArray(w, t, c.attributeIDs())
	case AttrAcceptedCommandList:
		ids := make([]uint32, 0, len(c.Commands))
		for _, cmd := range c.Commands {
			ids = append(ids, cmd.ID)
		}
		slices.Sort(ids)
		putUintArray(w, t, ids)
	case AttrGeneratedCommandList:
		putUintArray(w, t, nil)
	default:
		for _, a := range c.Attributes {
			if a.ID == id {
				a.Encode(w, t)
				return true
			}
		}
		return false
	}
	return true
}

func (c *Cluster) command(id uint32) *Command {
	for i := range c.Commands {
		if c.Commands[i].ID == id {
			return &c.Commands[i]
		}
	}
	return nil
}

func putUintArray(w *tlv.Writer, t tlv.Tag, v []uint32) {
	w.StartArray(t)
	for _, x := range v {
		w.PutUint(tlv.AnonymousTag(), uint64(x))
	}
	w.EndContainer()
}

// hasAttribute reports whether c serves attribute id (globals included).
func (c *Cluster) hasAttribute(id uint32) bool {
	switch id {
	case AttrClusterRevision, AttrFeatureMap, AttrAttributeList, AttrAcceptedCommandList, AttrGeneratedCommandList:
		return true
	}
	for _, a := range c.Attributes {
		if a.ID == id {
			return true
		}
	}
	return false
}

// NoteChange records that attribute attr of cluster c on endpoint ep
// changed: the cluster's DataVersion moves (spec 7.10.3) and OnChange, if
// set, hears the path (a SubscriptionEngine's MarkDirty).
func (n *Node) NoteChange(ep uint16, c *Cluster, attr uint32) {
	c.DataVersion++
	if n.OnChange != nil {
		n.OnChange(ConcreteAttribute(ep, c.ID, attr))
	}
}

func (c *Cluster) writer(id uint32) *AttributeWriter {
	for i := range c.Writers {
		if c.Writers[i].ID == id {
			return &c.Writers[i]
		}
	}
	return nil
}
