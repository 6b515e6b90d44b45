package status

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type vector struct {
	name string
	wire []byte
	want Report
	str  string
}

func loadVectors(t testing.TB) []vector {
	f, err := os.Open("testdata/vectors.txt")
	require.NoError(t, err)
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		fields, str, ok := strings.Cut(rest, " str=")
		require.True(t, ok, line)
		v := vector{name: name, str: str}
		for _, kv := range strings.Fields(fields) {
			k, val, _ := strings.Cut(kv, "=")
			switch k {
			case "hex":
				v.wire, err = hex.DecodeString(val)
			case "data":
				if val != "" {
					v.want.Data, err = hex.DecodeString(val)
				}
			default:
				var n uint64
				n, err = strconv.ParseUint(val, 0, 32)
				switch k {
				case "general":
					v.want.General = GeneralCode(n)
				case "protocol":
					v.want.Protocol = ProtocolID(n)
				case "code":
					v.want.Code = uint16(n)
				default:
					t.Fatalf("unknown field %q in %q", k, line)
				}
			}
			require.NoError(t, err, line)
		}
		vs = append(vs, v)
	}
	require.NoError(t, sc.Err())
	require.Len(t, vs, 8)
	return vs
}

func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			got, err := Decode(v.wire)
			require.NoError(t, err)
			require.Equal(t, v.want, got)
			require.Equal(t, v.str, got.String())
			require.Equal(t, v.wire, v.want.Append(nil))
			require.Equal(t, len(v.wire), v.want.Len())
		})
	}
}

func TestConstructors(t *testing.T) {
	for _, tc := range []struct {
		r    Report
		wire string
	}{
		{SessionEstablished(), "0000000000000000"},
		{CloseSession(), "0000000000000300"},
		{InvalidParam(), "0100000000000200"},
		{NoSharedTrustRoots(), "0100000000000100"},
		{SessionNotFound(), "0100000000000500"},
		{Busy(5 * time.Second), "08000000000004008813"},
		{Busy(1500*time.Microsecond + time.Millisecond), "08000000000004000200"}, // rounds down to 2 ms
		{Busy(-time.Second), "08000000000004000000"},
		{Busy(time.Hour), "0800000000000400ffff"}, // clamped to the u16
	} {
		require.Equal(t, tc.wire, hex.EncodeToString(tc.r.Append(nil)), tc.r.String())
	}
	require.True(t, CloseSession().IsCloseSession())
	require.False(t, SessionEstablished().IsCloseSession())
	require.True(t, SessionEstablished().IsSessionEstablished())
	require.False(t, InvalidParam().IsSuccess())
	require.True(t, CloseSession().IsSuccess())

	w, ok := Busy(5 * time.Second).BusyWait()
	require.True(t, ok)
	require.Equal(t, 5*time.Second, w)
	_, ok = Report{General: GeneralBusy, Code: CodeBusy}.BusyWait() // no data
	require.False(t, ok)
	_, ok = InvalidParam().BusyWait()
	require.False(t, ok)
	_, ok = Report{General: GeneralBusy, Protocol: BDX, Code: CodeBusy, Data: []byte{1, 0}}.BusyWait()
	require.False(t, ok, "BUSY data is only defined for the secure channel")
}

func TestGeneralCodeNames(t *testing.T) {
	// Order from connectedhomeip Constants.h GeneralStatusCode and matter.js general.ts.
	want := []string{"SUCCESS", "FAILURE", "BAD_PRECONDITION", "OUT_OF_RANGE", "BAD_REQUEST",
		"UNSUPPORTED", "UNEXPECTED", "RESOURCE_EXHAUSTED", "BUSY", "TIMEOUT", "CONTINUE",
		"ABORTED", "INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
		"DATA_LOSS", "MESSAGE_TOO_LARGE"}
	for i, n := range want {
		require.Equal(t, n, GeneralCode(i).String())
		require.True(t, GeneralCode(i).Known())
	}
	require.Equal(t, "general(18)", GeneralCode(18).String())
	require.False(t, GeneralCode(18).Known())
	require.Equal(t, "general(65535)", GeneralCode(0xFFFF).String())
	require.Equal(t, GeneralBusy, GeneralCode(8))
	require.Equal(t, GeneralDataLoss, GeneralCode(16))
}

func TestProtocolID(t *testing.T) {
	p := NewProtocolID(0xFFF1, 0xAABB)
	require.Equal(t, ProtocolID(0xFFF1AABB), p)
	require.Equal(t, uint16(0xFFF1), p.Vendor())
	require.Equal(t, uint16(0xAABB), p.Protocol())
	require.Equal(t, "SecureChannel", SecureChannel.String())
	require.Equal(t, "protocol(0x00000005)", ProtocolID(5).String())
	require.Equal(t, "GENERAL_FAILURE", CodeName(SecureChannel, CodeGeneralFailure))
	require.Equal(t, "code(3)", CodeName(BDX, 3), "codes are per protocol")
}

func TestDecodeShort(t *testing.T) {
	for n := range HeaderLen {
		_, err := Decode(make([]byte, n))
		var de *DecodeError
		require.ErrorAs(t, err, &de)
		require.Equal(t, n, de.Len)
	}
	// Data aliases the input but cannot be appended into it.
	b := []byte{0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0xAA}
	r, err := Decode(b[:10])
	require.NoError(t, err)
	require.Equal(t, []byte{1, 2}, r.Data)
	_ = append(r.Data, 9)
	require.Equal(t, byte(0xAA), b[10])
}

func TestErr(t *testing.T) {
	require.NoError(t, SessionEstablished().Err())
	require.NoError(t, CloseSession().Err())
	err := fmt.Errorf("pase: handshake: %w", InvalidParam().Err())
	var se *Error
	require.True(t, errors.As(err, &se))
	require.Equal(t, GeneralFailure, se.Report.General)
	require.Equal(t, CodeInvalidParameter, se.Report.Code)
	require.Equal(t, "status: peer reported FAILURE/SecureChannel/INVALID_PARAMETER", se.Error())
}

func FuzzStatusReport(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.wire)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			if len(b) >= HeaderLen {
				t.Fatalf("valid length %d rejected: %v", len(b), err)
			}
			return
		}
		_ = r.String()
		_, _ = r.BusyWait()
		if r.Len() != len(b) {
			t.Fatalf("Len %d, input %d", r.Len(), len(b))
		}
		if got := r.Append(nil); string(got) != string(b) {
			t.Fatalf("round trip: %x -> %x", b, got)
		}
		if (r.Err() == nil) != (r.General == GeneralSuccess) {
			t.Fatalf("Err inconsistent for %s", r)
		}
	})
}
