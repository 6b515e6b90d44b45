# Regenerates datagrams.txt: python3 xcheck_datagrams.py > datagrams.txt (needs the cryptography package).
# Independent of the Go code: HKDF from hmac, AES-CCM and AES-CTR from 'cryptography', layouts from
# spec 4.4.1 (header), 4.8.1 (nonce: security flags || counter LE || source node id LE; AAD = clear
# header), 4.9.3 (privacy), 4.17.2 (group keys).
import hmac, hashlib, struct
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

def hkdf(ikm, salt, info, L):
    if not salt: salt = b'\0' * 32
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    t = b''; okm = b''; i = 1
    while len(okm) < L:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest(); okm += t; i += 1
    return okm[:L]

cfid = bytes.fromhex('87e1b004e235a130')

def keys(epoch):
    op = hkdf(epoch, cfid, b'GroupKey v1.0', 16)
    return op, int.from_bytes(hkdf(op, b'', b'GroupKeyHash', 2), 'big'), hkdf(op, b'', b'PrivacyKey', 16)

def group_datagram(epoch, privacy, counter, src, group, exflags, opcode, exid, proto, payload):
    op, sid, priv = keys(epoch)
    sec = 0x01 | (0x80 if privacy else 0)
    hdr = bytes([0x06]) + struct.pack('<H', sid) + bytes([sec]) + struct.pack('<I', counter) + struct.pack('<Q', src) + struct.pack('<H', group)
    pt = bytes([exflags, opcode]) + struct.pack('<H', exid) + struct.pack('<H', proto) + payload
    nonce = bytes([sec]) + struct.pack('<I', counter) + struct.pack('<Q', src)
    ct = AESCCM(op, tag_length=16).encrypt(nonce, pt, hdr)
    if not privacy:
        return hdr + ct
    mic = ct[-16:]
    ctr = b'\x01' + struct.pack('>H', sid) + mic[5:16] + b'\x00\x01'
    enc = Cipher(algorithms.AES(priv), modes.CTR(ctr)).encryptor()
    return hdr[:4] + enc.update(hdr[4:]) + enc.finalize() + ct

epoch = bytes(range(0x10, 0x20))
print('# key', 'epoch', epoch.hex(), 'session', hex(keys(epoch)[1]))
# An InvokeRequest-shaped group message: counter 0x12345678, source 0x1122334455667788, group
# 0x0101, I flag, opcode 0x08, exchange 2, protocol 1 (IM), payload 15 18 (an empty structure).
for name, privacy in (('privacy', True), ('clear', False)):
    print('send', name, group_datagram(epoch, privacy, 0x12345678, 0x1122334455667788, 0x0101, 0x01, 0x08, 2, 1, bytes.fromhex('1518')).hex())
# Three more epoch keys whose group session id is also 0xa512 (found by search), for key trial.
for ek in ('c0c0c0c0c0c0c0c00000000000008235', 'c0c0c0c0c0c0c0c0000000000000852a', 'c0c0c0c0c0c0c0c0000000000000cdfc'):
    print('collide', ek, hex(keys(bytes.fromhex(ek))[1]))
