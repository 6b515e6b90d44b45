package commissionee_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/im/fabrics"
	"mattersim/nodes/commissionee"
	"mattersim/session"
	"mattersim/session/cert"
)

// restartConfig is the Config a restarted device gets: a fresh Rand and
// a passcode that State overrides (the verifier is kept, not the code).
func restartConfig() commissionee.Config {
	epoch := cert.Time(simWall.Unix() - 946684800)
	return commissionee.Config{Passcode: 11223344, Rand: rand.NewChaCha8([32]byte{42}),
		Epoch: func(clock.Time) cert.Time { return epoch }, Info: im.InteropBasicInfo(), DataVersion: 5}
}

// TestStateRestart: the State of a commissioned device, restored on a
// new Manager, gives a Device with the same fabric table, ACL,
// operational instance, verifier and resumption records, whose window is
// closed; a State with a tampered operational key is refused with a
// *fabrics.StateError naming the field.
func TestStateRestart(t *testing.T) {
	lines, c, h := simRun(t, 7)
	require.True(t, c.done, "%v", lines)
	st := h.Device().State()
	require.Len(t, st.Fabrics.Fabrics, 1)
	require.NotEmpty(t, st.Fabrics.ACL)
	require.Len(t, st.Resumption, 1, "the commissioner's CASE session")

	m, err := session.New(session.Config{}, rand.NewChaCha8([32]byte{1}), rand.NewPCG(1, 2))
	require.NoError(t, err)
	d, err := commissionee.NewFromState(m, 0, restartConfig(), st)
	require.NoError(t, err)
	require.False(t, d.WindowOpen())
	require.Equal(t, h.Device().Operational(), d.Operational())
	require.Equal(t, st, d.State())
	n, ok := d.Poll()
	require.True(t, ok)
	require.Equal(t, commissionee.NoticeWindowClosed, n.Kind)
	require.Equal(t, commissionee.WindowCommissioned, n.Window)

	bad := st
	bad.Fabrics.Fabrics = append([]fabrics.FabricState(nil), st.Fabrics.Fabrics...)
	bad.Fabrics.Fabrics[0].Key = append([]byte(nil), st.Fabrics.Fabrics[0].Key...)
	bad.Fabrics.Fabrics[0].Key[31] ^= 1
	m2, err := session.New(session.Config{}, rand.NewChaCha8([32]byte{1}), rand.NewPCG(1, 2))
	require.NoError(t, err)
	_, err = commissionee.NewFromState(m2, 0, restartConfig(), bad)
	var se *fabrics.StateError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "fabrics[0].key", se.Field)
}

// A State without fabrics (stored before any commissioning) keeps the
// verifier and leaves the window open.
func TestStateNoFabricWindowOpen(t *testing.T) {
	m, err := session.New(session.Config{}, rand.NewChaCha8([32]byte{1}), rand.NewPCG(1, 2))
	require.NoError(t, err)
	cfg := restartConfig()
	cfg.Passcode = simPasscode
	d0, err := commissionee.New(m, cfg)
	require.NoError(t, err)
	st := d0.State()
	require.Empty(t, st.Fabrics.Fabrics)
	m2, err := session.New(session.Config{}, rand.NewChaCha8([32]byte{1}), rand.NewPCG(1, 2))
	require.NoError(t, err)
	d, err := commissionee.NewFromState(m2, 0, restartConfig(), st)
	require.NoError(t, err)
	require.True(t, d.WindowOpen())
	require.Equal(t, st, d.State())
	_, err = commissionee.NewFromState(m2, 0, restartConfig(), commissionee.State{})
	require.Error(t, err)
}
