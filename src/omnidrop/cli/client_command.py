"""Running a client command: the options they all take, and SDK errors turned into the exit-code table.

Nothing here loads Rich or the SDK until a command runs, so `omnidrop serve` stays lean.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import typer

from omnidrop.cli.client_common import Common, Json, Key, Quiet, Token, Url

if TYPE_CHECKING:
    from omnidrop.cli.client_output import Output

EXIT_PROCESSING, EXIT_TIMEOUT = 9, 10  # as in client_output's table (not imported: it loads Rich)

T = TypeVar("T")

# Last in every client command's signature, so `--help` lists them after the command's own options.
SHARED_OPTIONS = [
    inspect.Parameter("url", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Url),
    inspect.Parameter("key", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Key),
    inspect.Parameter("token", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Token),
    inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Quiet),
    inspect.Parameter("json_mode", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Json),
]


def guarded(output: Output, work: Callable[[], T]) -> T:
    """Run a command body: SDK errors and Ctrl-C become a message and the table's exit code."""
    from omnidrop.client.errors import ClientError

    try:
        return work()
    except typer.Exit:
        raise
    except KeyboardInterrupt as exc:
        try:
            output.fail(exc)
        except typer.Exit as done:
            # Upload threads may still be mid-request: leave now, without joining them. The state file
            # is always whole (atomic writes) and the server keeps what arrived, so a re-run resumes.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(done.exit_code)
    except ClientError as exc:
        output.fail(exc)
    except ValueError as exc:  # a refused argument the SDK noticed before sending
        output.err.print(f"error: {exc}", markup=False, style="red")
        raise typer.Exit(2) from None


def client_command(body: Callable[..., None]) -> Callable[..., None]:
    """Make `body(..., *, common: Common)` a Typer command that also takes --url, --key, --token, --quiet
    and --json, and runs `body` guarded with the `Common` those options make."""
    own = inspect.signature(body, eval_str=True).parameters.values()
    signature = inspect.Signature([p for p in own if p.name != "common"] + SHARED_OPTIONS)

    @functools.wraps(body)
    def command(*, url: str | None, key: str | None, token: str | None, quiet: bool, json_mode: bool,
                **options: object) -> None:
        # Rich's progress loads only when a client command runs.
        from omnidrop.cli.client_output import Output

        common = Common(url, key, token, Output(quiet=quiet, json_mode=json_mode))
        guarded(common.output, lambda: body(**options, common=common))

    # Typer reads the parameters from these: the body's own options, then the shared ones.
    command.__signature__ = signature  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
    return command
