package testca

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/session/cert"
)

func mint(t testing.TB, o Options) *Fabric {
	t.Helper()
	f, err := Mint(o)
	require.NoError(t, err)
	return f
}

// Every chain of a minted fabric validates, with and without an ICAC.
func TestMintedChainsVerify(t *testing.T) {
	for _, icac := range []bool{false, true} {
		f := mint(t, Options{Seed: 7, Nodes: 5, ICAC: icac, FabricID: 0xFAB1, FirstNodeID: 100, CATs: []uint32{0x00010001}})
		require.Equal(t, icac, f.ICAC != nil)
		for i := range f.Nodes {
			v, err := f.Chain(i).Verify(cert.VerifyOptions{Epoch: DefaultNotBefore})
			require.NoError(t, err)
			require.Equal(t, uint64(100+i), v.NodeID)
			require.Equal(t, uint64(0xFAB1), v.FabricID)
			require.Equal(t, []uint32{0x00010001}, v.CATs)
		}
		// The standard library builds the same chain from the DER.
		roots, inter := x509.NewCertPool(), x509.NewCertPool()
		r, err := x509.ParseCertificate(f.RCAC.DER)
		require.NoError(t, err)
		roots.AddCert(r)
		if f.ICAC != nil {
			i, err := x509.ParseCertificate(f.ICAC.DER)
			require.NoError(t, err)
			inter.AddCert(i)
		}
		n, err := x509.ParseCertificate(f.Nodes[4].DER)
		require.NoError(t, err)
		_, err = n.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: r.NotBefore,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}})
		require.NoError(t, err)
	}
}

// The encodings convert into each other as the SDK's would.
func TestMintedEncodings(t *testing.T) {
	f := mint(t, Options{Seed: 1, Nodes: 2, ICAC: true})
	for _, id := range []Identity{f.RCAC, *f.ICAC, f.Nodes[0], f.Nodes[1]} {
		der, err := cert.TLVToDER(id.TLV)
		require.NoError(t, err)
		require.Equal(t, id.DER, der)
		tl, err := cert.DERToTLV(id.DER)
		require.NoError(t, err)
		require.Equal(t, id.TLV, tl)
		pub, err := id.Key.PublicKey.Bytes()
		require.NoError(t, err)
		require.Equal(t, pub, id.Cert.PublicKey)
	}
}

// Minting is a pure function of the options: the same seed gives the same
// bytes, another seed other keys, and node i's key does not depend on how
// many nodes there are.
func TestMintDeterministic(t *testing.T) {
	digest := func(f *Fabric) string {
		h := sha256.New()
		for _, id := range append([]Identity{f.RCAC, *f.ICAC}, f.Nodes...) {
			h.Write(id.TLV)
			h.Write(id.Key.D.Bytes())
		}
		h.Write(f.IPK[:])
		return hex.EncodeToString(h.Sum(nil))
	}
	a := mint(t, Options{Seed: 42, Nodes: 3, ICAC: true})
	b := mint(t, Options{Seed: 42, Nodes: 3, ICAC: true})
	require.Equal(t, digest(a), digest(b))
	c := mint(t, Options{Seed: 43, Nodes: 3, ICAC: true})
	require.NotEqual(t, digest(a), digest(c))
	d := mint(t, Options{Seed: 42, Nodes: 10, ICAC: true})
	require.True(t, bytes.Equal(a.Nodes[2].TLV, d.Nodes[2].TLV))
	require.True(t, Key(42, RoleNOC, 2).Equal(a.Nodes[2].Key))
}

// Golden values pin the derivation (HKDF info strings, rejection, RFC 6979):
// a change to any of them changes these and every fabric users made.
func TestMintGolden(t *testing.T) {
	f := mint(t, Options{Seed: 1})
	require.Equal(t, "669869f0c20dfb1bf85843a486a4851dcf0ef85ac47309ccd7d34dd799662cc3", hex.EncodeToString(f.RCAC.Key.D.FillBytes(make([]byte, 32))))
	require.Equal(t, "6310e67617da1db58efd9bf3e525c94b", hex.EncodeToString(f.IPK[:]))
	h := sha256.Sum256(f.Nodes[0].TLV)
	require.Equal(t, "1e735a372e0262dc806a2419851069d93694c7b85659d8c886ebceb0b172ad6a", hex.EncodeToString(h[:]))
}

func TestMintRejects(t *testing.T) {
	for _, o := range []Options{
		{Nodes: -1},
		{FirstNodeID: 0xFFFF_FFEF_FFFF_FFFF, Nodes: 2},
		{CATs: []uint32{0x10001, 0x20001, 0x30001, 0x40001}},
		{CATs: []uint32{0x10000}},
		{CATs: []uint32{0x10001, 0x10002}},
	} {
		_, err := Mint(o)
		require.Error(t, err, "%+v", o)
	}
}

func BenchmarkMintFabric10k(b *testing.B) {
	for b.Loop() {
		f, err := Mint(Options{Seed: 1, Nodes: 10000, ICAC: true})
		if err != nil || len(f.Nodes) != 10000 {
			b.Fatal(err)
		}
	}
}

func TestFiles(t *testing.T) {
	f := mint(t, Options{Seed: 3, Nodes: 2, ICAC: true, FirstNodeID: 0x10})
	files, err := f.Files()
	require.NoError(t, err)
	byPath := map[string]File{}
	var paths []string
	for _, fl := range files {
		byPath[fl.Path] = fl
		paths = append(paths, fl.Path)
	}
	require.Equal(t, []string{"manifest.json",
		"rcac.pem", "rcac.chip", "rcac-key.pem", "icac.pem", "icac.chip", "icac-key.pem",
		"nodes/0000000000000010.pem", "nodes/0000000000000010.chip", "nodes/0000000000000010-key.pem",
		"nodes/0000000000000011.pem", "nodes/0000000000000011.chip", "nodes/0000000000000011-key.pem"}, paths)

	var m Manifest
	require.NoError(t, json.Unmarshal(byPath["manifest.json"].Data, &m))
	require.Equal(t, "0x0000000000000011", m.Nodes[1].NodeID)
	require.Equal(t, hex.EncodeToString(f.IPK[:]), m.IPKEpochKey)
	for _, e := range append([]ManifestEntry{m.RCAC, *m.ICAC}, m.Nodes...) {
		blk, _ := pem.Decode(byPath[e.PEM].Data)
		require.Equal(t, "CERTIFICATE", blk.Type)
		x, err := x509.ParseCertificate(blk.Bytes)
		require.NoError(t, err)
		kb, _ := pem.Decode(byPath[e.Key].Data)
		require.Equal(t, "EC PRIVATE KEY", kb.Type)
		require.True(t, byPath[e.Key].Secret)
		key, err := x509.ParseECPrivateKey(kb.Bytes)
		require.NoError(t, err)
		require.True(t, key.PublicKey.Equal(x.PublicKey), e.PEM)
		der, err := cert.TLVToDER(byPath[e.TLV].Data)
		require.NoError(t, err)
		require.Equal(t, blk.Bytes, der)
	}
}

// The compressed fabric id and operational IPK follow spec 4.3.2.2 and
// 4.15.2 (session/security checks the derivations against SDK vectors);
// pin them for seed 1 (the README example prints the compressed id).
func TestCompressedFabricIDAndIPK(t *testing.T) {
	f := mint(t, Options{Seed: 1})
	c, ipk := f.CompressedFabricID(), f.OperationalIPK()
	require.Equal(t, "5b8aed93a2a910c4", hex.EncodeToString(c[:]))
	require.Equal(t, "e3819c4b752598750c706cdaf83e877c", hex.EncodeToString(ipk[:]))
	g := mint(t, Options{Seed: 1, FabricID: 2})
	require.NotEqual(t, c, g.CompressedFabricID())
}
