"""API keys: `sk_` tokens shown once, stored as a sha256 hash, each belonging to an owner."""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, or_, select, update

from omnidrop.auth.errors import InsufficientScope, InvalidCredentials
from omnidrop.auth.scopes import ALL_SCOPES
from omnidrop.db.clock import db_time
from omnidrop.db.engine import Database
from omnidrop.db.models import ApiKey, Owner
from omnidrop.db.types import utcnow
from omnidrop.uploads.ids import new_id

_ALPHABET = string.ascii_letters + string.digits
TOKEN_PREFIX = "sk_"


# Every request runs it: built once (building and cache-keying costs about as much as the query).
_BY_HASH = select(ApiKey).where(ApiKey.key_hash == bindparam("digest"))


def generate_token() -> str:
    return TOKEN_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(32))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved from a key (or, later, a login token)."""

    owner_id: str
    key_id: str
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise InsufficientScope(scope)


@dataclass(frozen=True)
class KeyRecord:
    id: str
    name: str
    owner: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class UnknownScope(ValueError):
    pass


class KeyService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def ensure_owner(self, name: str) -> str:
        async with self.db.write() as s:
            owner = (await s.execute(select(Owner).where(Owner.name == name))).scalar_one_or_none()
            if owner is None:
                owner = Owner(id=new_id(16), name=name, created_at=utcnow())
                s.add(owner)
            return owner.id

    async def create(self, name: str, scopes: list[str], owner: str = "default") -> tuple[str, KeyRecord]:
        """Returns the plaintext token (never stored) and the record."""
        unknown = sorted(set(scopes) - set(ALL_SCOPES))
        if unknown:
            raise UnknownScope(", ".join(unknown))
        owner_id = await self.ensure_owner(owner)
        token = generate_token()
        key = ApiKey(
            id=new_id(16), owner_id=owner_id, name=name, key_hash=hash_token(token), prefix=token[:10],
            scopes=" ".join(sorted(set(scopes))), created_at=utcnow(),
        )
        async with self.db.write() as s:
            s.add(key)
        return token, KeyRecord(key.id, name, owner, key.prefix, sorted(set(scopes)), key.created_at, None)

    async def list(self) -> list[KeyRecord]:
        async with self.db.read() as s:
            rows = (await s.execute(select(ApiKey, Owner.name).join(Owner).order_by(ApiKey.created_at))).all()
        return [
            KeyRecord(k.id, k.name, owner, k.prefix, k.scopes.split(), k.created_at, k.revoked_at)
            for k, owner in rows
        ]

    async def revoke(self, id_or_prefix: str) -> bool:
        async with self.db.write() as s:
            result = await s.execute(
                update(ApiKey)
                .where(or_(ApiKey.id == id_or_prefix, ApiKey.prefix == id_or_prefix), ApiKey.revoked_at.is_(None))
                .values(revoked_at=db_time(0))
            )
        return result.rowcount > 0

    async def authenticate(self, token: str) -> Principal:
        if not token.startswith(TOKEN_PREFIX):
            raise InvalidCredentials()
        digest = hash_token(token)
        # Every request runs this: one short transaction (see Database.run_read). Not cached, so a
        # revoked key is refused on its very next request, by every server process.
        key = await self.db.run_read(lambda s: s.execute(_BY_HASH, {"digest": digest}).scalar_one_or_none())
        if key is None or key.revoked_at is not None:
            raise InvalidCredentials()
        return Principal(owner_id=key.owner_id, key_id=key.id, scopes=frozenset(key.scopes.split()))
