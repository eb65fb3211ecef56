"""Dashboard sign-in: signed session cookies, CSRF tokens and one-time login links.

A session cookie is `payload.signature`: base64url JSON (`sid`, `adm`, `exp`) signed with
HMAC-SHA256 under a secret kept in the data dir (`dashboard-secret`, mode 0600). `adm` is a
fingerprint of the admin token the session signed in with, so rotating the token signs every
session out. Every visitor gets a session (signed in or not) so that every form, the sign-in
form too, carries a CSRF token: HMAC of the session id.

One-time login links keep only the SHA-256 of their code, in `app_settings`, so the
`dashboard-link` command works against the same database while `serve` runs.

Signing out revokes the session on the server: a fingerprint of its id goes into
`app_settings` until the cookie would have expired, and every page that needs the host checks
it, so a copied cookie stops working at once on every replica.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.services.app_settings import put_settings
from coordinator_service.services.clock import utcnow
from coordinator_service.storage.models import AppSetting

__all__ = [
    "COOKIE_NAME",
    "LOGIN_LINK_TTL",
    "SESSION_TTL_S",
    "Session",
    "SessionSigner",
    "create_login_code",
    "is_revoked",
    "load_secret",
    "redeem_login_code",
    "revoke_session",
    "token_fingerprint",
    "tokens_equal",
]

COOKIE_NAME = "streamr_session"
SESSION_TTL_S = 12 * 3600
LOGIN_LINK_TTL = timedelta(minutes=10)
_LOGIN_KEY_PREFIX = "dashboard_login:"
_REVOKED_KEY_PREFIX = "dashboard_revoked:"
_SECRET_FILE = "dashboard-secret"


def load_secret(data_dir: Path) -> bytes:
    """Return the signing secret of this data dir, making it (0600) on first use."""
    path = data_dir / _SECRET_FILE
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        text = ""
    if len(text) >= 32:
        return text.encode()
    data_dir.mkdir(parents=True, exist_ok=True)
    text = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    return text.encode()


def token_fingerprint(token: str) -> str:
    """Return a short, non-reversible fingerprint of an admin token."""
    return hashlib.sha256(b"streamr-dashboard:" + token.encode()).hexdigest()[:32]


def tokens_equal(given: str, expected: str) -> bool:
    """Compare two tokens in constant time; an empty expected token matches nothing."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class Session:
    """A visitor's session: `admin` is the fingerprint of the token it signed in with."""

    sid: str
    admin: str
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Signs and reads session cookies and derives CSRF tokens with one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, purpose: str, data: bytes) -> bytes:
        return hmac.new(self._secret, purpose.encode() + b"\0" + data, hashlib.sha256).digest()

    def new_session(self, admin: str = "", now: float | None = None) -> Session:
        """Return a fresh session (a new id, so signing in never keeps an old one)."""
        issued = time.time() if now is None else now
        return Session(secrets.token_urlsafe(18), admin, int(issued) + SESSION_TTL_S)

    def dumps(self, session: Session) -> str:
        """Return the cookie value of a session."""
        payload = json.dumps(
            {"sid": session.sid, "adm": session.admin, "exp": session.expires_at},
            separators=(",", ":"),
        ).encode()
        return f"{_b64(payload)}.{_b64(self._mac('session', payload))}"

    def loads(self, value: str | None, now: float | None = None) -> Session | None:
        """Return the session a cookie carries, or None when it is forged, broken or old."""
        if not value or len(value) > 1024 or value.count(".") != 1:
            return None
        body, signature = value.split(".")
        try:
            payload = _unb64(body)
            given = _unb64(signature)
        except (ValueError, TypeError):
            return None
        if not hmac.compare_digest(given, self._mac("session", payload)):
            return None
        try:
            data = json.loads(payload)
            session = Session(str(data["sid"]), str(data["adm"]), int(data["exp"]))
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires_at < (time.time() if now is None else now):
            return None
        return session

    def csrf_token(self, session: Session) -> str:
        """Return the CSRF token every form of this session must carry."""
        return _b64(self._mac("csrf", session.sid.encode()))

    def csrf_ok(self, session: Session | None, given: str) -> bool:
        """Tell whether a submitted CSRF token belongs to the session."""
        if session is None or not given:
            return False
        return hmac.compare_digest(given.encode(), self.csrf_token(session).encode())


def _login_key(code: str) -> str:
    return _LOGIN_KEY_PREFIX + hashlib.sha256(code.encode()).hexdigest()


async def create_login_code(db: AsyncSession, now: datetime | None = None) -> str:
    """Store a new one-time login code (valid for LOGIN_LINK_TTL) and return it."""
    now = now or utcnow()
    code = secrets.token_urlsafe(24)
    expires = now + LOGIN_LINK_TTL
    db.add(AppSetting(key=_login_key(code), value=expires.isoformat()))
    await db.commit()
    return code


async def redeem_login_code(db: AsyncSession, code: str, now: datetime | None = None) -> bool:
    """Use up a login code; True only the first time and before it expires."""
    if not code or len(code) > 128:
        return False
    now = now or utcnow()
    key = _login_key(code)
    found = await db.get(AppSetting, key)
    if found is None:
        return False
    value = found.value
    result = await db.execute(delete(AppSetting).where(AppSetting.key == key))
    await db.commit()
    if getattr(result, "rowcount", 0) != 1:
        return False  # another request redeemed it first
    try:
        expires = datetime.fromisoformat(value)
    except ValueError:
        return False
    return now < expires


def _revoked_key(session: Session) -> str:
    return _REVOKED_KEY_PREFIX + hashlib.sha256(session.sid.encode()).hexdigest()[:40]


async def revoke_session(db: AsyncSession, session: Session, now: float | None = None) -> None:
    """Refuse this session from now on (until it would expire anyway); forget expired ones."""
    issued = time.time() if now is None else now
    await db.execute(
        delete(AppSetting).where(
            AppSetting.key.startswith(_REVOKED_KEY_PREFIX),
            AppSetting.value < f"{int(issued):012d}",
        )
    )
    await put_settings(db, {_revoked_key(session): f"{session.expires_at:012d}"})


async def is_revoked(db: AsyncSession, session: Session) -> bool:
    """Tell whether the host signed this session out."""
    return await db.get(AppSetting, _revoked_key(session)) is not None
