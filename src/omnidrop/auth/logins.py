"""Users with passwords, and the expiring bearer tokens `POST /auth/login` hands out.

A login token resolves to the same `Principal` an API key does (the user's owner, `LOGIN_SCOPES`),
and `authenticate` takes either, so every surface that takes a key takes a login token too.

A password check costs 16 MiB and tens of milliseconds of scrypt, so logins are throttled per
username and per client address (`LoginThrottle`), and a `HashGate` bounds how many checks run at
once in this process and how many may wait for their turn; past that a login is refused as busy.
"""

from __future__ import annotations

import asyncio
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import delete, select

from omnidrop.auth.errors import AuthError, InvalidCredentials
from omnidrop.auth.keys import KeyService, Principal, hash_token
from omnidrop.auth.passwords import DUMMY_HASH, hash_password, verify_password
from omnidrop.auth.rate_limits import LoginThrottle, RateLimited
from omnidrop.auth.scopes import LOGIN_SCOPES
from omnidrop.db.clock import db_time
from omnidrop.db.engine import Database
from omnidrop.db.models import LoginToken, User
from omnidrop.uploads.ids import new_id

TOKEN_PREFIX = "lt_"
# The owner of credential-less tus uploads (when allowed); no user can be created with this owner name.
ANONYMOUS_OWNER = "(anonymous uploads)"
_ALPHABET = string.ascii_letters + string.digits
T = TypeVar("T")


class UserExists(ValueError):
    pass


class WrongPassword(InvalidCredentials):
    code = "invalid_credentials"


class LoginBusy(RateLimited):
    """More password checks are running and waiting than this process takes at once."""

    code = "too_many_logins"

    def __init__(self) -> None:
        AuthError.__init__(self, "too many logins at once; try again shortly")
        self.limit = "concurrent password checks"
        self.retry_after = 1


class HashGate:
    """At most `concurrency` password hashes at once; at most `queue` more waiting, the rest refused."""

    def __init__(self, concurrency: int, queue: int) -> None:
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self.queue = max(0, queue)
        self.waiting = 0

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        if self._slots.locked():
            if self.waiting >= self.queue:
                raise LoginBusy()
            self.waiting += 1
            try:
                await self._slots.acquire()
            finally:
                self.waiting -= 1
        else:
            await self._slots.acquire()
        try:
            return await asyncio.to_thread(fn, *args)
        finally:
            self._slots.release()


@dataclass(frozen=True)
class UserRecord:
    id: str
    username: str
    owner_id: str
    created_at: datetime


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


class LoginService:
    def __init__(self, db: Database, keys: KeyService, token_ttl_seconds: float,
                 throttle: LoginThrottle | None = None, gate: HashGate | None = None) -> None:
        self.db = db
        self.keys = keys
        self.token_ttl = timedelta(seconds=token_ttl_seconds)
        self.throttle = throttle
        self.gate = gate or HashGate(concurrency=4, queue=64)

    async def create_user(self, username: str, password: str, owner: str | None = None) -> UserRecord:
        """`owner` defaults to the username: each user their own owner unless grouped on purpose."""
        username = username.strip()
        if not username or not password:
            raise ValueError("username and password must not be empty")
        if (owner or username) == ANONYMOUS_OWNER:
            raise ValueError(f"{ANONYMOUS_OWNER!r} is reserved")
        owner_id = await self.keys.ensure_owner(owner or username)
        password_hash = await self.gate.run(hash_password, password)
        async with self.db.write() as s:
            if (await s.execute(select(User.id).where(User.username == username))).first():
                raise UserExists(username)
            user = User(id=new_id(16), owner_id=owner_id, username=username, password_hash=password_hash,
                        created_at=db_time(0))
            s.add(user)
            await s.flush()
            await s.refresh(user)
        return UserRecord(user.id, user.username, owner_id, user.created_at)

    async def login(self, username: str, password: str, address: str | None = None) -> IssuedToken:
        """`address`: the client's, counted against the per-address limit. Raises RateLimited (or
        LoginBusy) before any hashing when refused."""
        if self.throttle is not None:
            await self.throttle.hit(username, address)
        async with self.db.read() as s:
            user = (await s.execute(select(User).where(User.username == username.strip()))).scalar_one_or_none()
        stored = user.password_hash if user is not None else DUMMY_HASH
        ok = await self.gate.run(verify_password, password, stored)
        if user is None or not ok or user.disabled_at is not None:
            raise WrongPassword("wrong username or password")
        token = TOKEN_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(40))
        # Issued and judged by the database's clock: a node whose own clock is off by hours neither
        # cuts a token short nor keeps it alive (DESIGN.md, invariant 9).
        async with self.db.write() as s:
            # Expired tokens of this user go as a new one comes: the table stays small without a job.
            await s.execute(delete(LoginToken).where(LoginToken.user_id == user.id,
                                                     LoginToken.expires_at < db_time(0)))
            row = LoginToken(id=new_id(16), user_id=user.id, token_hash=hash_token(token), created_at=db_time(0),
                             expires_at=db_time(self.token_ttl.total_seconds()))
            s.add(row)
            await s.flush()
            await s.refresh(row)
        return IssuedToken(token, row.expires_at)

    async def anonymous_owner(self) -> str:
        return await self.keys.ensure_owner(ANONYMOUS_OWNER)

    async def authenticate(self, token: str) -> Principal:
        """A login token or, failing the prefix, an API key."""
        if not token.startswith(TOKEN_PREFIX):
            return await self.keys.authenticate(token)
        async with self.db.read() as s:
            row = (
                await s.execute(
                    select(LoginToken, User, (LoginToken.expires_at <= db_time(0)).label("expired"))
                    .join(User, User.id == LoginToken.user_id)
                    .where(LoginToken.token_hash == hash_token(token))
                )
            ).first()
        if row is None:
            raise InvalidCredentials()
        login, user, expired = row
        if expired or user.disabled_at is not None:
            raise InvalidCredentials()
        return Principal(owner_id=user.owner_id, key_id=f"login:{login.id}", scopes=frozenset(LOGIN_SCOPES))
