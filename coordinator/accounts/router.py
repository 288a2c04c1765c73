"""/v1/accounts: an administrator grants roles and sets routing attributes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from eth_utils import to_checksum_address
from pydantic import Field
from sqlalchemy import select, update

from app.sync.wire import Role, Short, Wire
from coordinator.deps import Admin, CtxDep
from coordinator.errors import ApiError
from coordinator.tables import accounts

router = APIRouter(prefix="/accounts", tags=["accounts"])
Address = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")]


class AccountOut(Wire):
    address: str
    roles: list[Role]
    tier: int
    languages: list[str]
    skills: list[str]
    locked: bool


class AccountPatch(Wire):
    roles: Annotated[list[Role], Field(min_length=1, max_length=4)] | None = None
    tier: Annotated[int, Field(ge=0, le=10)] | None = None
    languages: Annotated[list[Annotated[str, Field(min_length=2, max_length=16)]], Field(max_length=32)] | None = None
    skills: Annotated[list[Short], Field(max_length=32)] | None = None
    locked: bool | None = None


def _out(row: object) -> AccountOut:
    return AccountOut(address=row.address, roles=row.roles, tier=row.tier, languages=row.languages,
                      skills=row.skills, locked=row.locked)


@router.patch("/{address}", response_model=AccountOut, responses={404: {"description": "no such account"}, 409: {"description": "would lock out the caller"}})
def patch_account(address: Address, body: AccountPatch, admin: Admin, ctx: CtxDep) -> AccountOut:
    """Change an account that has signed in at least once."""
    if to_checksum_address(address) == admin.address and (body.locked or (body.roles and Role.admin not in body.roles)):
        raise ApiError(409, "own_account", "an administrator cannot lock or demote their own account")
    changes = {k: ([r.value for r in v] if k == "roles" else v)
               for k, v in body.model_dump(exclude_none=True).items()}
    with ctx.db.write() as conn:
        where = accounts.c.address == to_checksum_address(address)  # stored spelling: EIP-55
        if changes:
            conn.execute(update(accounts).where(where).values(**changes))
        row = conn.execute(select(accounts).where(where)).first()
    if row is None:
        raise ApiError(404, "not_found", f"no account {address}: it must sign in once first")
    return _out(row)

