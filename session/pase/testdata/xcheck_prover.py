# Independent pure-Python SPAKE2+ prover (P-256 affine arithmetic), for cross-checking the Go responder.
import hashlib, hmac, struct, sys, json
p = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff
a = p - 3
n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551
G = (0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296, 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5)
def add(P, Q):
    if P is None: return Q
    if Q is None: return P
    if P[0] == Q[0] and (P[1] + Q[1]) % p == 0: return None
    if P == Q: l = (3 * P[0] * P[0] + a) * pow(2 * P[1], -1, p) % p
    else: l = (Q[1] - P[1]) * pow(Q[0] - P[0], -1, p) % p
    x = (l * l - P[0] - Q[0]) % p
    return (x, (l * (P[0] - x) - P[1]) % p)
def mul(k, P):
    R = None
    for bit in bin(k)[2:]:
        R = add(R, R)
        if bit == '1': R = add(R, P)
    return R
def neg(P): return (P[0], (-P[1]) % p)
def enc(P): return b"\x04" + P[0].to_bytes(32, "big") + P[1].to_bytes(32, "big")
def dec(b): assert b[0] == 4 and len(b) == 65; return (int.from_bytes(b[1:33], "big"), int.from_bytes(b[33:], "big"))
M = dec(bytes.fromhex("04886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f5ff355163e43ce224e0b0e65ff02ac8e5c7be09419c785e0ca547d55a12e2d20"))
N = dec(bytes.fromhex("04d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b4907d60aa6bfade45008a636337f5168c64d9bd36034808cd564490b1e656edbe7"))
def hkdf(ikm, info, L):
    prk = hmac.new(b"\x00" * 32, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < L:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest(); out += t; i += 1
    return out[:L]
passcode, salt, it = 20202021, b"SPAKE2P Key Salt", 1000
ws = hashlib.pbkdf2_hmac("sha256", struct.pack("<I", passcode), salt, it, 80)
w0, w1 = int.from_bytes(ws[:40], "big") % n, int.from_bytes(ws[40:], "big") % n
rnd = bytes(range(32)); sid = 0x4321
x = 0x1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef
req = b"\x15\x30\x01\x20" + rnd + b"\x25\x02" + struct.pack("<H", sid) + b"\x24\x03\x00\x28\x04\x18"
X = enc(add(mul(x, G), mul(w0, M)))
pake1 = b"\x15\x30\x01\x41" + X + b"\x18"
if sys.argv[1] == "1":
    print(json.dumps({"req": req.hex(), "pake1": pake1.hex()}))
    sys.exit()
d = json.load(open(sys.argv[2]))
resp, p2 = bytes.fromhex(d["resp"]), bytes.fromhex(d["pake2"])
# Pake2 = 15 30 01 41 <Y 65> 30 02 20 <cB 32> 18
assert p2[:4] == b"\x15\x30\x01\x41" and p2[69:72] == b"\x30\x02\x20"
Yb, cB = p2[4:69], p2[72:104]
ctx = hashlib.sha256(b"CHIP PAKE V1 Commissioning" + req + resp).digest()
T = add(dec(Yb), neg(mul(w0, N)))
lp = lambda b: struct.pack("<Q", len(b)) + b
tt = b"".join(lp(v) for v in (ctx, b"", b"", enc(M), enc(N), X, Yb, enc(mul(x, T)), enc(mul(w1, T)), w0.to_bytes(32, "big")))
h = hashlib.sha256(tt).digest(); Ka, Ke = h[:16], h[16:]
kc = hkdf(Ka, b"ConfirmationKeys", 32)
assert hmac.compare_digest(hmac.new(kc[16:], X, hashlib.sha256).digest(), cB), "cB mismatch"
cA = hmac.new(kc[:16], Yb, hashlib.sha256).digest()
k = hkdf(Ke, b"SessionKeys", 48)
print(json.dumps({"pake3": (b"\x15\x30\x01\x20" + cA + b"\x18").hex(), "i2r": k[:16].hex(), "r2i": k[16:32].hex(), "chal": k[32:].hex()}))
