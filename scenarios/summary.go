package scenarios

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"mattersim/nodes"
	"mattersim/scenarios/metrics"
	"mattersim/sim"
)

// Replays accounts for the attacker's injected frames. For unicast
// replays Injected = Dropped + Reached + InFlight; a replayed multicast
// frame fans out into one copy per group member, and Dropped, Reached and
// InFlight count copies. Reached = Refused + Accepted + Fresh +
// Handshake.Received + (frames a stack discarded before the core). A plain
// value.
type Replays struct {
	Injected uint64 // frames the attacker injected
	Dropped  uint64 // dropped by the network (loss, no route)
	Reached  uint64 // delivered to a node's stack
	InFlight uint64 // still queued when the run ended
	// Refused by the session core, and why.
	Refused        uint64
	Duplicate      uint64
	MICFailure     uint64
	UnknownSession uint64
	Malformed      uint64
	// Accepted: delivered to an application as a new message.
	Accepted uint64
	// Fresh: taken as new by the counter window without a delivery (a
	// standalone ack, or no exchange).
	Fresh uint64
	// Queued: group messages held by a cache-and-sync queue, no verdict
	// at arrival (nodes.InjQueued).
	Queued uint64
	// Handshake classifies the replayed unsecured (handshake) frames that
	// reached a core; the fields above count secure frames. Reached =
	// Refused + Accepted + Fresh + Handshake.Received + discards.
	Handshake nodes.UnsecuredStats
}

// Failures returns the replays the core did not refuse (Accepted + Fresh)
// plus the handshake replays that reached an application. The attacker
// replays only frames its receiver already got, so each one is a
// replay-protection failure. Handshake replays a PASE responder refused,
// or that were new to an unsecured session's counter window without a
// delivery (Handshake.Ignored: unsecured messages have no MIC, spec
// 4.13.2.1), are not failures.
func (r Replays) Failures() uint64 { return r.Accepted + r.Fresh + r.Handshake.Application }

// Unfinished is the work a run did not finish (honest accounting): it is
// counted, never cut silently. A plain value.
type Unfinished struct {
	// Operations still in flight when the run ended.
	Reads, Invokes, Requests uint64
	// Pairings neither succeeded nor given up: never started, in flight
	// (a handshake running), or waiting out a retry backoff.
	Pairings, PairingsNotStarted, PairingsInFlight, PairingsWaiting uint64
	// Frames still queued in the switch (genuine traffic).
	Frames uint64
	// Subs: SubscribeRequests in flight plus subscribed devices with a
	// change not yet reported (subs.unfinished).
	Subs uint64
}

// Total returns every unit of unfinished work: the metric "unfinished".
func (u Unfinished) Total() uint64 {
	return u.Reads + u.Invokes + u.Requests + u.Pairings + u.Frames + u.Subs
}

// Summary is the result of a run. A plain value.
type Summary struct {
	// Scenario and Source name what ran (the scenario's name and file).
	Scenario, Source string
	Seed             uint64
	Nodes            int
	Controllers      int
	// Groups describes the node groups: "name: N role".
	Groups []string
	// Links describes the faults as they ran, one line each.
	Links       []string
	LossPercent float64       // the default network's loss (Build); 0 for a scenario
	Duration    time.Duration // virtual time during which operations started
	Drain       time.Duration // the wind-down limit after Duration
	Virtual     time.Duration // virtual time when the run ended
	Wall        time.Duration // wall-clock time of Run
	BuildWall   time.Duration // wall-clock time of the build
	Events      uint64        // simulator events processed
	Establish   Establishment // how sessions were opened
	Network     NetworkMode   // the network mode that ran (README "Network modes")
	// Interrupted: the run was stopped before its end (RunConfig.Interrupt).
	Interrupted bool
	Attacker    bool // the scenario has adversary rules

	Net       sim.NetStats         // frames at the switch
	Session   nodes.Stats          // session-core counters summed over nodes
	Reads     nodes.OpStats        // the controllers' reads
	Ops       [3]nodes.OpStats     // reads, invokes, requests (nodes.OpKinds order)
	Traffic   [3]bool              // which kinds the scenario's traffic has
	HasGroups bool                 // the scenario defines groups (a group messaging row)
	HasSubs   bool                 // the scenario has subscribe traffic (a subscriptions row)
	Devices   nodes.ResponderStats // summed over devices
	Pairing   nodes.PairingStats   // PASE only
	CASE      nodes.CASEStats      // CASE only
	// Commission: commission only.
	Commission nodes.CommissionStats
	Replays    Replays
	// Unfinished is what did not finish; Unfinished.Total() == 0 for a run
	// that did all its work.
	Unfinished Unfinished
	// Metrics are every metric of the run (scenarios/metrics).
	Metrics metrics.Snapshot
}

func (d *Net) summary(wall time.Duration) Summary {
	sc := d.Scenario
	s := Summary{
		Scenario:    sc.Name,
		Source:      sc.Source(),
		Seed:        sc.Seed,
		Nodes:       len(d.Nodes),
		Controllers: len(d.Controllers),
		BuildWall:   d.BuildWall,
		LossPercent: d.Opts.LossPercent,
		Duration:    sc.Duration.D(),
		Drain:       sc.Drain.D(),
		Virtual:     time.Duration(d.Engine.Now()),
		Wall:        wall,
		Events:      d.Engine.Processed(),
		Establish:   sc.Establishment.Method,
		Network:     sc.Network,
		Interrupted: d.Interrupted,
		Attacker:    d.Attacker != nil,
		Net:         d.Net.Stats(),
		Metrics:     d.Metrics.Snapshot(),
	}
	for g := range sc.Nodes {
		ng := &sc.Nodes[g]
		s.Groups = append(s.Groups, fmt.Sprintf("%s %d", ng.Name, ng.Size()))
	}
	s.Links = sc.LinkSummary()
	for i := range sc.Traffic {
		if op := sc.Traffic[i].Op; op <= OpRequest {
			s.Traffic[op-1] = true
		}
	}
	s.HasGroups = len(sc.Groups) > 0
	for i := range sc.Traffic {
		s.HasSubs = s.HasSubs || sc.Traffic[i].Op == OpSubscribe
	}
	for _, c := range d.Clients {
		for k, kind := range nodes.OpKinds() {
			s.Ops[k].Add(c.Stats(kind))
		}
	}
	s.Reads = s.Ops[0]
	for _, nd := range d.Nodes {
		s.Session.Add(nd.Stats())
	}
	for _, r := range d.Responders {
		s.Devices.Add(r.Stats())
	}
	if d.PASE != nil {
		s.Pairing = d.PASE.Stats()
	}
	if d.CASE != nil {
		s.CASE = d.CASE.Stats()
	}
	if d.Commission != nil {
		s.Commission = d.Commission.Stats()
	}
	in := s.Session.Injected
	reached, dropped := d.Net.InjectedStats()
	s.Replays = Replays{
		Injected:       s.Net.Injected,
		Dropped:        dropped,
		Reached:        reached,
		InFlight:       d.replaysInFlight(),
		Refused:        in.Refused(),
		Duplicate:      in.Duplicate,
		MICFailure:     in.MICFailure,
		UnknownSession: in.UnknownSession,
		Malformed:      in.Malformed,
		Accepted:       in.Accepted,
		Fresh:          in.Fresh,
		Queued:         in.Queued,
		Handshake:      in.Unsecured,
	}
	get := func(name string) uint64 { v, _ := s.Metrics.Get(name); return uint64(v) }
	s.Unfinished = Unfinished{Reads: get("reads.unfinished"), Invokes: get("invokes.unfinished"), Requests: get("requests.unfinished"),
		Pairings: get("pairings.unfinished"), Frames: get("network.in_flight"), Subs: get("subs.unfinished")}
	if d.PASE != nil {
		q, a, w := d.PASE.Pending()
		s.Unfinished.PairingsNotStarted, s.Unfinished.PairingsInFlight, s.Unfinished.PairingsWaiting = uint64(q), uint64(a), uint64(w)
	}
	if d.CASE != nil {
		q, a, w := d.CASE.Pending()
		s.Unfinished.PairingsNotStarted, s.Unfinished.PairingsInFlight, s.Unfinished.PairingsWaiting = uint64(q), uint64(a), uint64(w)
	}
	if d.Commission != nil {
		q, a, w := d.Commission.Pending()
		s.Unfinished.PairingsNotStarted, s.Unfinished.PairingsInFlight, s.Unfinished.PairingsWaiting = uint64(q), uint64(a), uint64(w)
	}
	return s
}

// LinkSummary describes the scenario's faults in netem's words, one line
// each: name, the links, the schedule, the stages.
func (s *Scenario) LinkSummary() []string {
	var out []string
	for i := range s.Faults {
		f := &s.Faults[i]
		name := f.Name
		if name == "" {
			name = "faults[" + strconv.Itoa(i) + "]"
		}
		links := "every link"
		if len(f.Links.From) > 0 || len(f.Links.To) > 0 {
			side := func(ss Selectors) string {
				if len(ss) == 0 {
					return "*"
				}
				return ss.String()
			}
			arrow := " -> "
			if f.Links.Both {
				arrow = " <-> "
			}
			links = side(f.Links.From) + arrow + side(f.Links.To)
		}
		when := ""
		if start, end, open := f.Active(); start > 0 || !open {
			if open {
				when = fmt.Sprintf(", from %s", start)
			} else {
				when = fmt.Sprintf(", %s to %s", start, end)
			}
		}
		out = append(out, fmt.Sprintf("%s (%s%s): %s", name, links, when, f.Spec()))
	}
	for i := range s.Partitions {
		pt := &s.Partitions[i]
		name := pt.Name
		if name == "" {
			name = "partitions[" + strconv.Itoa(i) + "]"
		}
		heal := "never healed"
		if pt.Heal > 0 {
			heal = "healed at " + pt.Heal.String()
		}
		sides := make([]string, len(pt.Sides))
		for j, side := range pt.Sides {
			sides[j] = side.String()
		}
		out = append(out, fmt.Sprintf("%s: partition %s at %s, %s", name, strings.Join(sides, " | "), pt.At, heal))
	}
	return out
}

// WriteTable writes the summary as an aligned two-column table: the
// output of `mattersim run`.
func (s Summary) WriteTable(w io.Writer) error {
	var b strings.Builder
	row := func(k, format string, args ...any) {
		fmt.Fprintf(&b, "  %-27s %s\n", k, fmt.Sprintf(format, args...))
	}
	name := s.Scenario
	if s.Source != "" {
		name += " (" + s.Source + ")"
	}
	// The netstack mode is the default and goes unsaid, so outputs of
	// the default mode stay as they were; a direct run says so.
	mode := ""
	if s.Network != NetworkNetstack {
		mode = ", network " + s.Network.String()
	}
	fmt.Fprintf(&b, "mattersim run: scenario %s, seed %d%s\n", name, s.Seed, mode)
	if s.Interrupted {
		fmt.Fprintf(&b, "  INTERRUPTED at virtual time %s: the figures describe the run so far\n", round(s.Virtual))
	}
	from := "installed keys"
	switch s.Establish {
	case EstablishPASE:
		from = "PASE"
	case EstablishCASE:
		from = "CASE"
	case EstablishCommission:
		from = "commissioning, then CASE"
	}
	ctl := "1 controller"
	if s.Controllers != 1 {
		ctl = fmt.Sprintf("%d controllers", s.Controllers)
	}
	groups := ""
	if len(s.Groups) > 2 {
		groups = "; groups " + strings.Join(s.Groups, ", ")
	}
	row("nodes", "%d (%s, %d devices%s, secure sessions from %s)", s.Nodes, ctl, s.Nodes-s.Controllers, groups, from)
	if len(s.Links) == 0 {
		row("links", "clean, +%s per hop", sim.DefaultLatency)
	}
	for i, l := range s.Links {
		k := ""
		if i == 0 {
			k = "links"
		}
		row(k, "%s", l)
	}
	if len(s.Links) > 0 {
		row("", "+%s per hop", sim.DefaultLatency)
	}
	row("virtual time", "%s (operations started for %s, then wind-down of at most %s)", round(s.Virtual), s.Duration, s.Drain)
	speed := ""
	if s.Wall > 0 {
		x := float64(s.Virtual) / float64(s.Wall)
		if x < 10 {
			speed = fmt.Sprintf(" (%.2fx real time)", x)
		} else {
			speed = fmt.Sprintf(" (%.0fx real time)", x)
		}
	}
	row("wall time", "%s%s", round(s.Wall), speed)
	row("build wall time", "%s", round(s.BuildWall))
	row("events processed", "%d", s.Events)
	b.WriteByte('\n')
	row("datagrams sent", "%d (switch: %d delivered, %d dropped)", s.Session.Sent, s.Net.Delivered-s.Replays.Reached, s.Net.Dropped-s.Replays.Dropped)
	row("messages delivered", "%d", s.Session.Delivered)
	row("duplicates dropped", "%d", s.Session.Duplicates)
	row("retransmissions", "%d", s.Session.Retransmissions)
	row("give-ups", "%d", s.Session.GiveUps)
	if s.Establish == EstablishPASE {
		g := s.Pairing
		row("pairings (PASE)", "%d devices: %d paired, %d given up; %d attempts, %d failed (wrong passcode %d, no ack %d, timed out %d, busy %d, other %d)",
			g.Devices, g.Succeeded, g.GaveUp, g.Attempts, g.Failed, g.WrongPasscode, g.NoAck, g.TimedOut, g.Busy, g.OtherFailures)
		if g.Succeeded > 0 {
			row("pairing latency", "mean %s, max %s", round(g.LatencySum/time.Duration(g.Succeeded)), round(g.LatencyMax))
		}
	}
	if s.Establish == EstablishCASE {
		g := s.CASE
		var causes []string
		for _, c := range metrics.CASEFailures {
			if v, _ := s.Metrics.Get("case.failures." + c); v > 0 {
				causes = append(causes, fmt.Sprintf("%s %d", strings.ReplaceAll(c, "_", " "), uint64(v)))
			}
		}
		failed := fmt.Sprintf("%d failed", g.Failed)
		if len(causes) > 0 {
			failed += " (" + strings.Join(causes, ", ") + ")"
		}
		row("CASE handshakes", "%d attempts: %d full, %d resumed (%d offered, %d fell back to full), %s; %d given up",
			g.Attempts, g.Full, g.Resumed, g.ResumeOffered, g.Fallbacks, failed, g.GaveUp)
		if n := g.Full + g.Resumed; n > 0 {
			row("CASE handshake latency", "mean %s, max %s", round(g.LatencySum/time.Duration(n)), round(g.LatencyMax))
		}
	}
	if s.Establish == EstablishCommission {
		g := s.Commission
		var steps []string
		var nf uint64
		for i, name := range nodes.CommissionSteps {
			if n := g.CommissionFails[i]; n > 0 {
				nf += n
				steps = append(steps, fmt.Sprintf("%s %d", strings.ReplaceAll(name, "_", " "), n))
			}
		}
		failed := fmt.Sprintf("%d failed", nf)
		if len(steps) > 0 {
			failed += " (at " + strings.Join(steps, ", ") + ")"
		}
		row("commissioning", "%d attempts: %d devices commissioned, %s; %d re-commissioned", g.Commissionings, g.Commissioned, failed, g.Recommissions)
		if n, _ := s.Metrics.Get("commission.time.count"); n > 0 {
			dur := func(name string) time.Duration {
				v, _ := s.Metrics.Get(name)
				return round(time.Duration(v * float64(time.Second)))
			}
			row("commissioning time", "p50 %s, p95 %s, max %s (first attempt to CommissioningComplete)",
				dur("commission.time.p50"), dur("commission.time.p95"), dur("commission.time.max"))
		}
		c, _ := s.Metrics.Get("case.handshakes")
		full, _ := s.Metrics.Get("case.full")
		res, _ := s.Metrics.Get("case.resumptions")
		cf, _ := s.Metrics.Get("case.failures")
		row("CASE handshakes", "%d attempts: %d full, %d resumed, %d failed; %d CASE-only re-establishments; %d given up",
			uint64(c), uint64(full), uint64(res), uint64(cf), g.CASEOnly, g.GaveUp)
	}
	for k, kind := range []string{"reads", "invokes", "requests"} {
		r := s.Ops[k]
		if !s.Traffic[k] && r.Sent == 0 {
			continue
		}
		one := strings.TrimSuffix(kind, "s")
		row(kind, "%d sent: %d answered, %d gave up, %d timed out, %d bad, %d aborted", r.Sent, r.Answered, r.GaveUp, r.TimedOut, r.Failed, r.Aborted)
		if r.Answered > 0 {
			row(one+" latency", "mean %s, max %s", round(r.LatencySum/time.Duration(r.Answered)), round(r.LatencyMax))
		}
		if r.Skipped > 0 {
			row(kind+" skipped", "%d (due while the previous %s of the device was in flight)", r.Skipped, one)
		}
		if n := r.NoSession + r.SendErrors; n > 0 {
			row(kind+" not sent", "%d (due while the device had no session: %d; refused by the core: %d)", n, r.NoSession, r.SendErrors)
		}
	}
	if s.HasGroups {
		get := func(name string) uint64 { v, _ := s.Metrics.Get(name); return uint64(v) }
		row("group messages", "%d sent (%d refused by the core): %d delivered, %d duplicates, %d rejected",
			get("group.sent"), get("group.send_errors"), get("group.delivered"), get("group.duplicates"), get("group.rejected"))
		if n := get("mcsp.triggered"); n > 0 || get("mcsp.responded") > 0 {
			lat := ""
			if p50, ok := s.Metrics.Get("mcsp.sync_latency.p50"); ok && get("mcsp.synced") > 0 {
				p99, _ := s.Metrics.Get("mcsp.sync_latency.p99")
				lat = fmt.Sprintf("; latency p50 %s, p99 %s", round(time.Duration(p50*float64(time.Second))), round(time.Duration(p99*float64(time.Second))))
			}
			row("counter sync (MCSP)", "%d triggered: %d synced, %d timed out; %d requests, %d responses%s",
				n, get("mcsp.synced"), get("mcsp.timeouts"), get("mcsp.requests"), get("mcsp.responded"), lat)
		}
	}
	if s.HasSubs {
		get := func(name string) uint64 { v, _ := s.Metrics.Get(name); return uint64(v) }
		row("subscriptions", "%d requested: %d established, %d setup failed; %d reports, %d keep-alives; %d liveness failures, %d resubscribes",
			get("subs.requested"), get("subs.established"), get("subs.setup_failed"), get("subs.reports"), get("subs.keepalives"),
			get("subs.liveness_failures"), get("subs.resubscribes"))
		if n := get("subs.report_latency.count"); n > 0 {
			dur := func(name string) time.Duration {
				v, _ := s.Metrics.Get(name)
				return round(time.Duration(v * float64(time.Second)))
			}
			row("report latency", "%d reports of changes: p50 %s, p99 %s, max %s (oldest change carried to report received)", n,
				dur("subs.report_latency.p50"), dur("subs.report_latency.p99"), dur("subs.report_latency.max"))
		}
	}
	u := s.Unfinished
	if u.Total() == 0 {
		row("unfinished", "0")
	} else {
		detail := fmt.Sprintf("pairings %d", u.Pairings)
		if (s.Establish == EstablishPASE || s.Establish == EstablishCASE || s.Establish == EstablishCommission) && u.Pairings > 0 {
			detail += fmt.Sprintf(" (never started %d, in flight %d, waiting to retry %d)",
				u.PairingsNotStarted, u.PairingsInFlight, u.PairingsWaiting)
		}
		ops := fmt.Sprintf("reads in flight %d", u.Reads)
		if u.Invokes > 0 {
			ops += fmt.Sprintf(", invokes in flight %d", u.Invokes)
		}
		if u.Requests > 0 {
			ops += fmt.Sprintf(", requests in flight %d", u.Requests)
		}
		if u.Subs > 0 {
			ops += fmt.Sprintf(", subscriptions %d (setups in flight, changes not yet reported)", u.Subs)
		}
		why := fmt.Sprintf("the run hit its %s drain limit", s.Drain)
		if s.Interrupted {
			why = "the run was interrupted"
		}
		row("unfinished", "%d: %s, %s, frames queued %d (%s)", u.Total(), detail, ops, u.Frames, why)
	}
	if s.Attacker || s.Replays.Injected > 0 {
		b.WriteByte('\n')
		p := s.Replays
		row("replays injected", "%d", p.Injected)
		row("replays dropped by network", "%d", p.Dropped)
		row("replays refused", "%d (duplicate %d, MIC failure %d, unknown session %d, malformed %d)",
			p.Refused, p.Duplicate, p.MICFailure, p.UnknownSession, p.Malformed)
		row("replays accepted", "%d", p.Accepted)
		if p.Queued > 0 {
			row("replays queued", "%d (held by cache-and-sync until the sender is synchronized; no verdict then)", p.Queued)
		}
		if p.Fresh > 0 {
			row("replays taken as new", "%d (window accepted, nothing delivered)", p.Fresh)
		}
		if h := p.Handshake; h.Received > 0 {
			row("handshake replays", "%d (duplicate %d, unknown session %d, refused by PASE %d, ignored %d, to application %d)",
				h.Received, h.Duplicate, h.UnknownSession, h.Handshake, h.Ignored, h.Application)
		}
		if p.InFlight > 0 {
			row("replays in flight", "%d", p.InFlight)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func trimFloat(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", f), "0"), ".")
}

// round shortens a duration for display.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d
}

// replaysInFlight returns the injected frame copies still queued (the
// metric replays.in_flight: copies, so a multicast replay's fan-out is
// counted right).
func (d *Net) replaysInFlight() uint64 {
	v, _, err := d.Metrics.Value("replays.in_flight")
	if err != nil {
		return 0
	}
	return uint64(v)
}
