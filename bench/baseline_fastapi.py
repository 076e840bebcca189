"""Baseline (b): balance/get as a team would write it by default.

FastAPI, a pydantic request and response model, the SQLAlchemy async ORM (aiosqlite, or
psycopg's async driver for PostgreSQL) with a session per request from a dependency: load the
live token with its account, then the wallet. Same database, same body size as the service.

Served by `python -m uvicorn bench.baseline_fastapi:app` with `BENCH_DATABASE_URL` set.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, FastAPI
from pydantic import BaseModel
from sqlalchemy import ForeignKey, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, joinedload, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    enabled: Mapped[bool]
    deactivated: Mapped[dt.datetime | None]


class AuthToken(Base):
    __tablename__ = "auth_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    token_hash: Mapped[str]
    revoked_at: Mapped[dt.datetime | None]
    account: Mapped[Account] = relationship()


class Wallet(Base):
    __tablename__ = "wallets"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    credits: Mapped[int]
    free_sms: Mapped[int]


class BalanceRequest(BaseModel):
    # The wire's camelCase field names.
    apiKey: str
    authToken: str


class BalanceResponse(BaseModel):
    errorCode: int
    freeSms: int | None = None
    credits: int | None = None


def _async_url(url: str) -> str:
    if url.startswith("sqlite:"):
        return url.replace("sqlite:", "sqlite+aiosqlite:", 1)
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


engine = create_async_engine(_async_url(os.environ.get("BENCH_DATABASE_URL", "sqlite:///x.db")))
Session = async_sessionmaker(engine, expire_on_commit=False)
app = FastAPI()


async def session() -> AsyncIterator[AsyncSession]:
    async with Session() as s:
        yield s


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/json/user/balance/get", response_model_exclude_none=True)
async def balance(
    request: BalanceRequest, db: Annotated[AsyncSession, Depends(session)]
) -> BalanceResponse:
    token_hash = hashlib.sha256(request.authToken.encode()).hexdigest()
    token = await db.scalar(
        select(AuthToken)
        .options(joinedload(AuthToken.account))
        .where(AuthToken.token_hash == token_hash, AuthToken.revoked_at.is_(None))
    )
    if token is None or not token.account.enabled or token.account.deactivated is not None:
        return BalanceResponse(errorCode=100)
    wallet = await db.get(Wallet, token.account_id)
    assert wallet is not None
    return BalanceResponse(errorCode=0, freeSms=wallet.free_sms, credits=wallet.credits)
