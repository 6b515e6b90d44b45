package nodes

import (
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/session"
)

// An injected group datagram is classified by the group verdict it got,
// as unicast ones are: a replay the group window refuses is a duplicate,
// not "taken as new" (which would count as a replay-protection failure).
func TestInjectedGroupVerdicts(t *testing.T) {
	for i, tc := range []struct {
		kind   session.EventKind
		reason session.GroupReason
		want   InjectedClass
	}{
		{session.EventGroupMessage, session.ReasonNone, InjAccepted},
		{session.EventGroupDuplicate, session.ReasonNone, InjDuplicate},
		{session.EventGroupRejected, session.ReasonAuth, InjMICFailure},
		{session.EventGroupRejected, session.ReasonNoKey, InjUnknownSession},
		{session.EventGroupRejected, session.ReasonNotMember, InjUnknownSession},
		{session.EventGroupRejected, session.ReasonShape, InjMalformed},
		{session.EventMCSPRejected, session.ReasonDuplicate, InjDuplicate},
		{session.EventMCSPRejected, session.ReasonMalformed, InjMalformed},
		{session.EventMCSPRateLimited, session.ReasonNone, InjDuplicate},
		{session.EventMCSPQueued, session.ReasonNone, InjQueued},
		{session.EventMCSPQueueOverflow, session.ReasonNewest, InjQueued},
	} {
		require.True(t, isVerdict(tc.kind), "case %d", i+1)
		var s InjectedStats
		require.Equal(t, tc.want, s.classify(tc.kind, tc.reason), "case %d", i+1)
	}
}
