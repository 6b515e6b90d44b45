package scenarios

import (
	"fmt"
	"io"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/nodes"
	"mattersim/nodes/commissionee"
	"mattersim/nodes/commissioner"
	"mattersim/session/cert"
	"mattersim/session/cert/testca"
	"mattersim/sim"
)

// commissionEstablisher returns the establisher of `establishment:
// commission`: one fabric per controller, minted by the test CA from a
// seed drawn from the run's (NoNode, "establish/commission/ca/<c>")
// stream (fabric id c+1, the controller's NOC carrying
// controllerNodeID(c)); devices get their NOC from their controller
// during commissioning, with DeviceNodeID(i). Each controller's
// randomness is its (node, "establish/commission") stream; its
// resumption table holds a record per device it serves. Certificates are
// checked at caseEpoch, as in CASE runs.
func commissionEstablisher(s *Scenario, seeds sim.Seeds, groupOf []int, ctrls []int, served [][]int) (*nodes.Commission, error) {
	ordinal := make(map[int]int, len(ctrls))
	fabs := make([]*commissioner.Fabric, len(ctrls))
	for c, i := range ctrls {
		ordinal[i] = c
		seed := seeds.Stream(sim.NoNode, fmt.Sprintf("establish/commission/ca/%d", c)).Uint64()
		tf, err := testca.Mint(testca.Options{Seed: seed, FabricID: uint64(c) + 1, FirstNodeID: uint64(controllerNodeID(c))})
		if err != nil {
			return nil, fmt.Errorf("scenarios: controller %d fabric: %w", i, err)
		}
		if fabs[c], err = commissioner.FabricFromTestCA(tf, 0); err != nil {
			return nil, fmt.Errorf("scenarios: controller %d fabric: %w", i, err)
		}
	}
	e := s.Establishment
	return &nodes.Commission{
		Fabric: func(n *nodes.Node) (*commissioner.Fabric, error) {
			c, ok := ordinal[n.Index()]
			if !ok {
				return nil, fmt.Errorf("node %d is not a controller", n.Index())
			}
			return fabs[c], nil
		},
		Passcode: func(n *nodes.Node) uint32 { return s.Nodes[groupOf[n.Index()]].PasscodeOrDefault() },
		Rand:     func(n *nodes.Node) io.Reader { return seeds.ChaCha8(n.Index(), "establish/commission") },
		ResumptionCapacity: func(n *nodes.Node) int {
			return max(nodes.DefaultResumptionCapacity, len(served[ordinal[n.Index()]]))
		},
		Epoch:    caseEpoch,
		InFlight: e.Concurrency,
		Backoff:  e.Backoff.D(),
		Attempts: e.Attempts,
		Timeout:  e.Timeout.D(),
	}, nil
}

// commissionees installs the commissionable stack (nodes/commissionee)
// on every device, under its workload: the device answers PASE, the
// commissioning clusters, CASE and the Interaction Model itself (the
// on/off light's data model, im.NewCommissionableLight), and keeps its
// fabric table across reboots (Handshaker.Persist). Its passcode is its
// group's (or RunConfig's), its randomness the (node,
// "commissionee/rand") stream, its first DataVersion drawn from
// (node, "commissionee/dataversion").
func (d *Net) commissionees(rc RunConfig) error {
	seeds := d.Engine.Seeds()
	s := d.Scenario
	groupOf := func(i int) int {
		for g := len(s.Nodes) - 1; g >= 0; g-- {
			if i >= s.FirstNode(g) {
				return g
			}
		}
		return 0
	}
	epoch := func(clock.Time) cert.Time { return caseEpoch }
	for _, i := range d.Devices {
		code := s.Nodes[groupOf(i)].PasscodeOrDefault()
		if rc.devicePasscode != nil {
			code = rc.devicePasscode(i)
		}
		h, err := commissionee.NewHandshaker(d.Nodes[i], commissionee.Config{Passcode: code,
			Rand: seeds.ChaCha8(i, "commissionee/rand"), Epoch: epoch, Info: im.InteropBasicInfo(),
			DataVersion: uint32(seeds.Stream(i, "commissionee/dataversion").Uint64())})
		if err != nil {
			return fmt.Errorf("scenarios: device %d: %w", i, err)
		}
		h.Persist = true
		d.Commissionees = append(d.Commissionees, h)
	}
	return nil
}
