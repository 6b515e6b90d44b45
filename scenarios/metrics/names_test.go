package metrics

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLookup(t *testing.T) {
	cases := []struct {
		ref   string
		kind  Kind
		group string
		ok    bool
	}{
		{"reads.answered_ratio", Ratio, "", true},
		{"read_latency.p99", Duration, "", true},
		{"read_latency.count", Count, "", true},
		{"replays.accepted", Count, "", true},
		{"pairings.unfinished", Count, "", true},
		{"window.unicast.duplicate", Count, "", true},
		{"network.dropped.loss", Count, "", true},
		{"reads.sent{group=lights}", Count, "lights", true},
		{"read_latency.p99{group=lights}", Duration, "lights", true},
		{"network.sent{group=lights}", 0, "", false}, // network metrics are not per group
		{"reads.sent{group=}", 0, "", false},
		{"reads.sent{grp=a}", 0, "", false},
		{"reads.sent{group=a", 0, "", false},
		{"reads.answered_ratios", 0, "", false},
		{"read_latency", 0, "", false}, // a distribution needs a field
		{"", 0, "", false},
	}
	for _, tc := range cases {
		d, g, ok := Lookup(tc.ref)
		require.Equal(t, tc.ok, ok, tc.ref)
		if ok {
			require.Equal(t, tc.kind, d.Kind, tc.ref)
			require.Equal(t, tc.group, g, tc.ref)
		}
	}
}

func TestNamesSortedAndHelped(t *testing.T) {
	ns := Names()
	require.Greater(t, len(ns), 100)
	for i, d := range ns {
		require.NotEmpty(t, d.Help, d.Name)
		if i > 0 {
			require.Less(t, ns[i-1].Name, d.Name)
		}
	}
}
