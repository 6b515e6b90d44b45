package clock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTimeString(t *testing.T) {
	for _, tc := range []struct {
		t    Time
		want string
	}{
		{0, "0.000000000s"},
		{Time(1500 * time.Millisecond), "1.500000000s"},
		{Time(-2 * time.Microsecond), "-0.000002000s"},
		{Never, "never"},
	} {
		require.Equal(t, tc.want, tc.t.String())
	}
}

func TestAddSaturates(t *testing.T) {
	require.Equal(t, Never, Never.Add(time.Second))
	require.Equal(t, Never, (Never - 5).Add(time.Hour))
	require.Equal(t, Time(3e9), Time(1e9).Add(2*time.Second))
	require.Equal(t, 2*time.Second, Time(3e9).Sub(Time(1e9)))
}

func TestVirtual(t *testing.T) {
	var v Virtual
	require.Equal(t, Time(0), v.Now())
	require.Equal(t, Time(5e6), v.Advance(5*time.Millisecond))
	v.Set(Time(1e9))
	require.Equal(t, Time(1e9), v.Now())
	require.Panics(t, func() { v.Set(0) })
}

func TestRealMonotonic(t *testing.T) {
	r := NewReal()
	a := r.Now()
	b := r.Now()
	require.GreaterOrEqual(t, int64(b), int64(a))
	require.Equal(t, r.Epoch().Add(time.Second), r.Deadline(Time(time.Second)))
}
