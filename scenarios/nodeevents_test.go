package scenarios

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/nodes"
)

func metric(t *testing.T, d *Net, name string) float64 {
	t.Helper()
	v, _, err := d.Metrics.Value(name)
	require.NoError(t, err, name)
	return v
}

// A device rebooted mid-run loses its PASE session: the controller's next
// read is never acked (MRP give-up), the controller pairs the device
// again by PASE and reads it on. Everything finishes.
func TestDeviceRebootRepaired(t *testing.T) {
	d, err := Build(Options{Seed: 5, Nodes: 6, Duration: time.Minute, NoAttacker: true})
	require.NoError(t, err)
	require.NoError(t, d.ScheduleReboot(clock.Time(20*time.Second), 3))
	before := uint64(0)
	d.Engine.At(clock.Time(20*time.Second), func(clock.Time) { before = d.Responders[2].Stats().Responses })
	s, err := d.Run()
	require.NoError(t, err)
	require.Empty(t, d.NodeEventErrors)
	require.Equal(t, 1, d.Nodes[3].Boot())
	require.Equal(t, 1.0, metric(t, d, "nodes.rebooted"))
	require.Equal(t, 1.0, metric(t, d, "nodes.rebooted{group=devices}"))
	require.Equal(t, 1.0, metric(t, d, "reads.gave_up"))
	require.Equal(t, 6.0, metric(t, d, "pairings.devices"), "5 at start, device 3 again")
	require.Equal(t, 6.0, metric(t, d, "pairings.succeeded"))
	require.Zero(t, metric(t, d, "unfinished"))
	require.Greater(t, d.Responders[2].Stats().Responses, before, "read again after the reboot")
	require.Equal(t, s.Reads.Sent, s.Reads.Answered+s.Reads.GaveUp)
}

// A device powered off for 20 s: frames to it are dropped as "down", the
// controller's re-pairing attempts fail while it is off and succeed once
// it is back; the controller keeps reading the others.
func TestDevicePowerCycle(t *testing.T) {
	d, err := Build(Options{Seed: 6, Nodes: 4, Duration: time.Minute, NoAttacker: true})
	require.NoError(t, err)
	require.NoError(t, d.SchedulePowerOff(clock.Time(10*time.Second), 2))
	require.NoError(t, d.SchedulePowerOn(clock.Time(30*time.Second), 2))
	_, err = d.Run()
	require.NoError(t, err)
	require.Empty(t, d.NodeEventErrors)
	require.NotZero(t, metric(t, d, "network.dropped.down"))
	require.Equal(t, 1.0, metric(t, d, "nodes.powered_off"))
	require.NotZero(t, metric(t, d, "pairings.failed"))
	require.Equal(t, metric(t, d, "pairings.devices"), metric(t, d, "pairings.succeeded"))
	require.Zero(t, metric(t, d, "unfinished"))
	_, ok := d.Clients[0].Session(1) // device 2 is target 1
	require.True(t, ok, "paired again after power-on")
}

// A rebooted controller aborts its reads in flight and re-establishes
// every session (installed keys, standing in for CASE).
func TestControllerReboot(t *testing.T) {
	d, err := Build(Options{Seed: 7, Nodes: 30, Duration: 30 * time.Second, NoAttacker: true, Establish: EstablishKeys,
		ReadInterval: time.Second})
	require.NoError(t, err)
	// Reboot 1 µs after the first read started at or after 10 s: that read
	// is in flight.
	ctl := d.Nodes[0]
	prev := ctl.OnNodeEvent
	armed := false
	ctl.OnNodeEvent = func(now clock.Time, n *nodes.Node, ev *nodes.NodeEvent) {
		prev(now, n, ev)
		if !armed && ev.Kind == nodes.OpStarted && now >= clock.Time(10*time.Second) {
			armed = true
			require.NoError(t, d.ScheduleReboot(now.Add(time.Microsecond), 0))
		}
	}
	s, err := d.Run()
	require.NoError(t, err)
	require.Empty(t, d.NodeEventErrors)
	require.Equal(t, 58.0, metric(t, d, "pairings.devices"), "29 at start, 29 after the reboot")
	require.Equal(t, 58.0, metric(t, d, "pairings.succeeded"))
	require.NotZero(t, metric(t, d, "reads.aborted"))
	require.Equal(t, s.Reads.Sent, s.Reads.Answered+s.Reads.Aborted)
	require.Zero(t, metric(t, d, "unfinished"))
}

func TestScheduleErrors(t *testing.T) {
	d, err := Build(Options{Nodes: 3, Establish: EstablishKeys})
	require.NoError(t, err)
	var oe *OptionError
	require.ErrorAs(t, d.ScheduleReboot(0, 3), &oe)
	require.ErrorAs(t, d.SchedulePowerOn(0, -1), &oe)
	// Powering on a node that is on does nothing; a reboot of a node that
	// is off boots it.
	require.NoError(t, d.SchedulePowerOn(clock.Time(time.Second), 1))
	require.NoError(t, d.SchedulePowerOff(clock.Time(2*time.Second), 1))
	require.NoError(t, d.ScheduleReboot(clock.Time(3*time.Second), 1))
	_, err = d.Run()
	require.NoError(t, err)
	require.Empty(t, d.NodeEventErrors)
	require.False(t, d.Nodes[1].Down())
}
