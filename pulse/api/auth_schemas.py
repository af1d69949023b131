"""Request and response bodies of the auth and dashboard routes (docs/api.md §Dashboard API), as
pydantic models so ``/openapi.json`` describes exactly what the routes accept and answer.

Text fields refuse NUL characters and lone surrogates (PostgreSQL and UTF-8 cannot store them),
so hostile input is a 400, never a database error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Text = Annotated[str, AfterValidator(_storable)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_storable),
                 AfterValidator(_not_blank)]
Email = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$"),
                  AfterValidator(_storable)]
NewPassword = Annotated[str, Field(min_length=8, max_length=256), AfterValidator(_storable)]
Role = Literal["admin", "user"]


def iso(value: datetime | None) -> str | None:
    """UTC with milliseconds, like every timestamp of the API (docs/api.md §Conventions)."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SignInBody(_In):
    email: Annotated[str, Field(max_length=254), AfterValidator(_storable)]
    password: Annotated[str, Field(max_length=1024), AfterValidator(_storable)]
    rememberMe: bool | None = None
    callbackURL: Text | None = None


class SignUpBody(_In):
    name: Name
    email: Email
    password: NewPassword
    projectName: Name


class ProjectBody(_In):
    name: Name


class KeyBody(_In):
    name: Name | None = None


class NewUserBody(_In):
    email: Email
    name: Name | None = None
    password: NewPassword | None = None
    role: Role = "user"


class RoleBody(_In):
    role: Role


class ErrorBody(BaseModel):
    error: str
    details: list[dict[str, Any]] | None = Field(default=None, description="omitted when absent")


class Success(BaseModel):
    success: bool


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    image: str | None = None
    emailVerified: bool = False
    createdAt: str
    updatedAt: str


class SignInOut(BaseModel):
    redirect: bool = False
    token: str
    url: str | None = None
    user: UserOut


class SessionOut(BaseModel):
    id: str
    userId: str
    expiresAt: str
    createdAt: str


class GetSessionOut(BaseModel):
    session: SessionOut
    user: UserOut


class ProjectOut(BaseModel):
    id: str
    name: str
    createdAt: str
    role: Role


class ProjectList(BaseModel):
    projects: list[ProjectOut]


class NewProjectOut(BaseModel):
    projectId: str
    apiKey: str
    name: str


class KeyOut(BaseModel):
    id: str
    name: str
    prefix: str
    createdAt: str
    lastUsedAt: str | None
    revokedAt: str | None
    isActive: bool


class KeyList(BaseModel):
    apiKeys: list[KeyOut]


class NewKeyOut(BaseModel):
    apiKey: str = Field(description="the key itself, shown only this once")
    id: str
    name: str
    prefix: str


class KeyUpdated(BaseModel):
    apiKey: KeyOut


class MemberOut(BaseModel):
    id: str
    email: str
    name: str
    role: Role
    createdAt: str


class MemberList(BaseModel):
    users: list[MemberOut]


class NewMemberOut(BaseModel):
    user: MemberOut = Field(description="the request echoed (name, email, role) with the "
                            "account id: the same answer whether the account existed or not")


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries declaring the error shape for these status codes."""
    return {code: {"model": ErrorBody} for code in codes}
