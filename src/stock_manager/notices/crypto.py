"""AES-256-CBC decryption of encrypted notice frames (research §1.6).

The subscription reply carries a 32-character ``key`` and a 16-character ``iv``; both are used
as their UTF-8 bytes (not base64 or hex). The ciphertext is base64, padded with PKCS#7. The
plaintext is decoded leniently: a broken multi-byte name must not kill the stream.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["DecryptError", "FrameKey", "decrypt"]


class DecryptError(ValueError):
    """The payload could not be decrypted with the session's key and iv."""


@dataclass(frozen=True)
class FrameKey:
    """The key and iv of one subscription (valid for the session that issued them only)."""

    key: str
    iv: str

    def __repr__(self) -> str:  # the key decrypts account data: never print it
        return "FrameKey(key=***, iv=***)"


def decrypt(frame_key: FrameKey, payload: str) -> str:
    """Decrypt one base64 payload; raises :class:`DecryptError` on any failure."""
    try:
        raw = base64.b64decode(payload, validate=False)
        key, iv = frame_key.key.encode("utf-8"), frame_key.iv.encode("utf-8")
        decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        padded = decryptor.update(raw) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
    except (ValueError, binascii.Error) as exc:
        raise DecryptError(f"cannot decrypt the notice payload: {type(exc).__name__}") from None
    return plain.decode("utf-8", errors="replace")
