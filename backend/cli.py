"""The ``leadrelay`` command: a FlaskGroup over ``create_app`` plus the operator commands.

The ``worker``, ``cron`` and ``sweep`` commands live in ``workers.cli`` (the backend
never imports ``workers``); they come in through the ``flask.commands`` entry points
in pyproject.toml, which FlaskGroup loads, so ``leadrelay worker`` and
``flask --app backend worker`` both have them once the project is installed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask.cli import FlaskGroup, with_appcontext

from backend import create_app
from backend.errors import ApiError
from backend.extensions import db
from backend.transaction import commit


def _fail(message: str) -> None:
    raise click.ClickException(message)


@click.group(cls=FlaskGroup, create_app=lambda: create_app())
def main() -> None:
    """LeadRelay: event lead capture, routing and follow-up."""


def register_cli(app) -> None:
    """Add the operator commands to the app's CLI (so ``flask --app backend`` has them too)."""
    for command in (
        demo_command, users_group, tokens_group, offices_group, route_command,
        convert_reasons_command, serve_command,
        rates_group,
    ):  # fmt: skip
        app.cli.add_command(command)


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the demo data (idempotent) and print the demo logins."""
    from backend.demo import load_demo

    logins = load_demo()
    commit()
    click.echo("Demo data ready. Logins:")
    for role, email, password in logins:
        click.echo(f"  {role:<15} {email:<32} {password}")


@click.group("users")
def users_group() -> None:
    """Manage users."""


@users_group.command("create")
@click.argument("email")
@click.option(
    "--role", required=True, help="admin | marketing | office_manager | office_rep | staff"
)
@click.option("--office", "office_code", help="office code, required for office roles")
@click.option("--name", default="")
@click.option("--password", help="generated and printed when omitted")
@with_appcontext
def users_create(email, role, office_code, name, password) -> None:
    """Create a user."""
    import secrets

    from backend.auth.services import create_user

    generated = password is None
    password = password or secrets.token_urlsafe(12)
    try:
        user = create_user(email, role, name=name, password=password, office_code=office_code)
    except ApiError as exc:
        _fail(exc.message)
    commit()
    click.echo(f"created {user.email} ({user.role})")
    if generated:
        click.echo(f"password: {password}")


@users_group.command("role")
@click.argument("email")
@click.option(
    "--role", required=True, help="admin | marketing | office_manager | office_rep | staff"
)
@click.option("--office", "office_code", help="office code, required for office roles")
@with_appcontext
def users_role(email, role, office_code) -> None:
    """Change a user's role (audited; their sessions end)."""
    from backend.auth.services import change_role, find_user

    user = find_user(email)
    if user is None:
        _fail(f"no user {email}")
    try:
        change_role(user, role, office_code=office_code)
    except ApiError as exc:
        _fail(exc.message)
    commit()
    click.echo(f"{user.email} is now {user.role}")


@users_group.command("password")
@click.argument("email")
@click.option(
    "--password", prompt=True, hide_input=True, confirmation_prompt=True,
    help="asked for (hidden) when omitted",
)  # fmt: skip
@with_appcontext
def users_password(email, password) -> None:
    """Set a user's password (at least 12 characters, hard to guess); their sessions end
    and their API tokens are revoked."""
    from backend.auth.services import change_password, find_user

    user = find_user(email)
    if user is None:
        _fail(f"no user {email}")
    try:
        change_password(user, password)
    except ApiError as exc:
        _fail(exc.message)
    commit()
    click.echo(f"password of {user.email} changed; their sessions and API tokens ended")


@users_group.command("deactivate")
@click.argument("email")
@with_appcontext
def users_deactivate(email) -> None:
    """Deactivate a user: no more sign-ins, sessions end, API tokens revoked."""
    from backend.auth.services import deactivate, find_user

    user = find_user(email)
    if user is None:
        _fail(f"no user {email}")
    deactivate(user)
    commit()
    click.echo(f"{user.email} is deactivated; their sessions and API tokens ended")


@click.group("tokens")
def tokens_group() -> None:
    """Manage API tokens."""


@tokens_group.command("create")
@click.argument("email")
@click.option("--name", default="cli")
@with_appcontext
def tokens_create(email, name) -> None:
    """Issue an API token for a user; it is shown once."""
    from backend.auth.services import find_user, issue_token

    user = find_user(email)
    if user is None:
        _fail(f"no user {email}")
    token = issue_token(user, name)
    commit()
    click.echo(token)


@tokens_group.command("list")
@click.argument("email", required=False)
@with_appcontext
def tokens_list(email) -> None:
    """List API tokens (of one user): id, prefix, name, created, last used, revoked."""
    from backend.auth.models import ApiToken, User

    query = db.select(ApiToken).join(User).order_by(ApiToken.id)
    if email:
        query = query.where(User.email == email.strip().lower())
    from backend.auth.access import token_last_used

    for t in db.session.scalars(query):
        last = token_last_used(t)
        used = last.isoformat(timespec="seconds") if last else "never"
        state = (
            f"revoked {t.revoked_at.isoformat(timespec='seconds')}" if t.revoked_at else "active"
        )
        click.echo(f"{t.id}\t{t.prefix}…\t{t.user.email}\t{t.name}\tlast used {used}\t{state}")


@tokens_group.command("revoke")
@click.argument("token")
@with_appcontext
def tokens_revoke(token) -> None:
    """Revoke a token by its id or the prefix shown at issue (lr_…); it stops working at once."""
    from backend.auth.services import find_token, revoke_token

    api_token = find_token(token.strip())
    if api_token is None:
        _fail(f"no single token matches {token!r} (use the id from `tokens list`)")
    revoke_token(api_token.id)
    commit()
    click.echo(f"revoked token {api_token.id} ({api_token.prefix}…) of {api_token.user.email}")


@click.group("offices")
def offices_group() -> None:
    """Manage offices."""


@offices_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def offices_import(file: Path) -> None:
    """Import offices from CSV (code,name,city,country,latitude,longitude,timezone,email,phone,territories,capacity)."""
    from backend.offices.services import import_offices, read_csv_rows

    text = file.read_text(encoding="utf-8-sig")
    total = max(text.count("\n") - 1, 0)
    try:
        rows = list(read_csv_rows(text))
    except ApiError as exc:
        _fail(exc.message)
    with click.progressbar(rows, length=total or len(rows), label="Importing offices") as bar:
        result = import_offices(bar)
    commit()
    click.echo(f"{result.created} created, {result.updated} updated, {len(result.errors)} errors")
    for line, message in result.errors:
        click.echo(f"  line {line}: {message}", err=True)
    if result.errors:
        sys.exit(1)


@click.group("rates")
def rates_group() -> None:
    """Exchange rates for reports."""


@rates_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def rates_import(file: Path) -> None:
    """Import rates: the Central Bank of Russia's daily XML (ValCurs) or a CSV with the
    header date,currency,rate_to_reporting."""
    from backend.rates.services import RatesFileError, import_rates, reporting_currency

    try:
        result = import_rates(file.read_bytes(), file.name)
    except RatesFileError as exc:
        _fail(f"{file}: {exc}")
    commit()
    first, last = result["days"]
    click.echo(
        f"{result['rates']} rates imported ({first} – {last}, {result['source']}); "
        f"reports sum money in {reporting_currency()}"
    )


@click.command("route")
@click.option("--city")
@click.option("--country")
@click.option("--postal-code")
@click.option("--lat", type=float)
@click.option("--lon", type=float)
@click.option("--event", "event_id", type=int)
@with_appcontext
def route_command(city, country, postal_code, lat, lon, event_id) -> None:
    """Print where a lead from this place would be routed, as JSON."""
    from backend.routing.services import preview

    try:
        result = preview(
            city=city, country=country, postal_code=postal_code,
            latitude=lat, longitude=lon, event_id=event_id,
        )  # fmt: skip
    except ApiError as exc:
        _fail(exc.message)
    click.echo(json.dumps(result, ensure_ascii=False, indent=2))


@click.command("convert-reasons")
@with_appcontext
def convert_reasons_command() -> None:
    """Give routing reasons stored as English text by an earlier version their code, so
    pages show them in the reader's language (run once after upgrading; safe to repeat)."""
    from backend.routing.services import convert_stored_reasons

    converted, left = convert_stored_reasons()
    commit()
    click.echo(f"converted {converted} routing reasons; {left} left as written")


@click.command("serve")
@click.option("--bind", default=lambda: os.environ.get("BIND", "0.0.0.0:8000"))
@click.option("--workers", "worker_count", default=lambda: os.environ.get("WEB_CONCURRENCY", "2"))
def serve_command(bind: str, worker_count: str) -> None:
    """Serve the app with gunicorn."""
    args = [
        sys.executable, "-m", "gunicorn", "backend.wsgi:app",
        "--bind", bind, "--workers", str(worker_count), "--threads", "4", "--preload",
        "--access-logfile", "-", "--graceful-timeout", "10",
    ]  # fmt: skip
    os.execvp(args[0], args)


if __name__ == "__main__":
    main()
