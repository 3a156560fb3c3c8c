"""Fixed-window rate-limit counters, for when no Redis is configured (migration 0002)."""

from __future__ import annotations

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from omnidrop.db.models.base import Base


class RateLimitCounter(Base):
    __tablename__ = "rate_limit_counters"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float)  # epoch seconds: compared in SQL on both databases
