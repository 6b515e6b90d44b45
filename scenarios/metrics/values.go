package metrics

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"mattersim/nodes"
	"mattersim/sim"
)

// Values. Count metrics are integers (as float64), Ratio metrics in
// [0, 1], Duration metrics in seconds, Value metrics plain numbers. A
// distribution with no value has count 0 and every other field 0.

// getter computes one metric: grouped ones from a counters value (overall
// or one group's), the others from the collector.
type getter struct {
	grouped func(c *Collector, s *counters, g int) float64 // g: group index, -1 overall
	overall func(c *Collector) float64
}

var getters, dists = buildGetters()

// distGetter returns one distribution's histogram from a counters value.
type distGetter struct {
	kind Kind
	hist func(s *counters) *Hist
}

func u(v uint64) float64 { return float64(v) }

func ratio(num, den uint64) float64 {
	if den == 0 {
		return 1
	}
	return float64(num) / float64(den)
}

// unfinishedOps returns the operations of kind k started and not ended.
func (s *counters) unfinishedOps(k int) uint64 { return s.ops[k].sent - s.ops[k].ended }

func (s *counters) unfinishedPairings() uint64 {
	return s.pair.devices - s.pair.succeeded - s.pair.gaveUp
}

func (f *flow) inFlight() uint64 { return f.queued - f.delivered - f.deliveryDrops }

// unfinished sums the work s started and never ended, plus queued frames
// (inflight).
func (s *counters) unfinished(inflight uint64) uint64 {
	t := s.unfinishedPairings() + inflight
	for k := range s.ops {
		t += s.unfinishedOps(k)
	}
	return t
}

func buildGetters() (map[string]getter, map[string]distGetter) {
	m := map[string]getter{}
	ds := map[string]distGetter{}
	grp := func(name string, f func(c *Collector, s *counters, g int) float64) { m[name] = getter{grouped: f} }
	cnt := func(name string, f func(s *counters) uint64) {
		grp(name, func(_ *Collector, s *counters, _ int) float64 { return u(f(s)) })
	}
	all := func(name string, f func(c *Collector) float64) { m[name] = getter{overall: f} }
	dist := func(name string, k Kind, h func(s *counters) *Hist) {
		ds[name] = distGetter{k, h}
		scale := 1.0
		if k == Duration {
			scale = 1 / float64(time.Second)
		}
		fields := map[string]func(h *Hist) float64{
			"count": func(h *Hist) float64 { return u(h.Count()) },
			"min":   func(h *Hist) float64 { return float64(h.Min()) * scale },
			"mean":  func(h *Hist) float64 { return h.Mean() * scale },
			"p50":   func(h *Hist) float64 { return h.Quantile(0.5) * scale },
			"p90":   func(h *Hist) float64 { return h.Quantile(0.9) * scale },
			"p99":   func(h *Hist) float64 { return h.Quantile(0.99) * scale },
			"max":   func(h *Hist) float64 { return float64(h.Max()) * scale },
		}
		for _, f := range DistributionFields {
			get := fields[f]
			grp(name+"."+f, func(_ *Collector, s *counters, _ int) float64 { return get(h(s)) })
		}
	}
	for k, op := range Operations {
		cnt(op+".sent", func(s *counters) uint64 { return s.ops[k].sent })
		cnt(op+".answered", func(s *counters) uint64 { return s.ops[k].answered })
		cnt(op+".failed", func(s *counters) uint64 { return s.ops[k].failed })
		cnt(op+".gave_up", func(s *counters) uint64 { return s.ops[k].gaveUp })
		cnt(op+".timed_out", func(s *counters) uint64 { return s.ops[k].timedOut })
		cnt(op+".skipped", func(s *counters) uint64 { return s.ops[k].skipped })
		cnt(op+".aborted", func(s *counters) uint64 { return s.ops[k].aborted })
		cnt(op+".unfinished", func(s *counters) uint64 { return s.unfinishedOps(k) })
		cnt(op+".not_sent", func(s *counters) uint64 { return s.ops[k].notSent })
		grp(op+".answered_ratio", func(_ *Collector, s *counters, _ int) float64 {
			return ratio(s.ops[k].answered, s.ops[k].sent-s.unfinishedOps(k))
		})
		dist(operationLatency[op], Duration, func(s *counters) *Hist { return &s.ops[k].latency })
	}
	for name, f := range map[string]func(p *pairCounters) uint64{
		"devices":        func(p *pairCounters) uint64 { return p.devices },
		"succeeded":      func(p *pairCounters) uint64 { return p.succeeded },
		"gave_up":        func(p *pairCounters) uint64 { return p.gaveUp },
		"attempts":       func(p *pairCounters) uint64 { return p.attempts },
		"failed":         func(p *pairCounters) uint64 { return p.failed },
		"wrong_passcode": func(p *pairCounters) uint64 { return p.wrongPasscode },
		"busy":           func(p *pairCounters) uint64 { return p.busy },
		"timed_out":      func(p *pairCounters) uint64 { return p.timedOut },
		"no_ack":         func(p *pairCounters) uint64 { return p.noAck },
	} {
		cnt("pairings."+name, func(s *counters) uint64 { return f(&s.pair) })
	}
	cnt("pairings.unfinished", (*counters).unfinishedPairings)
	grp("pairings.success_ratio", func(_ *Collector, s *counters, _ int) float64 {
		return ratio(s.pair.succeeded, s.pair.devices)
	})
	dist("pairing_latency", Duration, func(s *counters) *Hist { return &s.pair.latency })

	for name, f := range map[string]func(k *caseCounters) uint64{
		"handshakes":       func(k *caseCounters) uint64 { return k.handshakes },
		"established":      func(k *caseCounters) uint64 { return k.established },
		"full":             func(k *caseCounters) uint64 { return k.full },
		"resumptions":      func(k *caseCounters) uint64 { return k.resumed },
		"resume_offered":   func(k *caseCounters) uint64 { return k.offered },
		"resume_fallbacks": func(k *caseCounters) uint64 { return k.fallbacks },
		"failures":         func(k *caseCounters) uint64 { return k.failed },
	} {
		cnt("case."+name, func(s *counters) uint64 { return f(&s.cas) })
	}
	for i, cause := range CASEFailures {
		cnt("case.failures."+cause, func(s *counters) uint64 { return s.cas.failures[i] })
	}
	grp("case.resumption_ratio", func(_ *Collector, s *counters, _ int) float64 {
		return ratio(s.cas.resumed, s.cas.established)
	})
	dist("case.handshake_latency", Duration, func(s *counters) *Hist { return &s.cas.latency })

	cnt("commission.started", func(s *counters) uint64 { return s.comm.started })
	cnt("commission.succeeded", func(s *counters) uint64 { return s.comm.succeeded })
	cnt("commission.failed", func(s *counters) uint64 { return s.comm.failed })
	cnt("commission.recovered", func(s *counters) uint64 { return s.comm.recovered })
	cnt("commission.devices", func(s *counters) uint64 { return s.comm.succeeded + s.comm.recovered })
	for i, st := range nodes.CommissionSteps {
		cnt("commission.failed."+st, func(s *counters) uint64 { return s.comm.failures[i] })
	}
	grp("commission.success_ratio", func(_ *Collector, s *counters, _ int) float64 {
		return ratio(s.comm.succeeded, s.comm.succeeded+s.comm.failed)
	})
	dist("commission.time", Duration, func(s *counters) *Hist { return &s.comm.time })
	grp("commission.time.p95", func(_ *Collector, s *counters, _ int) float64 {
		return s.comm.time.Quantile(0.95) / float64(time.Second)
	})

	for name, f := range map[string]func(s *counters) uint64{
		"sessions.opened":     func(s *counters) uint64 { return s.sessOpened },
		"sessions.closed":     func(s *counters) uint64 { return s.sessClosed },
		"sessions.evicted":    func(s *counters) uint64 { return s.sessEvicted },
		"sessions.defunct":    func(s *counters) uint64 { return s.sessDefunct },
		"messages.sent":       func(s *counters) uint64 { return s.msgSent },
		"messages.delivered":  func(s *counters) uint64 { return s.msgDelivered },
		"messages.duplicates": func(s *counters) uint64 { return s.msgDuplicates },
		"mrp.retransmissions": func(s *counters) uint64 { return s.retrans },
		"mrp.give_ups":        func(s *counters) uint64 { return s.giveUps },
		"mrp.acks":            func(s *counters) uint64 { return s.acks },
		"mrp.standalone_acks": func(s *counters) uint64 { return s.standaloneAcks },
		"nodes.total":         func(s *counters) uint64 { return s.nodes },
		"nodes.rebooted":      func(s *counters) uint64 { return s.rebooted },
		"nodes.powered_off":   func(s *counters) uint64 { return s.poweredOff },
	} {
		cnt(name, f)
	}
	dist("mrp.transmissions", Value, func(s *counters) *Hist { return &s.transmissions })
	for _, gc := range GroupCounts {
		cnt(gc.Name, func(s *counters) uint64 { return s.group[gc.Name] })
	}
	grp("mcsp.sync_success_ratio", func(_ *Collector, s *counters, _ int) float64 {
		return ratio(s.group["mcsp.synced"], s.group["mcsp.synced"]+s.group["mcsp.timeouts"])
	})
	dist("mcsp.sync_latency", Duration, func(s *counters) *Hist { return &s.syncLatency })
	for p, pn := range WindowPolicies {
		for v, vn := range WindowVerdicts {
			cnt("window."+pn+"."+vn, func(s *counters) uint64 { return s.window[p][v] })
		}
	}
	for _, sc := range SubsCounts {
		f := map[string]func(s *subCounters) uint64{
			"subs.requested": func(s *subCounters) uint64 { return s.requested }, "subs.established": func(s *subCounters) uint64 { return s.established },
			"subs.setup_failed": func(s *subCounters) uint64 { return s.setupFailed }, "subs.reports": func(s *subCounters) uint64 { return s.reports },
			"subs.keepalives": func(s *subCounters) uint64 { return s.keepalives }, "subs.liveness_failures": func(s *subCounters) uint64 { return s.liveness },
			"subs.resubscribes": func(s *subCounters) uint64 { return s.resubscribes }, "subs.changes": func(s *subCounters) uint64 { return s.changes },
		}[sc.Name]
		cnt(sc.Name, func(s *counters) uint64 { return f(&s.subs) })
	}
	grp("subs.unfinished", func(c *Collector, s *counters, g int) float64 { return u(c.unfinishedSubs(s, g)) })
	dist("subs.report_latency", Duration, func(s *counters) *Hist { return &s.subs.latency })
	grp("unfinished", func(c *Collector, s *counters, g int) float64 {
		if g < 0 {
			return u(s.unfinished(c.net.inFlight()) + c.unfinishedSubs(s, g))
		}
		return u(s.unfinished(s.queued-s.delivered-s.deliveryDrops) + c.unfinishedSubs(s, g))
	})

	netf := func(name string, f func(fl *flow) uint64) {
		all("network."+name, func(c *Collector) float64 { return u(f(&c.net)) })
	}
	netf("sent", func(fl *flow) uint64 { return fl.frames })
	netf("delivered", func(fl *flow) uint64 { return fl.delivered })
	netf("dropped", func(fl *flow) uint64 { return fl.dropped })
	netf("duplicated", func(fl *flow) uint64 { return fl.duplicated })
	netf("in_flight", (*flow).inFlight)
	for _, dc := range sim.DropCauses() {
		netf("dropped."+dc.String(), func(fl *flow) uint64 { return fl.drops.Of(dc) })
	}

	cls := func(c *Collector, ks ...nodes.InjectedClass) uint64 {
		var t uint64
		for _, k := range ks {
			t += c.classes[k]
		}
		return t
	}
	rep := func(name string, f func(c *Collector) uint64) {
		all("replays."+name, func(c *Collector) float64 { return u(f(c)) })
	}
	rep("injected", func(c *Collector) uint64 { return c.inj.frames })
	rep("dropped", func(c *Collector) uint64 { return c.inj.dropped })
	rep("reached", func(c *Collector) uint64 { return c.inj.delivered })
	rep("in_flight", func(c *Collector) uint64 { return c.inj.inFlight() })
	rep("refused", func(c *Collector) uint64 {
		return cls(c, nodes.InjDuplicate, nodes.InjMICFailure, nodes.InjUnknownSession, nodes.InjMalformed)
	})
	rep("refused.duplicate", func(c *Collector) uint64 { return cls(c, nodes.InjDuplicate) })
	rep("refused.mic_failure", func(c *Collector) uint64 { return cls(c, nodes.InjMICFailure) })
	rep("refused.unknown_session", func(c *Collector) uint64 { return cls(c, nodes.InjUnknownSession) })
	rep("refused.malformed", func(c *Collector) uint64 { return cls(c, nodes.InjMalformed) })
	rep("accepted", func(c *Collector) uint64 { return cls(c, nodes.InjAccepted) })
	rep("fresh", func(c *Collector) uint64 { return cls(c, nodes.InjFresh) })
	rep("queued", func(c *Collector) uint64 { return cls(c, nodes.InjQueued) })
	rep("failures", func(c *Collector) uint64 {
		return cls(c, nodes.InjAccepted, nodes.InjFresh, nodes.InjUnsecuredApplication)
	})
	rep("handshake.received", func(c *Collector) uint64 {
		return cls(c, nodes.InjUnsecuredDuplicate, nodes.InjUnsecuredUnknownSession, nodes.InjUnsecuredMalformed,
			nodes.InjUnsecuredHandshake, nodes.InjUnsecuredApplication, nodes.InjUnsecuredIgnored)
	})
	rep("handshake.refused", func(c *Collector) uint64 {
		return cls(c, nodes.InjUnsecuredDuplicate, nodes.InjUnsecuredUnknownSession, nodes.InjUnsecuredMalformed,
			nodes.InjUnsecuredHandshake)
	})
	rep("handshake.application", func(c *Collector) uint64 { return cls(c, nodes.InjUnsecuredApplication) })

	all("run.events", func(c *Collector) float64 { return u(c.events) })
	all("run.virtual_time", func(c *Collector) float64 { return c.virtualTime() })
	return m, ds
}

// MetricError reports a reference Value cannot resolve.
type MetricError struct {
	Ref    string
	Reason string
}

func (e *MetricError) Error() string { return fmt.Sprintf("metrics: %q: %s", e.Ref, e.Reason) }

var _ error = (*MetricError)(nil)

// Value returns the value of the metric reference ref (Lookup's syntax:
// name, or name{group=G} for a Grouped metric), with its Desc. A name
// the catalogue does not have, or a group the collector does not have, is
// a *MetricError.
func (c *Collector) Value(ref string) (float64, Desc, error) {
	d, group, ok := Lookup(ref)
	if !ok {
		return 0, Desc{}, &MetricError{ref, "no such metric (or a group label on a metric that has none)"}
	}
	g := getters[d.Name]
	if group == "" {
		if g.overall != nil {
			return g.overall(c), d, nil
		}
		return g.grouped(c, &c.tot, -1), d, nil
	}
	for i, name := range c.groups {
		if name == group {
			return g.grouped(c, &c.per[i], i), d, nil
		}
	}
	return 0, d, &MetricError{ref, fmt.Sprintf("no node group %q (groups: %s)", group, strings.Join(c.groups, ", "))}
}

// Snapshot is every metric's value at one instant: a plain value for
// output writers, in a deterministic order (metrics sorted by name, groups
// in the collector's order). Encodes to JSON as it is.
type Snapshot struct {
	Groups  []string `json:"groups"`
	Metrics []Metric `json:"metrics"`
}

// Metric is one metric in a Snapshot. Groups holds the per-group values of
// a Grouped metric, in Snapshot.Groups order.
type Metric struct {
	Name   string    `json:"name"`
	Kind   string    `json:"kind"`
	Value  float64   `json:"value"`
	Groups []float64 `json:"groups,omitempty"`
}

// Snapshot returns every catalogue metric's current value.
func (c *Collector) Snapshot() Snapshot {
	names := Names()
	s := Snapshot{Groups: c.Groups(), Metrics: make([]Metric, 0, len(names))}
	for _, d := range names {
		g := getters[d.Name]
		m := Metric{Name: d.Name, Kind: d.Kind.String()}
		if g.overall != nil {
			m.Value = g.overall(c)
		} else {
			m.Value = g.grouped(c, &c.tot, -1)
			m.Groups = make([]float64, len(c.per))
			for i := range c.per {
				m.Groups[i] = g.grouped(c, &c.per[i], i)
			}
		}
		s.Metrics = append(s.Metrics, m)
	}
	return s
}

// Get returns the value of metric name overall, or ok false.
func (s Snapshot) Get(name string) (float64, bool) {
	i, ok := slices.BinarySearchFunc(s.Metrics, name, func(m Metric, n string) int { return strings.Compare(m.Name, n) })
	if !ok {
		return 0, false
	}
	return s.Metrics[i].Value, true
}
