#!/usr/bin/env python3
"""Reference PASE probe for the interop harness: PBKDFParamRequest..StatusReport,
an encrypted ReadRequest of VendorName, then CloseSession.

This is a BYTE-LEVEL CROSS-CHECK of the recipe in the developers' notes
(docs/interop.md §3), not an independent Matter implementation: it
was written from the same notes as our Go code. Use it to tell a fault in our
client apart from a fault in the peer, and to prove the harness works.

Needs only Debian's python3 with python3-cryptography (scripts/setup-interop.sh
installs it when missing). The P-256 point arithmetic is done in plain Python
(no python3-ecdsa needed). Run it ONLY inside a network namespace the test
created (ip netns exec ...).

Usage: python3 pase_probe.py HOST PORT PASSCODE
Prints "SUCCESS: ReportData received over PASE" and exits 0 on success.
"""
import hashlib, hmac, os, socket, struct, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF



# --- P-256 (SEC 2 / FIPS 186-4 D.1.2.3), affine coordinates, None = infinity ---
P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff
A = P - 3
B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b
ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551
G = (0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296,
     0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5)

def pt_add(p, q):
    if p is None: return q
    if q is None: return p
    if p[0] == q[0] and (p[1] + q[1]) % P == 0: return None
    if p == q: l = (3 * p[0] * p[0] + A) * pow(2 * p[1], -1, P) % P
    else: l = (q[1] - p[1]) * pow(q[0] - p[0], -1, P) % P
    x = (l * l - p[0] - q[0]) % P
    return (x, (l * (p[0] - x) - p[1]) % P)

def pt_mul(k, p):
    r = None
    for bit in bin(k % ORDER)[2:]:
        r = pt_add(r, r)
        if bit == "1": r = pt_add(r, p)
    return r

def pt_neg(p): return None if p is None else (p[0], (-p[1]) % P)

def pt_decode(b):
    if b[0] == 4 and len(b) == 65:
        p = (int.from_bytes(b[1:33], "big"), int.from_bytes(b[33:], "big"))
    elif b[0] in (2, 3) and len(b) == 33:
        x = int.from_bytes(b[1:], "big"); y = pow((x * x * x + A * x + B) % P, (P + 1) // 4, P)
        if y % 2 != b[0] - 2: y = P - y
        p = (x, y)
    else: raise ValueError("bad point encoding")
    if (p[1] * p[1] - (p[0] ** 3 + A * p[0] + B)) % P: raise ValueError("point not on curve")
    return p

M = pt_decode(bytes.fromhex("02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f"))
N = pt_decode(bytes.fromhex("03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49"))

def enc_pt(p): return b"\x04" + p[0].to_bytes(32, "big") + p[1].to_bytes(32, "big")

def tlv_parse(buf, i=0):          # top-level anonymous struct -> {tag: value}
    assert buf[i] == 0x15
    return tlv_body(buf, i + 1)

def tlv_body(buf, i):
    out = {}
    while buf[i] != 0x18:
        ctrl = buf[i]; i += 1
        tagc, typ = ctrl >> 5, ctrl & 0x1F
        tag = None
        if tagc == 1: tag = buf[i]; i += 1
        elif tagc != 0: raise ValueError("tag form %d" % tagc)
        if typ <= 0x07:                                  # signed/unsigned ints, 1..8 bytes
            w = 1 << (typ & 3); val = int.from_bytes(buf[i:i+w], "little"); i += w
        elif typ in (0x08, 0x09): val = typ == 0x09      # booleans
        elif typ in (0x0C, 0x0D, 0x10, 0x11):            # strings with 1- or 2-byte length
            lw = 1 if typ in (0x0C, 0x10) else 2
            n = int.from_bytes(buf[i:i+lw], "little"); i += lw; val = bytes(buf[i:i+n]); i += n
        elif typ == 0x15: val, i = tlv_body(buf, i)
        else: raise ValueError("type 0x%x" % typ)
        out[tag] = val
    return out, i + 1

def main():
    host, port, passcode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5); addr = (host, port)
    node = int.from_bytes(os.urandom(8), "little")
    st = {"ctr": int.from_bytes(os.urandom(4), "little") & 0x0FFFFFFF, "exch": int.from_bytes(os.urandom(2), "little")}
    def ctr():
        st["ctr"] = (st["ctr"] + 1) & 0xFFFFFFFF; return st["ctr"]
    def ph(opcode, proto, ack, reliable, exch):
        f = 0x01 | (0x04 if reliable else 0) | (0x02 if ack is not None else 0)
        return struct.pack("<BBHH", f, opcode, exch, proto) + (struct.pack("<I", ack) if ack is not None else b"")
    def send_plain(opcode, payload, ack=None, reliable=True):
        hdr = struct.pack("<BHBI", 0x04, 0, 0, ctr()) + struct.pack("<Q", node)
        s.sendto(hdr + ph(opcode, 0, ack, reliable, st["exch"]) + payload, addr)
    def recv_plain():
        while True:
            d, _ = s.recvfrom(4096)
            mf, _sess, _sf, c = struct.unpack_from("<BHBI", d, 0)
            i = 8 + (8 if mf & 0x04 else 0) + {0: 0, 1: 8, 2: 2}[mf & 0x03]
            xf, op, _ex, proto = struct.unpack_from("<BBHH", d, i); i += 6 + (4 if xf & 0x02 else 0)
            if op == 0x10 and proto == 0: continue       # standalone ack
            return c, op, d[i:]

    rnd, sid = os.urandom(32), int.from_bytes(os.urandom(2), "little") or 1
    req = b"\x15\x30\x01\x20" + rnd + b"\x25\x02" + struct.pack("<H", sid) + b"\x24\x03\x00\x28\x04\x18"
    send_plain(0x20, req)
    c, op, resp = recv_plain(); assert op == 0x21, hex(op)
    rv, _ = tlv_parse(resp); assert rv[1] == rnd
    peer_sid, it, salt = rv[3], rv[4][1], rv[4][2]
    ws = hashlib.pbkdf2_hmac("sha256", struct.pack("<I", passcode), salt, it, 80)
    w0, w1 = int.from_bytes(ws[:40], "big") % ORDER, int.from_bytes(ws[40:], "big") % ORDER
    context = hashlib.sha256(b"CHIP PAKE V1 Commissioning" + req + resp).digest()
    x = int.from_bytes(os.urandom(32), "big") % (ORDER - 1) + 1
    Xb = enc_pt(pt_add(pt_mul(x, G), pt_mul(w0, M)))
    send_plain(0x22, b"\x15\x30\x01\x41" + Xb + b"\x18", ack=c)
    c, op, p2 = recv_plain(); assert op == 0x23, hex(op)
    p2, _ = tlv_parse(p2); Yb, cB = p2[1], p2[2]
    T = pt_add(pt_decode(Yb), pt_neg(pt_mul(w0, N)))
    lp = lambda b: struct.pack("<Q", len(b)) + b
    tt = b"".join(lp(v) for v in (context, b"", b"", enc_pt(M), enc_pt(N), Xb, Yb, enc_pt(pt_mul(x, T)), enc_pt(pt_mul(w1, T)),
                                  w0.to_bytes(32, "big")))
    h = hashlib.sha256(tt).digest(); Ka, Ke = h[:16], h[16:]
    kc = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"ConfirmationKeys").derive(Ka)
    if not hmac.compare_digest(hmac.new(kc[16:], Xb, hashlib.sha256).digest(), cB):
        send_plain(0x40, struct.pack("<HIH", 1, 0, 2), ack=c)       # polite abort frees the device
        sys.exit("FAIL: cB mismatch (wrong passcode?)")
    send_plain(0x24, b"\x15\x30\x01\x20" + hmac.new(kc[:16], Yb, hashlib.sha256).digest() + b"\x18", ack=c)
    c, op, sr = recv_plain(); assert op == 0x40, hex(op)
    g, _p, code = struct.unpack_from("<HIH", sr); print("StatusReport", g, code)
    if g or code: sys.exit("FAIL: PASE rejected")
    send_plain(0x10, b"", ack=c, reliable=False)
    k = HKDF(algorithm=hashes.SHA256(), length=48, salt=None, info=b"SessionKeys").derive(Ke)
    i2r, r2i = AESCCM(k[:16], tag_length=16), AESCCM(k[16:32], tag_length=16)
    st["exch"] = (st["exch"] + 1) & 0xFFFF
    def send_sec(opcode, proto, payload, ack=None, reliable=True):
        n = ctr(); hdr = struct.pack("<BHBI", 0, peer_sid, 0, n)
        s.sendto(hdr + i2r.encrypt(struct.pack("<BIQ", 0, n, 0), ph(opcode, proto, ack, reliable, st["exch"]) + payload, hdr), addr)
    def recv_sec():
        while True:
            d, _ = s.recvfrom(4096)
            mf, sess, sf, n = struct.unpack_from("<BHBI", d, 0)
            i = 8 + (8 if mf & 0x04 else 0); assert sess == sid
            pt = r2i.decrypt(struct.pack("<BIQ", sf, n, 0), d[i:], d[:i])
            xf, op, _ex, proto = struct.unpack_from("<BBHH", pt, 0)
            if op == 0x10 and proto == 0: continue
            return n, op, pt[6 + (4 if xf & 0x02 else 0):]
    send_sec(0x02, 0x0001, bytes.fromhex("153600172402002403282404011818280324ff0b18"))
    n, op, rep = recv_sec(); print("IM opcode 0x%x payload %s" % (op, rep.hex()))
    send_sec(0x10, 0x0000, b"", ack=n, reliable=False)
    if op == 0x05: print("SUCCESS: ReportData received over PASE")
    st["exch"] = (st["exch"] + 1) & 0xFFFF
    send_sec(0x40, 0x0000, struct.pack("<HIH", 0, 0, 3), reliable=False)   # CloseSession

if __name__ == "__main__":
    main()
