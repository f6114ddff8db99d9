"""Flags declared once as a dataclass and taken by any command as one parameter.

Typer reads one option per function parameter. A parameter typed as a dataclass whose fields
are typed as options (Annotated[..., typer.Option(...)]) is spread into those options here, and
the dataclass is built from them before the command runs; without this, every command that
loads a judge would repeat each engine flag and pass each one on by hand.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any, get_type_hints


def with_flag_groups(command: Callable[..., None]) -> Callable[..., None]:
    """`command` as Typer should see it: each flag-group parameter spread into its options."""
    signature = inspect.signature(command, eval_str=True)
    groups: dict[str, type[Any]] = {}
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        group = parameter.annotation
        if isinstance(group, type) and dataclasses.is_dataclass(group):
            groups[parameter.name] = group
            parameters += _options(group)
        else:
            # Keyword-only, so an option may follow the group in any order; Typer passes
            # every value by name, arguments included.
            parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))

    @functools.wraps(command)
    def spread(**given: Any) -> None:
        for name, group in groups.items():
            given[name] = group(**{f.name: given.pop(f.name) for f in dataclasses.fields(group)})
        command(**given)

    # Signature() refuses two parameters of one name, so a flag cannot silently shadow another.
    spread.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    spread.__annotations__ = {p.name: p.annotation for p in parameters}
    return spread


def _options(group: type[Any]) -> list[inspect.Parameter]:
    hints = get_type_hints(group, include_extras=True)
    return [
        inspect.Parameter(
            field.name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=hints[field.name],
            default=field.default,
        )
        for field in dataclasses.fields(group)
    ]
