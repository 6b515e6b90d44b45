// Package sim is mattersim's discrete-event simulator: one virtual clock, one
// event queue, and a network of virtual nodes, each running a real gVisor
// IPv6/UDP stack, joined by a switch that models latency, multicast
// membership, partitions and per-link fault stages.
//
// # Network modes
//
// A node's stack is its host (host.go), the one seam between its sockets
// and the switch. In ModeNetstack (the default) it is a gVisor stack; in
// ModeDirect (NetConfig.Mode) there is none: the node builds the IPv6/UDP
// frame gVisor would write and hands it to the switch, and checks and
// queues the frames it receives itself (direct.go). The switch, fault
// stages, taps, observers, trace and capture are the same code in both, and
// a run gives byte-identical frames, traces and event counts in either mode
// for datagrams up to MaxDirectPayload bytes.
//
// # Event order and determinism
//
// Engine pops events from a heap keyed by (time, insertion sequence): no two
// events tie, and events due at the same instant run in the order they were
// scheduled. The loop sets the virtual clock to each event's time before
// running it. Nothing runs on another goroutine: stacks arm their timers
// through netclock (on the same queue), frames leave a stack synchronously
// into the switch, and every delivery is a queued event. Randomness comes
// from Seeds: one stream per (node, purpose), seeded by hashing the run
// seed, node and purpose, so a run is a pure function of (scenario, seed)
// and its Trace is byte-identical across runs (house style 3 and 4).
//
// # Driving loop
//
//	e := sim.New(seed)
//	n, _ := sim.NewNetwork(e, sim.NetConfig{})
//	a, _ := n.AddNode()
//	b, _ := n.AddNode()
//	app, _ := sim.BindApp(b, sim.MatterPort)
//	s, _ := a.Bind(sim.MatterPort, handler)
//	s.Send(netip.AddrPortFrom(b.Addr(), sim.MatterPort), payload)
//	e.RunUntil(clock.Time(time.Second))
//
// Handlers (Socket applications, Timer callbacks, taps, schedules) run one
// at a time on the loop and may schedule more events, send, or change the
// network; they must not run the engine themselves.
//
// # External port
//
// Network.AddPort adds one node with no stack whose frames come from
// outside (PortInput) and go out through a Port (bridge.go): the switch
// routes to it what no virtual node owns and every multicast frame, and its
// links take partitions and fault stages as any. sim/bridge attaches it to
// a Linux TAP and runs the engine in real time; only that input is outside
// the seed.
package sim
