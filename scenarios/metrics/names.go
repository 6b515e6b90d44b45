// Package metrics names and collects the measurements of a scenario run.
//
// names.go is the catalogue: every metric an assertion or a plot may
// reference, with its kind and meaning. The scenario loader refuses a
// reference that Lookup does not resolve, so the catalogue is the single
// source of metric names.
package metrics

import (
	"slices"

	"mattersim/nodes"
	"strings"
)

// Kind says what a metric's value is.
type Kind uint8

// Metric kinds.
const (
	// Count is a non-negative integer total.
	Count Kind = iota + 1
	// Ratio is a float64 in [0, 1].
	Ratio
	// Duration is a span of virtual time (latencies), compared with
	// duration literals such as 2s or 400ms.
	Duration
	// Value is any other float64.
	Value
)

func (k Kind) String() string {
	switch k {
	case Count:
		return "count"
	case Ratio:
		return "ratio"
	case Duration:
		return "duration"
	case Value:
		return "value"
	}
	return "kind(?)"
}

// Desc describes one metric.
type Desc struct {
	Name string
	Kind Kind
	// Grouped: the metric also exists per node group, referenced as
	// name{group=G}.
	Grouped bool
	Help    string
}

// DistributionFields are the fields of a distribution metric, addressed as
// name.field (read_latency.p99).
var DistributionFields = []string{"count", "min", "mean", "p50", "p90", "p99", "max"}

// Operation kinds of the workload: each has the same counters.
var Operations = []string{"reads", "invokes", "requests"}

// operationLatency names the latency distribution of each operation kind.
var operationLatency = map[string]string{"reads": "read_latency", "invokes": "invoke_latency", "requests": "request_latency"}

// WindowPolicies and WindowVerdicts span the window.<policy>.<verdict>
// counters (session/counter policies and verdicts).
var (
	WindowPolicies = []string{"unicast", "group", "unencrypted"}
	WindowVerdicts = []string{"first", "future", "in_window", "duplicate", "behind_window", "reset"}
)

// DropCauses are the network.dropped.<cause> counters.
var DropCauses = []string{"loss", "mtu", "queue_full", "partition", "corrupt", "no_route", "down"}

// GroupCounts are the group-messaging and MCSP counts (spec 4.15, 4.18),
// each the number of one session or node event (events named after the
// session.EventKind or nodes.NodeEventKind they count).
var GroupCounts = []struct{ Name, Help string }{
	{"group.sent", "group messages sent (GroupSender; node event group-sent)"},
	{"group.send_errors", "group messages the session core refused to send"},
	{"group.delivered", "group messages accepted and delivered to the application (group-message)"},
	{"group.duplicates", "group messages the reception window rejected (group-duplicate)"},
	{"group.rejected", "group-session datagrams dropped before the window: no key, authentication, not a member, shape (group-rejected)"},
	{"group.peers_evicted", "group peer table entries recycled (group-peer-evicted)"},
	{"mcsp.triggered", "synchronizations started by a message from an unsynchronized sender (mcsp-triggered)"},
	{"mcsp.queued", "messages queued until their sender is synchronized (mcsp-queued)"},
	{"mcsp.queue_overflow", "queued messages dropped because the queue was full (mcsp-queue-overflow)"},
	{"mcsp.requests", "MsgCounterSyncReq sent (mcsp-request-sent)"},
	{"mcsp.retransmissions", "MRP retransmissions of MCSP messages (mcsp-retransmit)"},
	{"mcsp.give_ups", "MCSP messages MRP gave up on (mcsp-give-up)"},
	{"mcsp.synced", "senders synchronized by a valid MsgCounterSyncRsp (mcsp-synced)"},
	{"mcsp.released_accepted", "queued messages accepted after synchronization (mcsp-released, accepted)"},
	{"mcsp.released_dropped", "queued messages dropped on release: by the window or a timed-out attempt (mcsp-released, dropped)"},
	{"mcsp.timeouts", "synchronization attempts with no valid response within MSG_COUNTER_SYNC_TIMEOUT (mcsp-timeout)"},
	{"mcsp.rejected", "MCSP messages rejected: wrong challenge, node or exchange, unsolicited, replayed, malformed (mcsp-rejected)"},
	{"mcsp.responded", "MsgCounterSyncRsp sent in answer to a request (mcsp-responded)"},
	{"mcsp.rate_limited", "MsgCounterSyncReq dropped by the per-requester response interval (mcsp-rate-limited)"},
}

// CASEFailures are the causes of the case.failures.<cause> counters: the
// StatusReport a handshake ended with (sent or received; spec 4.14.2,
// session/casesess reportFor), or the local cause (nodes.PairingCause
// names).
var CASEFailures = []string{"invalid_parameter", "no_shared_trust_roots", "busy", "timed_out", "no_ack", "aborted", "other"}

// CASECounts are the CASE handshake counts (nodes.CASE), from the
// initiators' case-handshake node events.
var CASECounts = func() []struct{ Name, Help string } {
	out := []struct{ Name, Help string }{
		{"case.handshakes", "CASE handshake attempts ended at the initiators (case-handshake)"},
		{"case.established", "CASE handshakes that installed a session: full or resumed"},
		{"case.full", "full CASE handshakes (Sigma1, Sigma2, Sigma3) that installed a session"},
		{"case.resumptions", "resumed CASE sessions (Sigma1 with a resumption id answered by Sigma2_Resume, spec 4.14.2.5)"},
		{"case.resume_offered", "CASE attempts whose Sigma1 offered a resumption"},
		{"case.resume_fallbacks", "resumption offers the responder answered with a full handshake (record unknown)"},
		{"case.failures", "CASE handshake attempts that failed, all causes"},
	}
	for _, c := range CASEFailures {
		out = append(out, struct{ Name, Help string }{"case.failures." + c, "CASE attempts that failed: " + c})
	}
	return out
}()

// CommissionCounts are the commissioning counts (nodes.Commission), from
// the controllers' commission-started and commission-ended node events.
var CommissionCounts = func() []struct{ Name, Help string } {
	out := []struct{ Name, Help string }{
		{"commission.started", "commissioning attempts started (commission-started: PASE with the device's passcode first)"},
		{"commission.succeeded", "commissioning attempts that ended with CommissioningComplete answered with success"},
		{"commission.failed", "commissioning attempts that failed, all steps"},
		{"commission.recovered", "devices whose attempt failed at or after CommissioningComplete (answer lost, or the read-back after it failed) and that a CASE-only retry found commissioned"},
		{"commission.devices", "devices commissioned: commission.succeeded + commission.recovered (what to compare with the number of devices)"},
	}
	for _, st := range nodes.CommissionSteps {
		out = append(out, struct{ Name, Help string }{"commission.failed." + st, "commissioning attempts that failed at step " + st})
	}
	return out
}()

var catalogue = build()

func build() map[string]Desc {
	m := map[string]Desc{}
	add := func(name string, k Kind, grouped bool, help string) {
		if _, dup := m[name]; dup {
			panic("metrics: duplicate name " + name)
		}
		m[name] = Desc{Name: name, Kind: k, Grouped: grouped, Help: help}
	}
	dist := func(name string, k Kind, grouped bool, help string) {
		for _, f := range DistributionFields {
			kind := k
			if f == "count" {
				kind = Count
			}
			add(name+"."+f, kind, grouped, help+" ("+f+")")
		}
	}
	for _, op := range Operations {
		add(op+".sent", Count, true, op+" started")
		add(op+".answered", Count, true, op+" answered with success")
		add(op+".failed", Count, true, op+" answered with an error status")
		add(op+".gave_up", Count, true, op+" whose request MRP gave up on")
		add(op+".timed_out", Count, true, op+" that timed out waiting for the answer")
		add(op+".skipped", Count, true, op+" not started because the previous one to the same target was still in flight")
		add(op+".aborted", Count, true, op+" abandoned because the session went away (reboot, eviction, close)")
		add(op+".unfinished", Count, true, op+" still in flight when the run ended")
		add(op+".not_sent", Count, true, op+" that fell due and were not started: no session with the target then, or the session core refused the request")
		add(op+".answered_ratio", Ratio, true, op+" answered / (sent - unfinished); 1 when none finished")
		dist(operationLatency[op], Duration, true, op+" latency, request sent to answer received")
	}
	for _, c := range []struct{ n, h string }{
		{"devices", "devices the controller set out to pair"},
		{"succeeded", "devices paired"},
		{"gave_up", "devices given up on after the last attempt"},
		{"attempts", "handshakes started"},
		{"failed", "handshakes that failed"},
		{"wrong_passcode", "handshakes failed on a wrong passcode"},
		{"busy", "handshakes answered BUSY"},
		{"timed_out", "handshakes timed out"},
		{"no_ack", "handshakes whose message MRP gave up on"},
		{"unfinished", "devices never paired nor given up on when the run ended (not started or in flight)"},
	} {
		add("pairings."+c.n, Count, true, c.h)
	}
	add("pairings.success_ratio", Ratio, true, "pairings.succeeded / pairings.devices; 1 when no device")
	dist("pairing_latency", Duration, true, "time from the first attempt to a paired device")

	for _, c := range CASECounts {
		add(c.Name, Count, true, c.Help)
	}
	add("case.resumption_ratio", Ratio, true, "case.resumptions / case.established: sessions that came from a resumption; 1 when none was established")
	dist("case.handshake_latency", Duration, true, "CASE handshake latency at the initiator, Sigma1 sent to session installed (one attempt)")

	for _, c := range CommissionCounts {
		add(c.Name, Count, true, c.Help)
	}
	add("commission.success_ratio", Ratio, true, "commission.succeeded / (commission.succeeded + commission.failed): commissioning attempts that succeeded, of those that ended; 1 when none ended")
	dist("commission.time", Duration, true, "time per commissioned device, its first attempt's start (PASE) to CommissioningComplete answered, retries included")
	add("commission.time.p95", Duration, true, "time per commissioned device, its first attempt's start (PASE) to CommissioningComplete answered, retries included (p95)")

	for _, c := range []struct{ n, h string }{
		{"sessions.opened", "sessions entered in session tables"},
		{"sessions.closed", "sessions removed from session tables"},
		{"sessions.evicted", "sessions evicted to make room"},
		{"sessions.defunct", "secure sessions marked defunct after an MRP give-up"},
		{"messages.sent", "datagrams sent by session cores"},
		{"messages.delivered", "messages delivered to applications"},
		{"messages.duplicates", "duplicate messages dropped by session cores"},
		{"mrp.retransmissions", "MRP retransmissions"},
		{"mrp.give_ups", "reliable messages MRP gave up on"},
		{"mrp.acks", "acknowledgements that cleared a reliable message"},
		{"mrp.standalone_acks", "standalone acknowledgements sent"},
	} {
		add(c.n, Count, true, c.h)
	}
	dist("mrp.transmissions", Value, true, "transmissions per reliable message that was acked or given up on")

	for _, c := range GroupCounts {
		add(c.Name, Count, true, c.Help)
	}
	add("mcsp.sync_success_ratio", Ratio, true, "mcsp.synced / (mcsp.synced + mcsp.timeouts): synchronization attempts that ended synchronized; 1 when none ended")
	dist("mcsp.sync_latency", Duration, true, "time from the message that triggered a synchronization to the valid MsgCounterSyncRsp that ended it")

	for _, p := range WindowPolicies {
		for _, v := range WindowVerdicts {
			add("window."+p+"."+v, Count, true, "reception-window verdicts "+v+" under the "+p+" policy")
		}
	}
	for _, c := range []struct{ n, h string }{
		{"sent", "frames entering the switch"},
		{"delivered", "frames delivered to a node"},
		{"dropped", "frames dropped, all causes"},
		{"duplicated", "extra copies made by duplicate stages"},
		{"in_flight", "frames still queued when the run ended"},
	} {
		add("network."+c.n, Count, false, c.h)
	}
	for _, c := range DropCauses {
		add("network.dropped."+c, Count, false, "frames dropped: "+c)
	}
	for _, c := range []struct{ n, h string }{
		{"injected", "frames the adversary injected"},
		{"dropped", "injected frames the network dropped"},
		{"reached", "injected frames delivered to a node"},
		{"in_flight", "injected frames still queued when the run ended"},
		{"refused", "injected secure frames a session core refused"},
		{"refused.duplicate", "refused as duplicates"},
		{"refused.mic_failure", "refused: MIC failure"},
		{"refused.unknown_session", "refused: unknown session"},
		{"refused.malformed", "refused: malformed"},
		{"accepted", "injected frames delivered to an application as new"},
		{"fresh", "injected frames the window took as new without a delivery"},
		{"queued", "injected group messages held (or dropped) by the cache-and-sync queue, with no verdict yet"},
		{"failures", "replay-protection failures: accepted + fresh + handshake.application"},
		{"handshake.received", "injected handshake (unsecured) frames that reached a core"},
		{"handshake.refused", "injected handshake frames refused (duplicate, unknown session, by PASE)"},
		{"handshake.application", "injected handshake frames that reached an application"},
	} {
		add("replays."+c.n, Count, false, c.h)
	}
	for _, c := range SubsCounts {
		add(c.Name, Count, true, c.Help)
	}
	add("subs.unfinished", Count, true, "subscription attempts neither established nor failed when the run ended, plus changes to subscribed clusters not yet reported")
	dist("subs.report_latency", Duration, true, "per report with data that carries changes (by DataVersion): time from the oldest change it carries to its arrival at the subscriber")

	add("nodes.total", Count, true, "nodes in the run")
	add("nodes.rebooted", Count, true, "node reboots")
	add("nodes.powered_off", Count, true, "node power-offs")
	add("unfinished", Count, true, "every unit of work that did not finish: operations, pairings and subscription setups in flight or never started, changes not yet reported, sends still queued")
	add("run.events", Count, false, "simulator events processed")
	add("run.virtual_time", Duration, false, "virtual time when the run ended")
	return m
}

// Lookup resolves a metric reference as written in an assertion or a
// plot: a catalogue name, optionally followed by a node-group label
// {group=NAME}. It returns the metric's Desc and the group ("" if none);
// ok is false for an unknown name, a label on a metric that has no
// per-group value, or a malformed label. Whether the group exists is the
// caller's check.
func Lookup(ref string) (d Desc, group string, ok bool) {
	name := ref
	if i := strings.IndexByte(ref, '{'); i >= 0 {
		label, found := strings.CutSuffix(ref[i+1:], "}")
		if !found {
			return Desc{}, "", false
		}
		g, found := strings.CutPrefix(label, "group=")
		if !found || g == "" || strings.ContainsAny(g, "{},= ") {
			return Desc{}, "", false
		}
		name, group = ref[:i], g
	}
	d, ok = catalogue[name]
	if !ok || (group != "" && !d.Grouped) {
		return Desc{}, "", false
	}
	return d, group, true
}

// Names returns every catalogue entry sorted by name.
func Names() []Desc {
	out := make([]Desc, 0, len(catalogue))
	for _, d := range catalogue {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Desc) int { return strings.Compare(a.Name, b.Name) })
	return out
}
