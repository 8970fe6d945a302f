"""`tbt-alert portal` (run the web portal) and `tbt-alert users ...` (portal logins and API keys)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from tbt_alert.settings import Settings

# Where `users add` reads a password without a prompt (scripts, CI). --password on argv still works
# but every local user sees it in `ps` and it lands in shell history.
PASSWORD_VARIABLE = "TBT_USER_PASSWORD"


def ensure_demo_user(settings: Settings) -> tuple[str, Path] | None:
    """A staff login for the local demo, made once per database: (username, the mode-600 file with its
    password); None in production.

    `tbt-alert run` calls this and prints the portal URL, the username and the file's path.
    """
    from portal.users import ensure_demo_user as ensure

    return ensure(settings)


def register(sub: Any) -> None:
    parser = sub.add_parser("portal", help="run the web portal (search, measures, reports, subscriptions)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default: 1)")
    parser.set_defaults(handler=_portal)

    users = sub.add_parser("users", help="portal users: add a login, change a password, issue or revoke API keys")
    users_sub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = users_sub.add_parser(
        "add",
        help="create a portal user",
        description=f"Create a portal user. The password comes from standard input with --password-stdin, "
        f"else from {PASSWORD_VARIABLE}, else a prompt; never put it on the command line.",
    )
    add.add_argument("username")
    add.add_argument("--role", choices=("staff", "analyst", "admin"), required=True)
    _password_options(add)
    add.add_argument("--email")
    add.set_defaults(handler=_users_add)
    passwd = users_sub.add_parser(
        "passwd",
        help="set a user's password (ends every session of the user)",
        description=f"Set a portal user's password; every logged-in session of the user ends. The password comes "
        f"from standard input with --password-stdin, else from {PASSWORD_VARIABLE}, else a prompt.",
    )
    passwd.add_argument("username")
    _password_options(passwd)
    passwd.set_defaults(handler=_users_passwd)
    keys = users_sub.add_parser("keys", help="list a user's API keys (ids, names, revoked or live; never the keys)")
    keys.add_argument("username")
    keys.set_defaults(handler=_users_keys)
    revoke = users_sub.add_parser("revoke-keys", help="revoke a user's API keys: all, or one by --id or --name")
    revoke.add_argument("username")
    which = revoke.add_mutually_exclusive_group()
    which.add_argument("--id", type=int, dest="key_id", help="the key's id (see `tbt-alert users keys`)")
    which.add_argument("--name", help="every live key with this label")
    revoke.set_defaults(handler=_users_revoke_keys)
    key = users_sub.add_parser("apikey", help="issue a new API key for a user (printed once)")
    key.add_argument("username")
    key.add_argument("--name", default="cli", help="a label for the key")
    key.set_defaults(handler=_users_apikey)


def _password_options(parser: Any) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password (at least 12 characters) from the first line of standard input",
    )
    source.add_argument(
        "--password",
        help=f"the password on the command line: other local users see it in `ps`, so prefer --password-stdin "
        f"or {PASSWORD_VARIABLE} (default: {PASSWORD_VARIABLE} if set, else ask)",
    )


def _portal(args: argparse.Namespace) -> int:
    import uvicorn

    from portal.log_config import uvicorn_log_config
    from schema.migrate import upgrade
    from tbt_alert.settings import load_settings

    settings = load_settings()
    upgrade(settings.database_url)
    print(f"portal on http://{args.host}:{args.port}/ (data {settings.data_dir})", flush=True)
    if args.workers > 1:
        # Several workers need an import string; each builds its app from the environment.
        uvicorn.run(
            "portal.asgi:app",
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="warning",
            log_config=uvicorn_log_config(),
            proxy_headers=False,
        )
        return 0
    from portal.app import create_app

    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level="warning",
        log_config=uvicorn_log_config(),
        proxy_headers=False,
    )
    return 0


def _users_add(args: argparse.Namespace) -> int:
    from portal.users import create_user
    from schema.engine import session_for
    from tbt_alert.settings import load_settings

    password = _new_password(args)
    with session_for(load_settings()) as session:
        user = create_user(session, args.username, args.role, password, email=args.email)
        print(f"user {user.username} ({user.role}) created")
    return 0


def _users_passwd(args: argparse.Namespace) -> int:
    from portal.users import set_password
    from schema.engine import session_for
    from tbt_alert.settings import load_settings

    password = _new_password(args)
    with session_for(load_settings()) as session:
        user = set_password(session, args.username, password)
        print(f"password of {user.username} changed; every session of the user ended")
    return 0


def _users_keys(args: argparse.Namespace) -> int:
    from portal.users import api_keys_of
    from schema.engine import session_for
    from tbt_alert.settings import load_settings

    with session_for(load_settings()) as session:
        for key in api_keys_of(session, args.username):
            print(f"{key.id}\t{key.name}\t{'revoked' if key.revoked else 'live'}")
    return 0


def _users_revoke_keys(args: argparse.Namespace) -> int:
    from portal.users import revoke_api_keys
    from schema.engine import session_for
    from tbt_alert.settings import load_settings

    with session_for(load_settings()) as session:
        count = revoke_api_keys(session, args.username, name=args.name, key_id=args.key_id)
    print(f"{count} API key(s) of {args.username} revoked")
    return 0


def _new_password(args: argparse.Namespace) -> str:
    """The new user's password: from stdin, the command line (with a warning), the environment, or a prompt."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if args.password:
        print(
            f"tbt-alert: warning: a password on the command line is visible to other local users; "
            f"use --password-stdin or {PASSWORD_VARIABLE} instead.",
            file=sys.stderr,
        )
        return str(args.password)
    return os.environ.get(PASSWORD_VARIABLE) or getpass.getpass(f"password for {args.username}: ")


def _users_apikey(args: argparse.Namespace) -> int:
    from portal.users import issue_api_key
    from schema.engine import session_for
    from tbt_alert.settings import load_settings

    with session_for(load_settings()) as session:
        key = issue_api_key(session, args.username, name=args.name)
    print(key)
    print("Keep it now: only its hash is stored. Send it in the X-API-Key header.")
    return 0
