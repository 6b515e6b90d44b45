# Regenerates the datagram vectors of vectors.txt: python3 xcheck_mcsp.py (needs the cryptography package).
# Independent computation of MCSP datagrams (Python 'cryptography' AES-CCM and AES-CTR),
# from the layouts of spec 4.4 (header), 4.8 (nonce, AAD), 4.9.3 (privacy), 4.18 (MCSP).
import hmac, hashlib, struct
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

def hkdf(ikm, salt, info, L):
    if not salt: salt = b'\0'*32
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    t = b''; okm = b''; i = 1
    while len(okm) < L:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest(); okm += t; i += 1
    return okm[:L]

epoch = bytes(range(0x10, 0x20))
cfid = bytes.fromhex('87e1b004e235a130')
op = hkdf(epoch, cfid, b'GroupKey v1.0', 16)
sid = int.from_bytes(hkdf(op, b'', b'GroupKeyHash', 2), 'big')
priv = hkdf(op, b'', b'PrivacyKey', 16)
assert op.hex() == 'aed95695f375d2ce78556a41730c3f43' and sid == 0xa512

def datagram(secflags, counter, src, dst, exflags, opcode, exid, ack, payload):
    msgflags = 0x04 | 0x01  # S, DSIZ=1
    hdr = bytes([msgflags]) + struct.pack('<H', sid) + bytes([secflags]) + struct.pack('<I', counter) + struct.pack('<Q', src) + struct.pack('<Q', dst)
    ph = bytes([exflags, opcode]) + struct.pack('<H', exid) + struct.pack('<H', 0)
    if ack is not None:
        ph += struct.pack('<I', ack)
    pt = ph + payload
    nonce = bytes([secflags]) + struct.pack('<I', counter) + struct.pack('<Q', src)
    ct = AESCCM(op, tag_length=16).encrypt(nonce, pt, hdr)
    clear = hdr + ct
    if not secflags & 0x80:
        return clear, clear
    mic = ct[-16:]
    pnonce = struct.pack('>H', sid) + mic[5:16]
    ctr = b'\x01' + pnonce + b'\x00\x01'
    enc = Cipher(algorithms.AES(priv), modes.CTR(ctr)).encryptor()
    obf = enc.update(hdr[4:]) + enc.finalize()
    return clear, hdr[:4] + obf + ct

challenge = bytes.fromhex('0102030405060708')
req_node, rsp_node = 0x1122334455667788, 0x00000000000000aa
out = []
c, w = datagram(0xC1, 0x00000100, req_node, rsp_node, 0x05, 0x00, 0x1234, None, challenge)
out.append(('request', c, w))
rsp_payload = struct.pack('<I', 0x12345678) + challenge
c, w = datagram(0xC1, 0x00000200, rsp_node, req_node, 0x06, 0x01, 0x1234, 0x00000100, rsp_payload)
out.append(('response', c, w))
c, w = datagram(0xC1, 0x00000101, req_node, rsp_node, 0x03, 0x10, 0x1234, 0x00000200, b'')
out.append(('ack', c, w))
c, w = datagram(0x41, 0x00000100, req_node, rsp_node, 0x05, 0x00, 0x1234, None, challenge)
out.append(('request-clear', c, w))
for name, c, w in out:
    print(name, c.hex(), w.hex())
