package scenarios

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/require"

	"mattersim/sim"
)

func TestUnits(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Duration
		err  string
	}{
		{"400ms", Duration(400 * time.Millisecond), ""},
		{"1.5s", Duration(1500 * time.Millisecond), ""},
		{"2m", Duration(2 * time.Minute), ""},
		{"1h30m", Duration(90 * time.Minute), ""},
		{"0", 0, ""},
		{"-1s", 0, "negative"},
		{"60", 0, "no unit"},
		{"5 s", 0, "not a duration"},
	} {
		got, err := ParseDuration(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
	for _, tc := range []struct {
		in   string
		want Size
		err  string
	}{
		{"64B", 64, ""}, {"1KiB", 1024, ""}, {"1.5kB", 1500, ""}, {"1.5KB", 1500, ""}, {"2MiB", 2 << 20, ""},
		{"1GB", 1e9, ""}, {"0", 0, ""}, {"64", 0, "no unit"}, {"1.5B", 0, "whole number"}, {"1Kb", 0, "not a size"},
	} {
		got, err := ParseSize(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
	for _, tc := range []struct {
		in   string
		want BitRate
		err  string
	}{
		{"250kbit", 250_000, ""}, {"1Mbit", 1_000_000, ""}, {"1mbit", 1_000_000, ""}, {"64Kibit", 65536, ""},
		{"9600bit", 9600, ""}, {"1.5Gbit", 1_500_000_000, ""}, {"1MB", 0, "not a bit rate"},
	} {
		got, err := ParseBitRate(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
	for _, tc := range []struct {
		in   string
		want float64
		err  string
	}{
		{"0.05", 0.05, ""}, {"5%", 0.05, ""}, {"100%", 1, ""}, {"0", 0, ""}, {"1", 1, ""}, {"12.5 %", 0.125, ""},
		{"5", 0, "write 5%"}, {"101%", 0, "above 100%"}, {"-0.1", 0, "not a probability"}, {"half", 0, "not a probability"},
	} {
		got, err := ParseProbability(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.InDelta(t, tc.want, got.F(), 1e-12, tc.in)
	}
}

func TestSelectors(t *testing.T) {
	s := &Scenario{Nodes: []NodeGroup{{Name: "c", Role: RoleController}, {Name: "d", Count: 10}, {Name: "e", Count: 2}}}
	for _, tc := range []struct {
		sel  string
		want []int
		err  string
	}{
		{"*", []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, ""},
		{"c", []int{0}, ""},
		{"e", []int{11, 12}, ""},
		{"d[0]", []int{1}, ""},
		{"d[-1]", []int{10}, ""},
		{"d[2:4]", []int{3, 4}, ""},
		{"d[:2]", []int{1, 2}, ""},
		{"d[8:]", []int{9, 10}, ""},
		{"d[-2:]", []int{9, 10}, ""},
		{"d[10]", nil, "out of range"},
		{"d[5:11]", nil, "out of bounds"},
		{"d[4:4]", nil, "selects no node"},
		{"x", nil, "no node group"},
	} {
		sel, err := ParseSelector(tc.sel)
		require.NoError(t, err, tc.sel)
		require.Equal(t, tc.sel, sel.String())
		got, err := s.Select(Selectors{sel})
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.sel)
			continue
		}
		require.NoError(t, err, tc.sel)
		require.Equal(t, tc.want, got, tc.sel)
	}
	for _, bad := range []string{"d[1:2:3]", "D", "d[]", "d[a]", "", "*d"} {
		_, err := ParseSelector(bad)
		require.Error(t, err, bad)
	}
	require.Equal(t, 1, s.GroupOf(1))
	require.Equal(t, 2, s.GroupOf(12))
	require.Equal(t, -1, s.GroupOf(13))
}

// The value types decode with goccy/go-yaml's own Unmarshal too
// (UnmarshalYAML is its NodeUnmarshaler).
func TestUnmarshalYAMLTypes(t *testing.T) {
	var v struct {
		D  Duration    `yaml:"d"`
		S  Size        `yaml:"s"`
		P  Probability `yaml:"p"`
		Q  Probability `yaml:"q"`
		B  BitRate     `yaml:"b"`
		J  Jitter      `yaml:"j"`
		K  Jitter      `yaml:"k"`
		Se Selectors   `yaml:"se"`
		A  Assertion   `yaml:"a"`
		T  MessageType `yaml:"t"`
		R  Role        `yaml:"r"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(`d: 1.5s
s: 1KiB
p: 5%
q: 0.25
b: 1Mbit
j: 10%
k: 300ms
se: [c, "d[1:3]"]
a: read_latency.p99 <= 2s
t: secure_channel/pake1
r: controller
`), &v))
	require.Equal(t, Duration(1500*time.Millisecond), v.D)
	require.Equal(t, Size(1024), v.S)
	require.InDelta(t, 0.05, v.P.F(), 1e-12)
	require.InDelta(t, 0.25, v.Q.F(), 1e-12)
	require.Equal(t, BitRate(1e6), v.B)
	require.Equal(t, 500*time.Millisecond, v.J.Of(5*time.Second))
	require.Equal(t, 300*time.Millisecond, v.K.Of(5*time.Second))
	require.Equal(t, "[c, d[1:3]]", v.Se.String())
	require.Equal(t, float64(2*time.Second), v.A.Value)
	require.True(t, v.A.Holds(float64(time.Second)))
	require.False(t, v.A.Holds(float64(3*time.Second)))
	require.Equal(t, uint8(0x22), v.T.Type.Opcode)
	require.Equal(t, RoleController, v.R)
	require.Error(t, yaml.Unmarshal([]byte("p: 5\n"), &v))
}

const paramFile = `
name: p
seed: 4
duration: ${duration}
parameters:
  duration: 10s
  n: 3
  loss: 5%
  first: "0"
ci:
  duration: 6s
nodes:
  - name: c
    role: controller
  - name: d
    count: ${n}
faults:
  - links:
      to: d[${first}]
    loss:
      p: ${loss}
    delay: {time: 1ms}
  - &cut
    at: 1s
    for: 1s
    loss: {p: 100%}
  - <<: *cut
    at: 5s
assertions:
  - reads.sent{group=d} <= $${n}
`

func TestParametersAndOverrides(t *testing.T) {
	f, err := Parse("p.yaml", []byte(paramFile))
	require.NoError(t, err)
	require.Equal(t, Parameters{"duration": "10s", "n": "3", "loss": "5%", "first": "0"}, f.Parameters())

	s, err := f.Resolve(Overrides{})
	require.Error(t, err) // $${n} is a literal ${n}: not a count
	require.ErrorContains(t, err, `"${n}"`)

	f, err = Parse("p.yaml", []byte(strings.Replace(paramFile, "$${n}", "${n}", 1)))
	require.NoError(t, err)
	s, err = f.Resolve(Overrides{})
	require.NoError(t, err)
	require.Equal(t, uint64(4), s.Seed)
	require.Equal(t, 10*time.Second, s.Duration.D())
	require.Equal(t, 4, s.NodeCount())
	require.InDelta(t, 0.05, s.Faults[0].Loss.P.F(), 1e-12)
	require.Equal(t, "d[0]", s.Faults[0].Links.To.String())
	require.Equal(t, float64(3), s.Assertions[0].Value)
	// The merge key: the third fault is the second with at overridden.
	require.Equal(t, Duration(5*time.Second), s.Faults[2].At)
	require.Equal(t, Duration(time.Second), s.Faults[2].For)

	seed := uint64(9)
	s, err = f.Resolve(Overrides{CI: true, Set: map[string]string{"n": "7", "loss": "0.5"}, Seed: &seed})
	require.NoError(t, err)
	require.Equal(t, uint64(9), s.Seed)
	require.Equal(t, 6*time.Second, s.Duration.D())
	require.Equal(t, 8, s.NodeCount())
	require.InDelta(t, 0.5, s.Faults[0].Loss.P.F(), 1e-12)
	require.Equal(t, "7", s.Parameters["n"])

	// --set overrides ci.
	s, err = f.Resolve(Overrides{CI: true, Set: map[string]string{"duration": "7s"}})
	require.NoError(t, err)
	require.Equal(t, 7*time.Second, s.Duration.D())

	// Every error at once, --set ones included.
	_, err = f.Resolve(Overrides{Set: map[string]string{"nope": "1", "n": "0", "first": "9"}})
	var list ErrorList
	require.True(t, errors.As(err, &list))
	require.Len(t, list, 3, list.Error())
	require.Equal(t, "p.yaml: --set nope: the scenario has no parameter nope (parameters: duration, first, loss, n)", list[0].Error())
	require.Contains(t, list[1].Error(), `p.yaml:16:12: nodes[1].count: 0 is below the minimum 1`)
	require.Contains(t, list[2].Error(), `faults[0].links.to: d[9]: index 9 is out of range`)

	_, err = ParseSet([]string{"a=1", "a=2"})
	require.ErrorContains(t, err, "twice")
	_, err = ParseSet([]string{"a"})
	require.ErrorContains(t, err, "name=value")
	set, err := ParseSet([]string{"loss=5%", "x=a=b"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"loss": "5%", "x": "a=b"}, set)
}

// One parsed File resolves many times, concurrently, to the same result
// (a sweep builds on this).
func TestResolveConcurrent(t *testing.T) {
	sh, _ := LookupShipped("building-5000")
	f, err := Parse(sh.File, sh.Data)
	require.NoError(t, err)
	ref, err := f.Resolve(Overrides{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := f.Resolve(Overrides{CI: i%2 == 1})
			if !assertNoErr(err) {
				return
			}
			if i%2 == 0 && s.NodeCount() != ref.NodeCount() {
				panic("different result")
			}
		}()
	}
	wg.Wait()
}

func assertNoErr(err error) bool {
	if err != nil {
		panic(err)
	}
	return true
}

// A scenario above the event budget is refused with a message that says
// why and how to run it anyway; force accepts it.
func TestEventBudget(t *testing.T) {
	src := []byte(`
name: spin
duration: 1m
nodes:
  - {name: c, role: controller}
  - {name: d, count: 49}
establishment: {method: keys}
traffic:
  - {from: c, to: d, op: read, interval: 1ns}
`)
	_, err := LoadBytes("spin.yaml", src, Overrides{})
	require.ErrorContains(t, err, "spin.yaml:9:42: traffic[0].interval: the scenario would take about")
	require.ErrorContains(t, err, "above the event budget of 1e+08")
	require.ErrorContains(t, err, "raise interval")
	require.ErrorContains(t, err, "--force")
	s, err := LoadBytes("spin.yaml", src, Overrides{Force: true})
	require.NoError(t, err)
	require.True(t, s.Force)
	require.Greater(t, Estimate(s).Total(), float64(EventBudget))
	s, err = LoadBytes("spin.yaml", append(src, "force: true\n"...), Overrides{})
	require.NoError(t, err)
	// Within budget, every shipped scenario (and its CI variant).
	for _, sh := range Shipped() {
		for _, ci := range []bool{false, true} {
			s, err := LoadBytes(sh.File, sh.Data, Overrides{CI: ci})
			require.NoError(t, err)
			require.LessOrEqual(t, Estimate(s).Total(), float64(EventBudget), sh.Name)
		}
	}
}

// Every shipped scenario loads, names itself after its file, says what
// question it answers, has assertions, and its ci: variant is cheaper.
func TestShippedScenarios(t *testing.T) {
	names := []string{}
	for _, sh := range Shipped() {
		names = append(names, sh.Name)
		s, err := LoadBytes(sh.File, sh.Data, Overrides{})
		require.NoError(t, err, sh.Name)
		require.Equal(t, sh.Name, s.Name)
		require.NotEmpty(t, sh.Summary)
		require.Greater(t, len(strings.TrimSpace(s.Description)), len(sh.Summary), "%s: the description explains the question beyond its first line", sh.Name)
		require.NotEmpty(t, s.Assertions, sh.Name)
		ci, err := LoadBytes(sh.File, sh.Data, Overrides{CI: true})
		require.NoError(t, err)
		require.LessOrEqual(t, Estimate(ci).Total(), 2.5e5, "%s: the ci variant is short", sh.Name)
	}
	require.Equal(t, []string{"default", "mrp-loss", "window-reorder", "replay-attack", "partition-heal", "case-partition", "home-200", "home-200-subs", "building-5000", "sync-timeout", "sync-jitter", "group-replay", "subs-partition", "commission-home"}, names)
}

func TestOpen(t *testing.T) {
	s, err := Open("default", Overrides{})
	require.NoError(t, err)
	require.Equal(t, "default", s.Name)
	require.Equal(t, "files/default.yaml", s.Source())
	_, err = Open("no-such-scenario", Overrides{})
	require.ErrorContains(t, err, "mattersim list")
	_, err = Open("testdata/missing.yaml", Overrides{})
	require.Error(t, err)
}

func FuzzLoadScenario(f *testing.F) {
	for _, sh := range Shipped() {
		f.Add(sh.Data)
	}
	f.Add([]byte(paramFile))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := LoadBytes("fuzz.yaml", data, Overrides{Force: true})
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("not an ErrorList: %T %v", err, err)
			}
			return
		}
		// A loaded scenario converts without error.
		if _, err := s.AdversaryRules(); err != nil {
			t.Fatal(err)
		}
		for i := range s.Nodes {
			_ = s.SessionConfig(i)
		}
		for i := range s.Faults {
			_ = s.Faults[i].Spec()
		}
	})
}

// network: picks the simulator's mode; --network (Overrides.Network)
// replaces it; a bad value is an error at its position.
func TestNetworkField(t *testing.T) {
	const file = "name: n\nduration: 1s\nnodes: [{name: c, role: controller}, {name: d}]\n"
	s, err := LoadBytes("n.yaml", []byte(file), Overrides{})
	require.NoError(t, err)
	require.Equal(t, NetworkNetstack, s.Network)
	require.Equal(t, sim.ModeNetstack, s.Network.Sim())

	s, err = LoadBytes("n.yaml", []byte(file+"network: direct\n"), Overrides{})
	require.NoError(t, err)
	require.Equal(t, NetworkDirect, s.Network)
	require.Equal(t, sim.ModeDirect, s.Network.Sim())
	d, err := NewNet(s, RunConfig{})
	require.NoError(t, err)
	require.Equal(t, sim.ModeDirect, d.Net.Mode(), "the runner builds the mode's network")
	require.Nil(t, d.Net.Node(0).Stack())

	ns := NetworkNetstack
	s, err = LoadBytes("n.yaml", []byte(file+"network: direct\n"), Overrides{Network: &ns})
	require.NoError(t, err)
	require.Equal(t, NetworkNetstack, s.Network)

	_, err = LoadBytes("n.yaml", []byte(file+"network: udp\n"), Overrides{})
	require.ErrorContains(t, err, `n.yaml:4:10: network: unknown network mode "udp" (want netstack or direct)`)

	for _, name := range []string{"netstack", "direct"} {
		m, err := ParseNetworkMode(name)
		require.NoError(t, err)
		require.Equal(t, name, m.String())
		require.Equal(t, name, m.Sim().String())
	}
	_, err = ParseNetworkMode("")
	require.Error(t, err)
}
