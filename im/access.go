package im

// Accessor is who a request comes from, as the access checks and the
// fabric-scoped attributes see it (spec 6.6.2 "Subject", 7.5.2 accessing
// fabric). The driver sets Node.Accessor before each request.
type Accessor struct {
	AuthMode    uint8 // fabrics.AuthPASE, AuthCASE, AuthGroup (spec 9.10.4.3)
	FabricIndex uint8 // accessing fabric, 0 over PASE before AddNOC
	NodeID      uint64
	CATs        []uint32
	// FabricFiltered is the request's IsFabricFiltered (spec 8.9.2): a
	// fabric-scoped list then shows only the accessing fabric's entries.
	FabricFiltered bool
	// Session identifies the secure session (opaque to im), for commands
	// that need its attestation challenge.
	Session any
}

// Privileges (spec 9.10.4.2 AccessControlEntryPrivilegeEnum).
const (
	PrivilegeView       uint8 = 1
	PrivilegeOperate    uint8 = 3
	PrivilegeManage     uint8 = 4
	PrivilegeAdminister uint8 = 5
)

// canRead is the access check of a read (View, spec 8.4.3.2): true when the
// node has no Authorize hook or no Accessor.
func (s *Server) canRead(ep uint16, cluster uint32) bool {
	n := s.Node
	return n.Authorize == nil || n.Accessor == nil || n.Authorize(n.Accessor, ep, cluster, PrivilegeView)
}
