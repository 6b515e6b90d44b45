package nodes_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/nodes"
)

// GroupSender refuses what it cannot run, each with its reason.
func TestGroupSenderValidate(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i, tc := range []struct {
		g    nodes.GroupSender
		want string
	}{
		{nodes.GroupSender{Group: 0}, "null group"},
		{nodes.GroupSender{Group: 1, Interval: -time.Second}, "negative interval"},
		{nodes.GroupSender{Group: 1, Interval: time.Second, Jitter: time.Second, Rand: r}, "jitter 1s must be in [0, interval 1s)"},
		{nodes.GroupSender{Group: 1, Interval: time.Second, Jitter: time.Millisecond}, "jitter needs Rand"},
	} {
		err := tc.g.Validate()
		require.ErrorContains(t, err, tc.want, "case %d", i+1)
	}
	ok := nodes.GroupSender{Group: 1, Interval: time.Second, Jitter: 100 * time.Millisecond, Rand: r}
	require.NoError(t, ok.Validate())
}
