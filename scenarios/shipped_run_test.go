package scenarios

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Every shipped scenario's short (ci:) variant runs to its end and every
// assertion holds: what `make test` promises of the shipped files. The
// full scenarios' wall times are in BENCHMARKS.md.
func TestShippedScenariosRun(t *testing.T) {
	for _, sh := range Shipped() {
		t.Run(sh.Name, func(t *testing.T) {
			s, err := Open(sh.Name, Overrides{CI: true})
			require.NoError(t, err)
			d, err := NewNet(s, RunConfig{})
			require.NoError(t, err)
			sum, err := d.Run()
			require.NoError(t, err)
			require.False(t, sum.Interrupted)
			vs, err := s.Evaluate(d.Metrics)
			require.NoError(t, err)
			require.NotEmpty(t, vs)
			for _, v := range vs {
				require.True(t, v.Holds, "%s: %s: observed %v", sh.Name, v.Assertion.Text, v.Observed)
			}
		})
	}
}
