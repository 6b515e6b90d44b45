package scenarios

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/nodes"
	"mattersim/session"
	"mattersim/session/mrp"
	"mattersim/sim/fault"
)

func mustShipped(t *testing.T, name string, o Overrides) *Scenario {
	t.Helper()
	sh, ok := LookupShipped(name)
	require.True(t, ok, name)
	s, err := LoadBytes(sh.File, sh.Data, o)
	require.NoError(t, err)
	return s
}

// The shipped default scenario describes exactly the network Build makes
// from DefaultOptions: nodes, seed, times, workload, links, attacker and
// session configuration.
func TestDefaultScenarioIsDefaultNetwork(t *testing.T) {
	s := mustShipped(t, "default", Overrides{})
	o, err := DefaultOptions().normalize()
	require.NoError(t, err)

	require.Equal(t, o.Seed, s.Seed)
	require.Equal(t, o.Nodes, s.NodeCount())
	require.Equal(t, o.Duration, s.Duration.D())
	require.Equal(t, DrainLimit, s.Drain.D())
	require.Equal(t, o.Establish, s.Establishment.Method)
	require.Equal(t, o.Passcode, s.Nodes[1].PasscodeOrDefault())
	require.Equal(t, o.Passcode, s.Nodes[0].PasscodeOrDefault())
	require.Equal(t, RoleController, s.Nodes[0].Role)
	require.Equal(t, 0, s.FirstNode(0))
	require.Equal(t, 1, s.FirstNode(1))

	// Workload: nodes.Reader reading VendorName every ReadInterval for
	// Duration, first reads spread over one interval, default timeout.
	require.Len(t, s.Traffic, 1)
	tr := &s.Traffic[0]
	require.Equal(t, OpRead, tr.Op)
	require.Equal(t, o.ReadInterval, tr.Interval.D())
	require.True(t, tr.Jitter.IsZero())
	start, stop := s.Window(tr)
	require.Equal(t, time.Duration(0), start)
	require.Equal(t, o.Duration, stop)
	require.Equal(t, nodes.DefaultReadTimeout, tr.ResponseTimeout())
	require.Equal(t, []any{nodes.VendorNamePath}, anySlice(tr.Paths()))

	// Links: every directed link, loss then delay, for the whole run.
	require.Len(t, s.Faults, 1)
	f := &s.Faults[0]
	require.Empty(t, f.Links.From)
	require.Empty(t, f.Links.To)
	require.Nil(t, f.Match)
	_, _, open := f.Active()
	require.True(t, open)
	want := fault.Specs{fault.LossRandom{P: o.LossPercent / 100}, fault.Delay{Delay: LinkDelay, Jitter: LinkJitter}}
	require.Equal(t, want, f.Spec())

	// Attacker: five rules on genuine frames; the spoofed source is the
	// last device, the redirect target the first.
	rules, err := s.AdversaryRules()
	require.NoError(t, err)
	var names []string
	for _, r := range rules {
		names = append(names, r.Name)
		require.Equal(t, fault.No, r.Match.Injected)
		require.Equal(t, 250, r.MaxCaptures)
	}
	require.Equal(t, []string{"delayed", "window-moved", "spoofed-source", "redirected", "handshake"}, names)
	require.Equal(t, o.Nodes-1, rules[2].Spoof.Node)
	require.Equal(t, []int{0}, rules[2].Match.To)
	require.Equal(t, 1, rules[3].Redirect.Node)
	require.Equal(t, 1024, s.Adversary.CapacityOrDefault())

	// Session configuration as Build sets it.
	require.Equal(t, session.Config{MaxSessions: max(session.DefaultMaxSessions, o.Nodes-1),
		MaxUnsecuredSessions: max(session.DefaultMaxUnsecuredSessions, 4*nodes.DefaultPASEInFlight)}, s.SessionConfig(0))
	require.Equal(t, session.Config{}, s.SessionConfig(1))
	require.Equal(t, &nodes.PASE{}, s.Establishment.PASE())

	// --set method=keys is Options.Establish = EstablishKeys; --set
	// devices=9 is Options.Nodes = 10, and the spoofed source follows the
	// last device.
	k := mustShipped(t, "default", Overrides{Set: map[string]string{"method": "keys", "devices": "9"}})
	require.Equal(t, EstablishKeys, k.Establishment.Method)
	require.Equal(t, 10, k.NodeCount())
	kr, err := k.AdversaryRules()
	require.NoError(t, err)
	require.Equal(t, 9, kr[2].Spoof.Node)
}

func anySlice[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func TestFaultSpecs(t *testing.T) {
	s, err := LoadBytes("t.yaml", []byte(`
name: t
duration: 10s
nodes:
  - {name: c, role: controller}
  - {name: d, count: 3}
faults:
  - match: {secure: false, types: [secure_channel/pbkdf_param_request], multicast: false}
    at: 1s
    for: 2s
    mtu: 1280B
    loss: {model: gemodel, p: 1%}
    duplicate: {p: 0.5%, correlation: 25%}
    corrupt: {p: 0.1%, scope: payload_fixsum}
    delay: {time: 10ms, jitter: 5ms, correlation: 0.2, distribution: pareto}
    reorder: {p: 25%, gap: 5}
    rate: {bitrate: 1Mbit, overhead: 14, limit: 50}
  - loss: {model: state, p13: 2%, p31: 70%, p32: 20%, p14: 1%}
    until: 5s
`), Overrides{})
	require.NoError(t, err)
	f := &s.Faults[0]
	st, end, open := f.Active()
	require.Equal(t, []any{time.Second, 3 * time.Second, false}, []any{st, end, open})
	filter, ok := f.Spec().(fault.Filter)
	require.True(t, ok)
	require.Equal(t, "filter unicast !secure type 0x0/0x20 { mtu 1280 | loss gemodel p 1% r 99% 1-h 100% 1-k 0% | duplicate 0.5% 25% | corrupt 0.1% scope payload-fixsum | delay 10ms 5ms 20% distribution pareto reorder 25% gap 5 | rate 1Mbit 14 limit 50 }", filter.String())
	require.Equal(t, fault.LossState{P13: 0.02, P31: 0.7, P32: 0.2, P23: 1, P14: 0.01}, s.Faults[1].Loss.Spec())
	require.Equal(t, fault.GEDefaults(0.01), f.Loss.Spec())
}

func TestMRPConfigSentinels(t *testing.T) {
	zero, one := 0.0, 0
	require.Equal(t, mrp.Config{}, MRPParams{}.Config())
	c := MRPParams{BackoffJitter: &zero, BackoffThreshold: &one}.Config().Normalize()
	require.Zero(t, c.BackoffJitter)
	require.Zero(t, c.BackoffThreshold)
}
