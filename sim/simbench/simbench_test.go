package simbench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRunDatagrams(t *testing.T) {
	for _, nodes := range []int{2, 30} {
		r, err := RunDatagrams(nodes, 500, 1)
		require.NoError(t, err)
		require.Equal(t, nodes, r.Nodes)
		require.Equal(t, 500, r.Count)
		require.Positive(t, r.PerDatagram())
		require.Positive(t, r.Allocs)
	}
	_, err := NewDatagrams(1, 1)
	require.Error(t, err)
}

func TestIdleNodes(t *testing.T) {
	m, err := IdleNodes(200, 1)
	require.NoError(t, err)
	require.Equal(t, 200, m.Nodes)
	// Lean stacks are ~18 KiB; allow slack for GC accounting noise but
	// catch a regression to default options (~32 KiB) or a leak.
	require.Greater(t, m.PerNode(), 8000.0)
	require.Less(t, m.PerNode(), 30000.0)
	require.Positive(t, m.BuildPerNode())
}

func TestRunSpeedup(t *testing.T) {
	s, err := RunSpeedup(10, time.Minute, 5*time.Second, 1)
	require.NoError(t, err)
	// 10 nodes x 12 sends x 2 datagrams, minus the few in flight at the end.
	require.InDelta(t, 240, s.Datagrams, 20)
	require.Greater(t, s.Events, s.Datagrams)
	require.Positive(t, s.Factor())
	_, err = RunSpeedup(1, time.Minute, time.Second, 1)
	require.Error(t, err)
}
