"""The ``earnest`` group and what its commands share: lazy loading, ``--database``, errors.

Start-up stays fast (``earnest --help`` imports no database driver, no web framework and no
Alembic): each command's module is imported only when that command runs, and the group's
help lists them from :data:`COMMANDS` without importing them.
"""

from __future__ import annotations

import functools
import importlib
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import click

from earnest import __version__

if TYPE_CHECKING:
    from earnest.app import Earnest
    from earnest.errors import EarnestError

DATABASE_ENV = "EARNEST_DATABASE_URL"
DEFAULT_DATABASE = "./earnest.db"

# name -> (module, attribute, one-line help): the help is here so ``--help`` imports nothing.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "serve": ("earnest.cli.processes", "serve", "Run the API and scheduler until stopped."),
    "worker": ("earnest.cli.processes", "worker", "Run the scheduler without HTTP."),
    "demo": (
        "earnest.cli.demo",
        "demo",
        "Serve a fresh demo database: past invoices, live traffic.",
    ),
    "signal": ("earnest.cli.processes", "signal_command", "Send one signal."),
    "contracts": ("earnest.cli.contracts", "contracts", "Manage contracts from files."),
    "keys": ("earnest.cli.keys", "keys", "Manage API keys."),
    "history": ("earnest.cli.audit", "history", "Print an outcome's history."),
    "audit": ("earnest.cli.audit", "audit", "Prove the hash chains intact."),
    "replay": ("earnest.cli.audit", "replay", "Rebuild every outcome and compare."),
    "simulate": ("earnest.cli.simulate", "simulate", "Run signals through a contract."),
    "backtest": ("earnest.cli.backtest", "backtest", "Replay a proposed contract over history."),
    "invoices": ("earnest.cli.billing", "invoices", "List, show, print and export invoices."),
    "disputes": ("earnest.cli.billing", "disputes", "Open, resolve and list disputes."),
    "settings": ("earnest.cli.billing", "settings", "Show and change the billing settings."),
    "users": ("earnest.cli.users", "users", "Manage dashboard users."),
    "webhooks": ("earnest.cli.webhooks", "webhooks", "Manage webhook endpoints and deliveries."),
    "portal-link": (
        "earnest.cli.portal",
        "portal_link",
        "Print a link to a customer's evidence pages.",
    ),
}


class LazyGroup(click.Group):
    """A group whose commands are imported when they run, not when it starts."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = COMMANDS.get(cmd_name)
        if found is None:
            return None
        module, attribute, _ = found
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command), f"{module}.{attribute} is not a command"
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """Any :class:`~earnest.errors.EarnestError` a command lets through becomes one line,
        ``error: <code>: <message> (field: <field>)``, and exit status 1."""
        from earnest.errors import EarnestError  # noqa: PLC0415  (a leaf module)

        try:
            return super().invoke(ctx)
        except EarnestError as error:
            fail(describe(error))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="earnest")
@click.option(
    "--database",
    "database_url",
    envvar=DATABASE_ENV,
    default=DEFAULT_DATABASE,
    show_default=True,
    metavar="URL",
    help=f"A SQLite file path or postgresql://… URL (env {DATABASE_ENV}).",
)
@click.pass_context
def main(ctx: click.Context, database_url: str) -> None:
    """Earnest: outcome-based billing. Contracts in, signals in, exact bills out."""
    ctx.obj = {"database_url": database_url}


def database_option(command: Callable[..., None]) -> Callable[..., None]:
    """``--database URL`` after the subcommand too (it wins over the group's)."""
    return click.option(
        "--database",
        "database_url",
        default=None,
        metavar="URL",
        help=f"A SQLite file path or postgresql://… URL (env {DATABASE_ENV}).",
    )(command)


def with_app(*, creates: bool = True) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Pass the command the application over ``--database`` as ``app``, schema upgraded.

    ``creates=False`` for commands that only read: a database that does not exist is an
    error naming it (exit 1), never created empty. Messages never show a password."""

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        @database_option
        @functools.wraps(command)
        def with_application(database_url: str | None, **kwargs: Any) -> None:
            url = database_url or click.get_current_context().find_root().obj["database_url"]
            app = open_app(url, create=creates)
            try:
                command(app=app, **kwargs)
            finally:
                app.close()

        return with_application

    return decorate


def open_app(url: str, *, create: bool = True) -> Earnest:
    """The application over the database at ``url``; exit 1 with a clear message."""
    from earnest.bootstrap import (  # noqa: PLC0415
        MissingDatabase,
        build,
        redact,
    )

    try:
        return build(url, create=create)
    except MissingDatabase as error:
        fail(error.message)
    except Exception as error:  # any driver's connection error: say which database, briefly
        reason = _scrub(str(error).strip().splitlines()[0] if str(error).strip() else "", url)
        click.echo(f"earnest: cannot open database {redact(url)}: {reason}", err=True)
        sys.exit(1)


def _scrub(text: str, url: str) -> str:
    """``text`` without the password of ``url``, should a driver's message repeat it."""
    from earnest.bootstrap import redact  # noqa: PLC0415

    redacted = redact(url)
    if redacted == url:
        return text.replace(url, redacted)
    password = url.split("://", 1)[1].split("@", 1)[0].partition(":")[2]
    text = text.replace(url, redacted)
    return text.replace(password, "***") if password else text


def describe(error: EarnestError) -> str:
    """One line for the terminal: ``code: message (field: name)``."""
    where = f" (field: {error.field})" if error.field else ""
    return f"{error.code}: {error.message}{where}"


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_to_stderr() -> None:
    """INFO logs of Earnest's own processes on stderr, in one format for every logger
    (uvicorn's included); libraries only when they warn."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, force=True)
    for noisy in ("alembic", "httpx"):  # a line per migration step, per request
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        server_log = logging.getLogger(name)
        server_log.handlers.clear()  # uvicorn's own handlers print in its own format
        server_log.propagate = True
