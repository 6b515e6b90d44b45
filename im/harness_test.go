package im

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The fuzz targets and the vector tests of this package share one harness:
// every message codec as a value (msgCodecs, by opcode; commandCodec for
// the commissioning commands), one round-trip check and one vector file
// reader. A target or a vector test names the messages it covers instead
// of repeating a decode/encode switch per message, and a new codec is one
// line here.

// msgCodec decodes and encodes one message type behind any (a pointer to
// the message).
type msgCodec struct {
	name   string
	decode func([]byte) (any, error)
	encode func(any) []byte
}

// codecOf is the msgCodec of a message with an Append/Decode pair.
func codecOf[M any](name string, dec func([]byte, *M) error, app func([]byte, *M) []byte) msgCodec {
	return msgCodec{name: name,
		decode: func(b []byte) (any, error) { m := new(M); return m, dec(b, m) },
		encode: func(m any) []byte { return app(nil, m.(*M)) },
	}
}

// commandCodec is the msgCodec of a commissioning command (commission_codec.go):
// Decode into a zero value, Fields to encode.
func commandCodec[C any, P interface {
	*C
	fieldCodec
}]() msgCodec {
	return msgCodec{name: reflect.TypeFor[C]().Name(),
		decode: func(b []byte) (any, error) { p := P(new(C)); return p, p.Decode(Value(b)) },
		encode: func(m any) []byte { return m.(P).Fields() },
	}
}

// msgCodecs holds the codec of every message this package encodes, by opcode.
var msgCodecs = map[Opcode]msgCodec{
	OpReadRequest:       codecOf("ReadRequest", DecodeReadRequest, AppendReadRequest),
	OpReportData:        codecOf("ReportData", DecodeReportData, AppendReportData),
	OpInvokeRequest:     codecOf("InvokeRequest", DecodeInvokeRequest, AppendInvokeRequest),
	OpInvokeResponse:    codecOf("InvokeResponse", DecodeInvokeResponse, AppendInvokeResponse),
	OpStatusResponse:    codecOf("StatusResponse", DecodeStatusResponse, AppendStatusResponse),
	OpSubscribeRequest:  codecOf("SubscribeRequest", DecodeSubscribeRequest, AppendSubscribeRequest),
	OpSubscribeResponse: codecOf("SubscribeResponse", DecodeSubscribeResponse, AppendSubscribeResponse),
	OpTimedRequest:      codecOf("TimedRequest", DecodeTimedRequest, AppendTimedRequest),
	OpWriteRequest:      codecOf("WriteRequest", DecodeWriteRequest, AppendWriteRequest),
	OpWriteResponse:     codecOf("WriteResponse", DecodeWriteResponse, AppendWriteResponse),
}

// codecFor returns op's codec, failing t if there is none.
func codecFor(t testing.TB, op Opcode) msgCodec {
	t.Helper()
	c, ok := msgCodecs[op]
	if !ok {
		t.Fatalf("no codec for %s", op)
	}
	return c
}

// checkRoundTrip is the fuzz targets' codec property: whatever c decodes
// from b must re-encode to bytes that decode to the same message, and
// re-encoding is stable (canonical round trip: an encoder may pick shorter
// integer widths than the input).
func checkRoundTrip(t *testing.T, c msgCodec, b []byte) {
	t.Helper()
	m, err := c.decode(b)
	if err != nil {
		return
	}
	enc := c.encode(m)
	m2, err := c.decode(enc)
	if err != nil {
		t.Fatalf("%s: re-encoding does not decode: %v\nin  %x\nout %x", c.name, err, b, enc)
	}
	if !reflect.DeepEqual(m, m2) {
		t.Fatalf("%s: round trip changed the message\n%#v\n%#v", c.name, m, m2)
	}
	if enc2 := c.encode(m2); string(enc2) != string(enc) {
		t.Fatalf("%s: encoding not stable", c.name)
	}
}

// checkDecodes is the fuzz targets' output property: op is one of want
// and b decodes as the message op names. The error says which.
func checkDecodes(op Opcode, b []byte, want ...Opcode) error {
	if !slices.Contains(want, op) {
		return fmt.Errorf("unexpected opcode %s", op)
	}
	if _, err := msgCodecs[op].decode(b); err != nil {
		return fmt.Errorf("%s does not decode: %v (%x)", op, err, b)
	}
	return nil
}

type vector struct {
	op      Opcode
	payload []byte
}

// readVectors reads a vector file of testdata/: one vector a line, "name
// opcode payload" (hex), # comments. It must hold at least min vectors,
// so that a trimmed file does not pass silently.
func readVectors(t testing.TB, name string, min int) map[string]vector {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	require.NoError(t, err)
	defer f.Close()
	out := map[string]vector{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fs := strings.Fields(line)
		require.Len(t, fs, 3, line)
		op, err := strconv.ParseUint(fs[1], 16, 8)
		require.NoError(t, err, line)
		b, err := hex.DecodeString(fs[2])
		require.NoError(t, err, line)
		out[fs[0]] = vector{Opcode(op), b}
	}
	require.NoError(t, sc.Err())
	require.GreaterOrEqual(t, len(out), min, "im/testdata/"+name)
	return out
}

// decodeVector decodes v by its opcode, failing t if it does not decode,
// and returns the message with its re-encoding.
func decodeVector(t *testing.T, v vector) (any, []byte) {
	t.Helper()
	c := codecFor(t, v.op)
	m, err := c.decode(v.payload)
	require.NoError(t, err)
	return m, c.encode(m)
}
