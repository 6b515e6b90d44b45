package scenarios

import (
	"bufio"
	"fmt"
	"net/netip"

	"mattersim/clock"
	"mattersim/nodes"
	"mattersim/session"
	"mattersim/session/message"
	"mattersim/sim"
	"mattersim/sim/capture"
)

// captures are the run's key log and plaintext capture (RunConfig.KeyLog,
// RunConfig.PcapPlaintext), both fed from the sessions the nodes install.
type captures struct {
	keylog *capture.KeyLog
	ring   capture.Keyring
	plain  *sim.Pcap
	bw     *bufio.Writer
	nodeAt map[netip.AddrPort]message.NodeID // operational node id by address
	groups map[[16]byte]bool                 // group keys logged
}

// setupCaptures opens the key log and the plaintext capture the run asked
// for. The plaintext capture taps the switch with the wire capture (Tee)
// or alone.
func (d *Net) setupCaptures(sn *sim.Network) error {
	rc := d.rc
	if rc.KeyLog == nil && rc.PcapPlaintext == nil {
		return nil
	}
	c := &captures{nodeAt: make(map[netip.AddrPort]message.NodeID), groups: make(map[[16]byte]bool)}
	if rc.KeyLog != nil {
		c.keylog = capture.NewKeyLog(rc.KeyLog)
	}
	if rc.PcapPlaintext != nil {
		c.bw = bufio.NewWriterSize(rc.PcapPlaintext, 64<<10)
		p, err := sim.NewPcap(c.bw)
		if err != nil {
			return fmt.Errorf("scenarios: plaintext pcap: %w", err)
		}
		p.SetRewrite(capture.NewPlaintexter(&c.ring).Rewrite)
		c.plain = p
		if d.pcap != nil {
			d.pcap.Tee(p)
		} else {
			sn.SetPcap(p)
		}
	}
	d.caps = c
	return nil
}

// watchKeys enters nd's group keys (provisioned when it was built) in the
// key log and the plaintext capture's keyring, and makes nd report every
// secure session it installs to both, chained after nd's hook.
func (d *Net) watchKeys(nd *nodes.Node) {
	c := d.caps
	if c == nil {
		return
	}
	c.nodeAt[nd.Addr()] = nd.NodeID()
	for _, k := range nd.Manager().GroupKeys() {
		if c.groups[k.Operational] {
			continue // another member's copy
		}
		c.groups[k.Operational] = true
		r := capture.NewGroupRecord(d.Engine.Now(), k)
		if c.keylog != nil {
			c.keylog.AddGroup(r)
		}
		c.ring.AddGroup(r)
	}
	prev := nd.OnEvent
	nd.OnEvent = func(now clock.Time, n *nodes.Node, ev *session.Event, injected bool) {
		if prev != nil {
			prev(now, n, ev, injected)
		}
		if ev.Kind != session.EventSessionOpened || !ev.Session.Secure() {
			return
		}
		k, ok := n.Manager().SessionKeys(ev.Session)
		if !ok {
			return
		}
		r := capture.NewSessionRecord(now, k, n.Addr(), n.NodeID(), c.nodeAt[k.Peer])
		if c.keylog != nil && !c.keylog.Add(r) {
			return // the other side's report of a logged session
		}
		c.ring.Add(r)
	}
}

// flushCaptures flushes the key log and the plaintext capture.
func (d *Net) flushCaptures() error {
	c := d.caps
	if c == nil {
		return nil
	}
	var err error
	if c.keylog != nil {
		err = c.keylog.Flush()
	}
	if c.bw != nil {
		if ferr := c.bw.Flush(); ferr != nil && err == nil {
			err = ferr
		}
		if perr := c.plain.Err(); perr != nil && err == nil {
			err = perr
		}
	}
	return err
}
