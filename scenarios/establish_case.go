package scenarios

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"mattersim/nodes"
	"mattersim/session/casesess"
	"mattersim/session/cert"
	"mattersim/session/cert/testca"
	"mattersim/sim"
)

// caseEpoch is the Matter epoch time of virtual time 0 in CASE runs,
// 2026-01-01T00:00:00Z: inside the test CA's validity (not before
// 2020-01-01, no expiry), and fixed so that a run stays a pure function of
// scenario and seed.
var caseEpoch = func() cert.Time {
	t, _ := cert.Date(2026, 1, 1, 0, 0, 0)
	return t
}()

// caseFabricIndex is the local fabric index of the simulated fabric on
// every node.
const caseFabricIndex = 1

// caseEstablisher commissions the network into one fabric and returns the
// CASE establisher over it. The test CA mints the fabric from a seed drawn
// from the run's (NoNode, "establish/case/ca") stream: the root (no ICAC),
// the IPK epoch key, and one NOC per node index carrying the node's
// operational id (DeviceNodeID(i) for node i; the controllers' NOCs, ids
// controllerNodeID(c), come from a second mint with the same seed, hence
// the same root and IPK). Each node's handshake randomness is its
// (node, "establish/case") stream. Devices keep the SDK's default number
// of resumption records (nodes.DefaultResumptionCapacity); a controller
// keeps at least one per device it serves (served[c]).
func caseEstablisher(s *Scenario, seeds sim.Seeds, n int, ctrls []int, served [][]int) (*nodes.CASE, error) {
	seed := seeds.Stream(sim.NoNode, "establish/case/ca").Uint64()
	devs, err := testca.Mint(testca.Options{Seed: seed, Nodes: n, FirstNodeID: uint64(DeviceNodeID(0))})
	if err != nil {
		return nil, fmt.Errorf("scenarios: CASE fabric: %w", err)
	}
	cf, err := testca.Mint(testca.Options{Seed: seed, Nodes: max(len(ctrls), 1), FirstNodeID: uint64(controllerNodeID(0))})
	if err != nil {
		return nil, fmt.Errorf("scenarios: CASE fabric: %w", err)
	}
	ctrlOrdinal := make(map[int]int, len(ctrls))
	for c, i := range ctrls {
		ctrlOrdinal[i] = c
	}
	// Each node's credentials: NewFabric verifies the node's chain (one
	// ECDSA verification, the larger part of building a CASE network), so
	// they are made on GOMAXPROCS goroutines, each result stored by node
	// index: the network is the same whatever the scheduling.
	fabs := make([]*casesess.Fabric, n)
	errs := make([]error, n)
	workers := min(runtime.GOMAXPROCS(0), max(n, 1))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				if c, ok := ctrlOrdinal[i]; ok {
					fabs[i], errs[i] = casesess.FabricFromTestCA(caseFabricIndex, cf, c)
				} else {
					fabs[i], errs[i] = casesess.FabricFromTestCA(caseFabricIndex, devs, i)
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("scenarios: CASE credentials: %w", err)
	}
	e := s.Establishment
	return &nodes.CASE{
		Credentials: func(nd *nodes.Node) (*casesess.Fabric, error) { return fabs[nd.Index()], nil },
		Rand:        func(nd *nodes.Node) io.Reader { return seeds.ChaCha8(nd.Index(), "establish/case") },
		ResumptionCapacity: func(nd *nodes.Node) int {
			if c, ok := ctrlOrdinal[nd.Index()]; ok {
				return max(nodes.DefaultResumptionCapacity, len(served[c]))
			}
			return nodes.DefaultResumptionCapacity
		},
		Epoch:    caseEpoch,
		InFlight: e.Concurrency,
		Backoff:  e.Backoff.D(),
		Attempts: e.Attempts,
		Timeout:  e.Timeout.D(),
	}, nil
}
