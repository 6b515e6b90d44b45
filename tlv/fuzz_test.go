package tlv

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzTLV checks that decoding arbitrary bytes never panics, that every
// failure is a *DecodeError with an offset inside the input, and that a
// fully walked input re-encodes (from the walked values, keeping each
// integer width and string length width) to the same bytes. Writer always
// uses the shortest tag form, so when the input used a wider tag form than
// needed (e.g. a 4-octet common-profile tag holding 5), the check is that
// the re-encoding is shorter and decodes to the same values instead.
// Format and Validate must agree with the walk.
func FuzzTLV(f *testing.F) {
	for _, v := range allVectors(f) {
		f.Add(v.bytes)
	}
	f.Add([]byte{})
	f.Add([]byte{0x15, 0x38, 0x18})
	f.Add([]byte{0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x64, 0x05, 0x00, 0x00, 0x00, 0x14}) // non-minimal common-profile tag

	f.Fuzz(func(t *testing.T, b []byte) {
		b = b[:len(b):len(b)]
		tree, canon, err := decodeTree(b, Limits{})
		verr := Validate(b)
		text, ferr := Format(b)
		if err != nil {
			var de *DecodeError
			require.True(t, errors.As(err, &de), "%T %v", err, err)
			require.GreaterOrEqual(t, de.Offset, 0)
			require.LessOrEqual(t, de.Offset, len(b))
			require.Error(t, verr)
			require.Error(t, ferr)
			return
		}
		require.NoError(t, verr)
		require.NoError(t, ferr, text)

		var w Writer
		encodeTree(&w, tree)
		enc := w.Bytes()
		if canon {
			require.Equal(t, hex.EncodeToString(b), hex.EncodeToString(enc))
			return
		}
		require.Less(t, len(enc), len(b))
		again, canon2, err := decodeTree(enc, Limits{})
		require.NoError(t, err)
		require.True(t, canon2)
		require.Equal(t, normalize(tree), normalize(again))
		require.False(t, bytes.Equal(b, enc))
	})
}
