package interop

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNodeVersionRange(t *testing.T) {
	for v, want := range map[string]bool{
		"20.18.3": false, "20.19.0": true, "20.20.2": true, "21.7.0": true,
		"22.0.0": false, "22.12.9": false, "22.13.0": true, "24.1.0": true,
		"18.20.0": false, "": false, "x.y": false,
	} {
		require.Equal(t, want, nodeOK(v), v)
	}
}

func TestLineLogSplitsAndWakes(t *testing.T) {
	l := newLineLog()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got := make(chan string, 1)
	go func() {
		line, _, err := l.waitFor(ctx, 0, "INTEROP: online")
		if err != nil {
			line = err.Error()
		}
		got <- line
	}()
	_, _ = l.Write([]byte("noise\nINTEROP: on"))
	_, _ = l.Write([]byte("line port=5540\r\nmore"))
	require.Equal(t, "INTEROP: online port=5540", <-got)

	l.close()
	require.Equal(t, "noise\nINTEROP: online port=5540\nmore", l.String())
	_, _, err := l.waitFor(ctx, 0, "never")
	require.True(t, errors.Is(err, errOutputEnded))
}

func TestLineLogContextTimeout(t *testing.T) {
	l := newLineLog()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, _, err := l.waitFor(ctx, 0, "x")
	require.ErrorIs(t, err, context.DeadlineExceeded)
}
