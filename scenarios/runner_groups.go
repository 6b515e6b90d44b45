package scenarios

import (
	"fmt"
	"io"
	"time"

	"mattersim/clock"
	"mattersim/nodes"
	"mattersim/session"
	"mattersim/session/counter"
	"mattersim/session/group"
	"mattersim/session/message"
	"mattersim/sim"
)

// The network's one fabric, for group messaging: local index 1 on every
// node (as nodes.InstallKeys' CASE stand-in uses), a fixed fabric id (it
// only names the multicast addresses), and a compressed fabric id drawn
// from the seed (the salt of the operational group keys, spec 4.17.2).
const (
	groupFabricIndex = 1
	groupFabricID    = 1
	groupKeySetBase  = 0x100 // key set of groups[i]: groupKeySetBase + i
)

// groupPlan is what the runner provisions for groups: per node, the groups
// it holds (member or sender) and the ones it receives.
type groupPlan struct {
	cfid    [8]byte
	keySets []group.KeySet // per groups[i]
	holds   [][]int        // node → indexes into s.Groups
	member  [][]bool       // node → per group: receives it
}

func newGroupPlan(s *Scenario, seeds sim.Seeds, n int) (*groupPlan, error) {
	if len(s.Groups) == 0 {
		return nil, nil
	}
	gp := &groupPlan{holds: make([][]int, n), member: make([][]bool, n)}
	if _, err := io.ReadFull(seeds.ChaCha8(sim.NoNode, "groups/fabric"), gp.cfid[:]); err != nil {
		return nil, err
	}
	for gi := range s.Groups {
		g := &s.Groups[gi]
		var ek group.EpochKey
		if _, err := io.ReadFull(seeds.ChaCha8(sim.NoNode, "groups/keys/"+g.Name), ek.Key[:]); err != nil {
			return nil, err
		}
		gp.keySets = append(gp.keySets, group.KeySet{ID: uint16(groupKeySetBase + gi), Policy: g.Policy.session(), Epochs: []group.EpochKey{ek}})
		ix, err := s.Select(g.Members)
		if err != nil {
			return nil, err
		}
		for _, i := range ix {
			gp.hold(i, gi, len(s.Groups))
			gp.member[i][gi] = true
		}
	}
	for ti := range s.Traffic {
		t := &s.Traffic[ti]
		if t.Op != OpGroupInvoke {
			continue
		}
		gi := s.groupIndex(t.Group)
		ix, err := s.Select(t.From)
		if err != nil {
			return nil, err
		}
		for _, i := range ix {
			gp.hold(i, gi, len(s.Groups))
		}
	}
	return gp, nil
}

func (gp *groupPlan) hold(i, gi, ngroups int) {
	if gp.member[i] == nil {
		gp.member[i] = make([]bool, ngroups)
	}
	for _, h := range gp.holds[i] {
		if h == gi {
			return
		}
	}
	gp.holds[i] = append(gp.holds[i], gi)
}

func (s *Scenario) groupIndex(name string) int {
	for i := range s.Groups {
		if s.Groups[i].Name == name {
			return i
		}
	}
	return -1
}

// provision gives node i (operational node id id) its fabric, key sets and
// groups on a fresh core, and its group counters from the node's Store, so
// that a rebooted node keeps them with their look-ahead (spec 4.6.1). It
// runs in every boot's CoreFactory.
func (gp *groupPlan) provision(s *Scenario, m *session.Manager, i int, id message.NodeID, st *nodes.Store) error {
	if gp == nil || len(gp.holds[i]) == 0 {
		return nil
	}
	if err := m.AddFabric(session.Fabric{Index: groupFabricIndex, ID: groupFabricID, CompressedID: gp.cfid, NodeID: id}); err != nil {
		return err
	}
	if st != nil {
		if err := m.SetGroupCounterStore(counter.Store(st)); err != nil {
			return err
		}
	}
	for _, gi := range gp.holds[i] {
		g := &s.Groups[gi]
		if err := m.SetKeySet(groupFabricIndex, gp.keySets[gi]); err != nil {
			return fmt.Errorf("group %s: %w", g.Name, err)
		}
		priv := session.PrivacyOn
		if g.Privacy == PrivacyOff {
			priv = session.PrivacyOff
		}
		if err := m.AddGroup(session.Group{Fabric: groupFabricIndex, ID: message.GroupID(g.ID), KeySet: gp.keySets[gi].ID,
			Policy: g.Policy.session(), Privacy: priv}); err != nil {
			return fmt.Errorf("group %s: %w", g.Name, err)
		}
	}
	return nil
}

// join makes node i's stack a member of the multicast address of every
// group it receives.
func (gp *groupPlan) join(s *Scenario, i int, sn *sim.Node) error {
	if gp == nil {
		return nil
	}
	for gi, on := range gp.member[i] {
		if !on {
			continue
		}
		if err := sn.JoinGroup(group.MulticastAddr(groupFabricID, message.GroupID(s.Groups[gi].ID))); err != nil {
			return err
		}
	}
	return nil
}

// senders returns node i's group-invoke workloads.
func (gp *groupPlan) senders(s *Scenario, seeds sim.Seeds, i int) ([]nodes.Workload, error) {
	if gp == nil {
		return nil, nil
	}
	var out []nodes.Workload
	for ti := range s.Traffic {
		t := &s.Traffic[ti]
		if t.Op != OpGroupInvoke {
			continue
		}
		ix, err := s.Select(t.From)
		if err != nil {
			return nil, err
		}
		if !containsInt(ix, i) {
			continue
		}
		start, stop := s.Window(t)
		g := &nodes.GroupSender{Fabric: groupFabricIndex, Group: message.GroupID(s.Groups[s.groupIndex(t.Group)].ID),
			Command: t.Command.Path, From: startInstant(start), Until: startInstant(stop),
			Interval: t.Interval.D(), Jitter: t.Jitter.Of(t.Interval.D()),
			Rand: seeds.Stream(i, "workload/group/"+trafficName(t, ti))}
		if err := g.Validate(); err != nil {
			return nil, fmt.Errorf("traffic %s: %w", trafficName(t, ti), err)
		}
		out = append(out, g)
	}
	return out, nil
}

// GroupConfig returns every node's group reception settings
// (session.GroupConfig) from group_sync.
func (s *Scenario) GroupConfig() session.GroupConfig {
	gs := &s.GroupSync
	c := session.GroupConfig{
		SyncReqJitter:    0, // the core's default, 500 ms
		SyncTimeout:      gs.Timeout.D(),
		SyncQueue:        gs.Queue,
		DataPeers:        gs.Peers,
		ControlPeers:     gs.ControlPeers,
		ResponseInterval: gs.ResponseInterval.D(),
	}
	if j := gs.RequestJitter; j != nil {
		c.SyncReqJitter = j.D()
		if c.SyncReqJitter == 0 {
			c.SyncReqJitter = -1 // the core's "no wait"
		}
	}
	switch gs.WindowInit {
	case WindowInitSDK:
		c.WindowInit = counter.InitSDK
	default:
		c.WindowInit = counter.InitSpec
	}
	if gs.SyncInit == WindowInitSpec {
		c.SyncInit = counter.InitSpec
	}
	if gs.QueueDrop == DropOldest {
		c.SyncQueueDrop = session.DropOldest
	}
	return c
}

func (p GroupPolicy) session() group.Policy {
	if p == PolicyCacheAndSync {
		return group.CacheAndSync
	}
	return group.TrustFirst
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func startInstant(d time.Duration) clock.Time { return clock.Time(d) }

func trafficName(t *Traffic, i int) string {
	if t.Name != "" {
		return t.Name
	}
	return fmt.Sprintf("traffic[%d]", i)
}
