"""The dashboard's account routes under ``/dashboard/api`` (docs/api.md §Dashboard API): sign-up,
projects, API keys and project users. The dashboard's *read* routes are the ``/v1`` routers mounted
a second time under ``/dashboard/api`` with :func:`pulse.api.deps.project_access` (see ``app.py``).

Every project-scoped route resolves the session and ``X-Project-Id`` first (401, 400, 403), and
every storage call takes that project id, so one project's ids never reach another's rows: a key
id from another project is simply "not found".

Sign-up never tells whether an email is registered: an existing email gets the same 201 after
the same password-hashing work, and nothing is created (the owner can sign in as usual).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Request

from pulse.api.auth_schemas import (
    KeyBody,
    KeyList,
    KeyOut,
    KeyUpdated,
    MemberList,
    MemberOut,
    NewKeyOut,
    NewMemberOut,
    NewProjectOut,
    NewUserBody,
    ProjectBody,
    ProjectList,
    ProjectOut,
    RoleBody,
    SignUpBody,
    Success,
    errors,
    iso,
)
from pulse.api.deps import Services, current_session, project_admin, services
from pulse.api.routes.auth import TooManyRequests
from pulse.api.security import AuthOptions, RateLimiter, client_ip
from pulse.errors import Forbidden, InvalidInput, NotFound, PulseError
from pulse.records import ProjectAccess
from pulse.storage import accounts, auth_sessions

PREFIX = "/dashboard/api"
NEEDS_NAME_AND_PASSWORD = "A user needs a name and a password"
SCOPED = (400, 401, 403, 503)  # no session, bad X-Project-Id, not a member / not admin


class Conflict(PulseError):
    http_status = 409


def key_out(row: dict) -> KeyOut:
    return KeyOut(
        id=str(row["id"]), name=row["name"], prefix=row["display_prefix"],
        createdAt=iso(row["created_at"]), lastUsedAt=iso(row["last_used_at"]),
        revokedAt=iso(row["revoked_at"]), isActive=row["revoked_at"] is None,
    )


def parse_key_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise NotFound("API key not found") from None


SIGNUP_CLOSED = ("Sign-up is closed: this server already has its first account. Ask a project"
                 " admin to add you, or set PULSE_SIGNUP=open")


LAST_ADMIN = "A project needs at least one admin: make another member admin first"


def parse_member_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise NotFound("Member not found") from None


def router(options: AuthOptions) -> APIRouter:
    r = APIRouter(tags=["dashboard"])
    signups = RateLimiter(options.signup_ip_limit, 3600)

    @r.post(
        f"{PREFIX}/signup", status_code=201, response_model=Success,
        responses=errors(400, 403, 413, 429, 503),
    )
    async def signup(
        body: SignUpBody, request: Request, svc: Services = Depends(services)
    ) -> Success:
        """Creates the user, a project, an admin membership and a key named "Default Key"."""
        if options.signup == "closed":
            raise Forbidden("Sign-up is disabled on this server (PULSE_SIGNUP=closed)")
        ip = client_ip(request)
        wait = signups.retry_after(ip)
        if wait:
            raise TooManyRequests("Too many sign-ups, retry later", wait)
        signups.hit(ip)
        password_hash = await auth_sessions.hash_password(body.password)
        try:
            await accounts.signup(svc.pool, body.email, body.name, password_hash,
                                  body.projectName, first_only=options.signup == "first_account")
        except accounts.SignupClosed:
            raise Forbidden(SIGNUP_CLOSED) from None
        return Success(success=True)

    @r.get(f"{PREFIX}/projects", response_model=ProjectList, responses=errors(401, 503))
    async def list_projects(
        session=Depends(current_session), svc: Services = Depends(services)
    ) -> ProjectList:
        """The signed-in user's projects with their role in each."""
        rows = await accounts.user_projects(svc.pool, session.user_id)
        return ProjectList(projects=[
            ProjectOut(id=str(p["id"]), name=p["name"], createdAt=iso(p["created_at"]),
                       role=p["role"])
            for p in rows
        ])

    @r.post(
        f"{PREFIX}/projects", status_code=201, response_model=NewProjectOut,
        responses=errors(400, 401, 403, 413, 503),
    )
    async def create_project(
        body: ProjectBody, session=Depends(current_session), svc: Services = Depends(services)
    ) -> NewProjectOut:
        """A new project owned (admin) by the caller, with its first key (shown once)."""
        key = await accounts.create_owned_project(svc.pool, session.user_id, body.name)
        return NewProjectOut(projectId=str(key.project_id), apiKey=key.key, name=body.name.strip())

    @r.get(f"{PREFIX}/api-keys", response_model=KeyList, responses=errors(*SCOPED))
    async def list_keys(
        access: ProjectAccess = Depends(project_admin), svc: Services = Depends(services)
    ) -> KeyList:
        """The project's keys: display prefix, state and last use, never the key."""
        rows = await accounts.list_keys(svc.pool, access.project_id)
        return KeyList(apiKeys=[key_out(row) for row in rows])

    @r.post(
        f"{PREFIX}/api-keys", status_code=201, response_model=NewKeyOut,
        responses=errors(*SCOPED, 413),
    )
    async def create_key(
        body: KeyBody | None = Body(default=None),
        access: ProjectAccess = Depends(project_admin), svc: Services = Depends(services),
    ) -> NewKeyOut:
        """A new key for the project; the body is optional (``{name?}``)."""
        name = body.name.strip() if body and body.name else "Default Key"
        key = await accounts.create_key(svc.pool, access.project_id, name)
        return NewKeyOut(apiKey=key.key, id=str(key.id), name=key.name, prefix=key.display_prefix)

    @r.patch(
        PREFIX + "/api-keys/{key_id}", response_model=KeyUpdated,
        responses=errors(*SCOPED, 404, 413),
    )
    async def rename_key(
        key_id: str, body: KeyBody,
        access: ProjectAccess = Depends(project_admin), svc: Services = Depends(services),
    ) -> KeyUpdated:
        """Rename a key (``{name}``)."""
        wanted = parse_key_id(key_id)
        if body.name is not None:
            await accounts.rename_key(svc.pool, access.project_id, wanted, body.name)
        row = await accounts.project_key(svc.pool, access.project_id, wanted)
        if row is None:
            raise NotFound("API key not found")
        return KeyUpdated(apiKey=key_out(row))

    @r.delete(
        PREFIX + "/api-keys/{key_id}", response_model=Success,
        responses=errors(*SCOPED, 404, 413),
    )
    async def revoke_key(
        key_id: str,
        access: ProjectAccess = Depends(project_admin), svc: Services = Depends(services),
    ) -> Success:
        """Revoke a key: the next request with it gets 401."""
        if not await accounts.revoke_project_key(svc.pool, access.project_id,
                                                 parse_key_id(key_id)):
            raise NotFound("API key not found")
        return Success(success=True)

    @r.get(f"{PREFIX}/users", response_model=MemberList, responses=errors(*SCOPED))
    async def list_users(
        access: ProjectAccess = Depends(project_admin), svc: Services = Depends(services)
    ) -> MemberList:
        """The project's members and their roles."""
        rows = await accounts.project_members(svc.pool, access.project_id)
        return MemberList(users=[member_out(row) for row in rows])

    @r.post(
        f"{PREFIX}/users", status_code=201, response_model=NewMemberOut,
        responses=errors(*SCOPED, 409, 413),
    )
    async def add_user(
        body: NewUserBody,
        access: ProjectAccess = Depends(project_admin), svc: Services = Depends(services),
    ) -> NewMemberOut:
        """Add a user to the project by email. The answer is the same whether an account with
        that email exists or not (no enumeration): ``name`` and ``password`` are always required;
        a new account is created with them, an existing account is added as it is (its own name
        and password stay); the answer echoes the request."""
        user = await add_by_email(svc.pool, access.project_id, body)
        return NewMemberOut(user=MemberOut(
            id=str(user["id"]), email=body.email, name=body.name, role=body.role,
            createdAt=iso(datetime.now(UTC)),
        ))

    @r.patch(f"{PREFIX}/users/{{user_id}}", response_model=MemberOut,
             responses=errors(*SCOPED, 404, 409, 413))
    async def set_role(
        user_id: str, body: RoleBody,
        access: ProjectAccess = Depends(project_admin), svc: Services = Depends(services),
    ) -> MemberOut:
        """Change a member's role (409 when it would leave the project without an admin)."""
        uid = parse_member_id(user_id)
        try:
            if not await accounts.set_member_role(svc.pool, access.project_id, uid, body.role):
                raise NotFound("Member not found")
        except accounts.LastAdmin:
            raise Conflict(LAST_ADMIN) from None
        rows = await accounts.project_members(svc.pool, access.project_id)
        return member_out(next(row for row in rows if row["id"] == uid))

    @r.delete(f"{PREFIX}/users/{{user_id}}", response_model=Success,
              responses=errors(*SCOPED, 404, 409))
    async def remove_user(
        user_id: str,
        access: ProjectAccess = Depends(project_admin), svc: Services = Depends(services),
    ) -> Success:
        """Remove a member from the project (the account stays; 409 for the last admin)."""
        try:
            if not await accounts.remove_member(svc.pool, access.project_id,
                                                parse_member_id(user_id)):
                raise NotFound("Member not found")
        except accounts.LastAdmin:
            raise Conflict(LAST_ADMIN) from None
        return Success(success=True)

    return r


async def add_by_email(pool, project_id: UUID, body: NewUserBody) -> dict:
    """The account with ``body.email`` (created from ``body`` if there is none), added to the
    project; 409 when already a member. The password is hashed either way, so both cases cost
    the same argon2 work."""
    if body.name is None or body.password is None:
        raise InvalidInput(NEEDS_NAME_AND_PASSWORD)
    password_hash = await auth_sessions.hash_password(body.password)
    user = await accounts.user_by_email(pool, body.email)
    if user is None:
        with contextlib.suppress(accounts.EmailTaken):  # created concurrently: add that one
            await accounts.create_user(pool, body.email, body.name, password_hash)
        user = await accounts.user_by_email(pool, body.email)
    if not await accounts.add_member(pool, project_id, user["id"], body.role):
        raise Conflict("User is already a member of this project")
    return user


def member_out(row: dict) -> MemberOut:
    return MemberOut(id=str(row["id"]), email=row["email"], name=row["name"], role=row["role"],
                     createdAt=iso(row["created_at"]))
