package group

import (
	"bufio"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session/message"
	"mattersim/session/security"
)

func TestMulticastAddrVectors(t *testing.T) {
	f, err := os.Open("testdata/multicast.txt")
	require.NoError(t, err)
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		require.Len(t, fs, 3, line)
		fabric, err := strconv.ParseUint(fs[0], 0, 64)
		require.NoError(t, err)
		g, err := strconv.ParseUint(fs[1], 0, 16)
		require.NoError(t, err)
		want := netip.MustParseAddr(fs[2])
		got := MulticastAddr(fabric, message.GroupID(g))
		require.Equal(t, want, got, "fabric %#x group %#x", fabric, g)
		require.True(t, got.IsMulticast())
		ap := MulticastAddrPort(fabric, message.GroupID(g))
		require.Equal(t, uint16(5540), ap.Port())
		require.Equal(t, want, ap.Addr())
		n++
	}
	require.NoError(t, sc.Err())
	require.Equal(t, 5, n, "every vector ran")
}

func key(b byte) security.Key {
	var k security.Key
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

func TestKeySetValidate(t *testing.T) {
	ok := KeySet{ID: 1, Epochs: []EpochKey{{Key: key(0x10), Start: 0}}}
	require.NoError(t, ok.Validate())
	for _, tc := range []struct {
		ks   KeySet
		want error
	}{
		{KeySet{ID: 0, Epochs: ok.Epochs}, ErrIPKKeySet},
		{KeySet{ID: 1}, ErrEpochCount},
		{KeySet{ID: 1, Epochs: make([]EpochKey, 4)}, ErrEpochCount},
		{KeySet{ID: 1, Policy: 7, Epochs: ok.Epochs}, ErrPolicy},
		{KeySet{ID: 1, Epochs: []EpochKey{{Key: key(1), Start: 5}, {Key: key(2), Start: 5}}}, ErrSameStart},
	} {
		require.ErrorIs(t, tc.ks.Validate(), tc.want)
	}
}

// TestDeriveMatchesSDK: the key set's derived keys are the SDK's vectors
// (connectedhomeip src/crypto/tests/TestGroupOperationalCredentials.cpp
// kGroupKeys0, CFID 87e1b004e235a130).
func TestDeriveMatchesSDK(t *testing.T) {
	cfid := [8]byte{0x87, 0xe1, 0xb0, 0x04, 0xe2, 0x35, 0xa1, 0x30}
	// Epoch keys 00..00, 10..1f and 20..2f.
	ks := KeySet{ID: 0x1a1, Epochs: []EpochKey{{Key: security.Key{}, Start: 0}, {Key: key(0x10), Start: 10}, {Key: key(0x20), Start: 20}}}
	keys := ks.Derive(cfid)
	require.Len(t, keys, 3)
	require.Equal(t, message.SessionID(0x479e), keys[0].SessionID)
	require.Equal(t, message.SessionID(0xa512), keys[1].SessionID)
	require.Equal(t, message.SessionID(0xd800), keys[2].SessionID)
	for i, k := range keys {
		require.Equal(t, uint16(0x1a1), k.KeySet)
		require.Equal(t, i, k.Epoch)
		require.Equal(t, ks.Epochs[i].Start, k.Start)
	}
}

func TestCurrentEpoch(t *testing.T) {
	ks := KeySet{ID: 1, Epochs: []EpochKey{{Start: 100}, {Start: 300}, {Start: 200}}}
	for _, tc := range []struct {
		now  clock.Time
		want int
		ok   bool
	}{{50, -1, false}, {100, 0, true}, {250, 2, true}, {300, 1, true}, {1 << 40, 1, true}} {
		i, ok := ks.Current(tc.now)
		require.Equal(t, tc.ok, ok, "now %d", tc.now)
		require.Equal(t, tc.want, i, "now %d", tc.now)
	}
}

func TestPolicyNames(t *testing.T) {
	for _, p := range []Policy{PolicyDefault, TrustFirst, CacheAndSync} {
		got, ok := ParsePolicy(p.String())
		require.True(t, ok)
		require.Equal(t, p, got)
	}
	_, ok := ParsePolicy("sync")
	require.False(t, ok)
	require.Equal(t, CacheAndSync, PolicyDefault.Or(CacheAndSync))
	require.Equal(t, TrustFirst, TrustFirst.Or(CacheAndSync))
	require.Equal(t, "policy(9)", Policy(9).String())
}
