"""Loading, checking and rendering the configuration.

``load_config`` reads TOML, applies ``GALILEO_<SECTION>__<KEY>`` environment overrides,
structures the result into the attrs tree of ``galileo._config`` with cattrs and checks it.
Every problem is reported at once as ``ConfigErrors``; each names its key path, e.g.
``strategy.blind.base_mints[0].trade_size_range: min 5000 > max 2000``.

Types are strict: ``"5000"`` is not an integer and ``1.5`` is not an amount — a config that
silently rounds money is worse than one that refuses to load. Values obey the rules their
field declares (bounds, URL schemes, IP addresses, public keys, no duplicates; see
``galileo._config.setting``); an integer is at most 2^64-1 unless its field says less.
A file that is empty or not UTF-8 is refused rather than read as "all defaults".
"""

from __future__ import annotations

import difflib
import json
import math
import os
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import attrs
import cattrs
from cattrs import transform_error
from cattrs.cols import list_structure_factory

from galileo._config import Config
from galileo._config_rules import (
    U64_MAX,
    bound_text,
    duplicates,
    ip_problem,
    loopback_problem,
    pubkey_problem,
    url_problem,
)
from galileo._errors import ConfigError, ConfigErrors
from galileo._secret import Secret

ENV_PREFIX = "GALILEO_"
DEFAULT_CONFIG_FILE = "galileo.toml"
# GALILEO_* variables that are not key paths.
_RESERVED_ENV = {"GALILEO_CONFIG", "GALILEO_FAST_BACKEND", "GALILEO_HYPOTHESIS_EXAMPLES"}


# --- public API ---------------------------------------------------------------------------


def find_config_path(path: str | None, env: Mapping[str, str] | None = None) -> Path | None:
    """The file to load: ``path``, else ``$GALILEO_CONFIG``, else ``./galileo.toml`` if present.

    ``None`` means "no file": the built-in defaults (the simulated world) apply.
    """
    env = os.environ if env is None else env
    if path:
        return Path(path)
    if env.get("GALILEO_CONFIG"):
        return Path(env["GALILEO_CONFIG"])
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def load_config(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    discover: bool = True,
) -> Config:
    """Load, override from the environment, structure and check a configuration.

    ``path=None`` with ``discover`` looks for ``$GALILEO_CONFIG`` / ``./galileo.toml``.
    Raises ``ConfigErrors`` listing every problem found.
    """
    env = os.environ if env is None else env
    file = Path(path) if path else (find_config_path(None, env) if discover else None)
    raw: dict[str, Any] = {}
    if file is not None:
        raw = read_toml(file)
    errors: list[ConfigError] = []
    apply_env_overrides(raw, env, errors)
    config = structure_config(raw, errors)
    if errors:
        raise ConfigErrors(errors)
    assert config is not None
    return _with_absolute_state(config, file.parent if file is not None else Path.cwd())


def _with_absolute_state(config: Config, base: Path) -> Config:
    """``state_dir`` and ``risk.kill_switch_file`` made absolute: relative to the directory of
    the configuration file (the working directory without one), so the bot and a control
    command run from elsewhere with the same file agree on where the state is."""
    state_dir = str((base / config.state_dir).absolute())
    risk = config.risk
    if risk.kill_switch_file:
        risk = attrs.evolve(risk, kill_switch_file=str((base / risk.kill_switch_file).absolute()))
    return attrs.evolve(config, state_dir=state_dir, risk=risk)


def read_toml(file: Path) -> dict[str, Any]:
    """Parse one TOML file; unreadable or malformed files become a ``ConfigErrors``."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ConfigErrors([ConfigError("", f"cannot read {file}: {exc.strerror}")]) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigErrors(
            [ConfigError("", f"{file}: not UTF-8 text (byte {exc.start}); is it a TOML file?")]
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigErrors([ConfigError("", f"{file}: invalid TOML: {exc}")]) from exc
    if not raw:
        # An empty file is a truncated write or the wrong file far more often than a wish for
        # the defaults (which running without --config gives).
        what = "is empty" if not text.strip() else "sets no key"
        raise ConfigErrors(
            [ConfigError("", f"{file} {what}; to run on the defaults, give no configuration")]
        )
    return raw


def structure_config(raw: Mapping[str, Any], errors: list[ConfigError]) -> Config | None:
    """Structure ``raw`` into a ``Config``, appending every problem to ``errors``."""
    cleaned = _drop_unknown_keys(raw, Config, "", errors)
    try:
        config = _CONVERTER.structure(cleaned, Config)
    except Exception as exc:  # cattrs groups every field error into one exception tree
        for line in transform_error(exc, path="$", format_exception=_format_exception):
            errors.append(_error_from_cattrs_line(line))
        return None
    errors.extend(ConfigError(path, reason) for path, reason in check(config))
    return config if not errors else None


def check(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """The rules of field metadata (bounds, formats, duplicates; see
    ``galileo._config.setting``) and each section's ``problems()``."""
    cls = type(node)
    for field in attrs.fields(cls):
        value = getattr(node, field.name)
        key = _join(path, field.name)
        yield from _check_bounds(key, value, field.metadata)
        yield from _check_formats(key, value, field.metadata)
        if _is_section(type(value)):
            yield from check(value, key)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if _is_section(type(item)):
                    yield from check(item, f"{key}[{i}]")
    problems = getattr(node, "problems", None)
    if problems is not None:
        for key, reason in problems():
            yield (_join(path, key) if key else path), reason


def apply_env_overrides(
    raw: dict[str, Any], env: Mapping[str, str], errors: list[ConfigError]
) -> list[str]:
    """Apply ``GALILEO_<SECTION>__<KEY>=value`` to ``raw``; return the variables applied.

    ``__`` separates levels (``GALILEO_JUPITER__LAUNCH__RPC_URL``). Values are read as TOML
    literals (``9000``, ``true``, ``["a", "b"]``) except for string keys, which take the
    text as is. Unknown key paths are errors that name the variable.
    """
    applied = []
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name in _RESERVED_ENV:
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if len(parts) == 1 and parts[0] not in _top_level_scalars():
            continue  # not a key path (e.g. a tool's own GALILEO_* variable)
        target = _field_type_at(parts)
        if isinstance(target, str):
            errors.append(ConfigError(".".join(parts), f"from {name}: {target}"))
            continue
        value = _parse_env_value(env[name], target)
        node = raw
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                errors.append(ConfigError(".".join(parts), f"from {name}: {part} is not a table"))
                break
            node = child
        else:
            node[parts[-1]] = value
            applied.append(name)
    return applied


# --- rendering ----------------------------------------------------------------------------


def render_toml(config: Config, *, redact: bool = True) -> str:
    """The effective configuration as TOML (secrets redacted unless ``redact=False``)."""
    lines: list[str] = []
    _render_table(config, [], lines, redact=redact, comments=False)
    return "\n".join(lines).strip() + "\n"


def render_example() -> str:
    """A commented example with every key at its default (what ``config init`` writes)."""
    header = [
        "# galileo configuration — every key with its default value.",
        "# Values are integers in atomic units (lamports) where they are amounts; durations",
        "# carry their unit in the name. Any key can be overridden from the environment as",
        "# GALILEO_<SECTION>__<KEY>, e.g. GALILEO_METRICS__PORT=9100.",
        "# Reference: docs/configuration.md",
        "",
    ]
    lines: list[str] = []
    _render_table(Config(), [], lines, redact=False, comments=True)
    return "\n".join(header + lines).strip() + "\n"


def render_reference_markdown() -> str:
    """docs/configuration.md: one table per section, generated from the schema."""
    out = [
        "# Configuration reference",
        "",
        "Generated from `galileo/_config.py` by `python -m galileo config docs`; do not edit.",
        "",
        "galileo reads TOML from `--config PATH`, else `$GALILEO_CONFIG`, else `./galileo.toml`;",
        "with none of these it runs on the defaults below, which target the simulated world.",
        "Any key can be overridden from the environment: `GALILEO_<SECTION>__<KEY>` with `__`",
        "between levels (`GALILEO_JUPITER__LAUNCH__PORT=18081`); values are TOML literals",
        '(`9000`, `true`, `["a", "b"]`) except for text keys, which take the text as is.',
        "",
        "Secrets (marked 🔒) are never printed: `config show`, logs and errors redact them.",
        "",
        "Values obey the rules in parentheses after each meaning: bounds, `http(s) URL` (an",
        "`http://` or `https://` URL with a host), `IP address`, `loopback address`, `base58",
        "public key`, `no duplicates` (each item of a list). An integer is at most 2^64-1 unless",
        "its key says less; amounts the profit kernel prices (trade sizes, tips, fees, profit",
        "thresholds) at most 2^62. A number is finite (`nan` and `inf` are refused). A file",
        "that is empty, sets no key or is not UTF-8 is refused.",
        "",
        "Before a run, and in `config check`, the configuration is also checked against the",
        "machine: files that must exist do (`wallet.keypair_path`, `intermediate_mints_file`,",
        "`filter_mints_files`, `jupiter.path`), the keypair is a keypair readable by its owner",
        "only, the ports are free, the source IPs accept a bind and the paths galileo writes",
        "are writable (`config check --no-host-checks` skips this).",
        "",
        "Every problem is one line naming the key path and the reason; `config check` and",
        "`galileo run` exit with status 2 (see [cli.md](cli.md)).",
        "",
    ]
    _markdown_section(Config, "", out)
    return "\n".join(out).rstrip() + "\n"


# --- converter ----------------------------------------------------------------------------


def _type_name(tp: Any) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def _strict_int(value: Any, _: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {_describe(value)}")
    return value


def _strict_float(value: Any, _: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {_describe(value)}")
    # TOML has nan and inf; neither is a duration or a rate, and nan passes every bound.
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value}")
    return float(value)


def _strict_str(value: Any, _: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {_describe(value)}")
    return value


def _strict_bool(value: Any, _: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {_describe(value)}")
    return value


def _describe(value: Any) -> str:
    kind = {dict: "a table", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
    shown = json.dumps(value) if isinstance(value, str | int | float | bool) else ""
    return f"{kind} {shown}".strip()


def _is_list(tp: Any) -> bool:
    return get_origin(tp) is list


def _is_dict(tp: Any) -> bool:
    return get_origin(tp) is dict


def _is_literal(tp: Any) -> bool:
    return get_origin(tp) is Literal


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=True)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(float, _strict_float)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(bool, _strict_bool)
    conv.register_structure_hook(Secret, lambda v, _: Secret(_strict_str(v, str)))
    conv.register_unstructure_hook(Secret, lambda s: s.reveal())

    def structure_literal(value: Any, tp: Any) -> Any:
        allowed = get_args(tp)
        if isinstance(value, bool) or value not in allowed:
            choices = ", ".join(json.dumps(a) for a in allowed)
            raise ValueError(f"must be one of {choices}, got {_describe(value)}")
        return value

    conv.register_structure_hook_func(_is_literal, structure_literal)

    def list_hook_factory(tp: Any, converter: Any) -> Any:
        # cattrs' own list hook (per-index error paths), behind a "must be a list" check so a
        # string is not silently split into characters.
        inner = list_structure_factory(tp, converter)

        def structure_list(value: Any, _tp: Any) -> Any:
            if not isinstance(value, list):
                raise TypeError(f"expected a list, got {_describe(value)}")
            return inner(value, _tp)

        return structure_list

    conv.register_structure_hook_factory(_is_list, list_hook_factory)

    def structure_dict(value: Any, tp: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected a table, got {_describe(value)}")
        key_type, value_type = get_args(tp)
        return {
            conv.structure(k, key_type): conv.structure(v, value_type) for k, v in value.items()
        }

    conv.register_structure_hook_func(_is_dict, structure_dict)
    return conv


_CONVERTER = _make_converter()


def _format_exception(exc: BaseException, _type: Any) -> str:
    if isinstance(exc, KeyError):
        return "required key is missing"
    return str(exc)


def _error_from_cattrs_line(line: str) -> ConfigError:
    reason, _, where = line.rpartition(" @ ")
    path = where.removeprefix("$").removeprefix(".")
    return ConfigError(path, reason)


# --- unknown keys -------------------------------------------------------------------------


def _drop_unknown_keys(
    raw: Mapping[str, Any], cls: type, path: str, errors: list[ConfigError]
) -> dict[str, Any]:
    """A copy of ``raw`` without keys ``cls`` does not have; each one becomes an error."""
    fields = {f.name: f for f in attrs.fields(cls)}
    cleaned: dict[str, Any] = {}
    for key, value in raw.items():
        field = fields.get(key)
        if field is None:
            hint = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
            reason = "unknown key" + (f" (did you mean '{hint[0]}'?)" if hint else "")
            if not hint:
                reason += f"; known keys: {', '.join(fields)}"
            errors.append(ConfigError(_join(path, key), reason))
            continue
        tp = _resolved_type(cls, key)
        key_path = _join(path, key)
        if _is_section(tp) and isinstance(value, Mapping):
            cleaned[key] = _drop_unknown_keys(value, tp, key_path, errors)
        elif _is_list(tp) and _is_section(get_args(tp)[0]) and isinstance(value, list):
            item_cls = get_args(tp)[0]
            cleaned[key] = [
                _drop_unknown_keys(item, item_cls, f"{key_path}[{i}]", errors)
                if isinstance(item, Mapping)
                else item
                for i, item in enumerate(value)
            ]
        else:
            cleaned[key] = value
    return cleaned


def _resolved_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


# --- environment ----------------------------------------------------------------------------


def _top_level_scalars() -> set[str]:
    return {f.name for f in attrs.fields(Config) if not _is_section(_resolved_type(Config, f.name))}


def _field_type_at(parts: list[str]) -> Any:
    """The declared type at a key path, or a string saying why the path is wrong."""
    cls: Any = Config
    for depth, part in enumerate(parts):
        if not _is_section(cls):
            return f"{'.'.join(parts[:depth])} has no sub-keys"
        names = [f.name for f in attrs.fields(cls)]
        if part not in names:
            hint = difflib.get_close_matches(part, names, n=1, cutoff=0.6)
            return "unknown key" + (f" (did you mean '{hint[0]}'?)" if hint else "")
        cls = _resolved_type(cls, part)
    return cls


def _parse_env_value(text: str, target: Any) -> Any:
    if target in (str, Secret) or (_is_literal(target) and isinstance(get_args(target)[0], str)):
        return text
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # structuring reports the type mismatch with the key path


# --- rendering helpers ----------------------------------------------------------------------


def _is_section(tp: Any) -> bool:
    """A config section (an attrs class), as opposed to a value type such as ``Secret``."""
    return isinstance(tp, type) and attrs.has(tp) and tp is not Secret


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _toml_value(value: Any, *, redact: bool) -> str:
    if isinstance(value, Secret):
        return json.dumps(value.redacted() if redact else value.reveal())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v, redact=redact) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(
            f"{_toml_key(k)} = {_toml_value(v, redact=redact)}" for k, v in value.items()
        )
        return "{" + inner + "}" if inner else "{}"
    if _is_section(type(value)):
        items = {f.name: getattr(value, f.name) for f in attrs.fields(type(value))}
        return _toml_value(items, redact=redact)
    raise TypeError(f"cannot render {type(value).__name__} as TOML")


def _render_table(
    node: Any,
    path: list[str],
    lines: list[str],
    *,
    redact: bool,
    comments: bool,
    array: bool = False,
) -> None:
    cls = type(node)
    if path:
        if lines:
            lines.append("")
        if comments and cls.__doc__:
            lines.append(f"# {cls.__doc__.strip().splitlines()[0]}")
        name = ".".join(path)
        lines.append(f"[[{name}]]" if array else f"[{name}]")
    subtables: list[tuple[str, Any, bool]] = []
    for field in attrs.fields(cls):
        value = getattr(node, field.name)
        if _is_section(type(value)):
            subtables.append((field.name, value, False))
            continue
        if isinstance(value, list) and value and all(_is_section(type(v)) for v in value):
            subtables.extend((field.name, v, True) for v in value)
            continue
        if comments and field.metadata.get("doc"):
            for doc_line in _wrap(field.metadata["doc"]):
                lines.append(f"# {doc_line}")
        if redact and field.metadata.get("secret_values") and isinstance(value, dict):
            # Values of an environment map: secrets unless their name is known to be public.
            public = field.metadata["secret_values"]
            value = {k: v if k in public or not v else "***" for k, v in value.items()}
        lines.append(f"{_toml_key(field.name)} = {_toml_value(value, redact=redact)}")
    for name, value, is_array in subtables:
        _render_table(value, [*path, name], lines, redact=redact, comments=comments, array=is_array)


def _wrap(text: str, width: int = 92) -> list[str]:
    words, lines, current = text.split(), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        lines.append(current)
    return lines


def _markdown_type(tp: Any) -> str:
    if _is_literal(tp):
        return " \\| ".join(f"`{json.dumps(a)}`" for a in get_args(tp))
    if _is_list(tp):
        return f"list of {_markdown_type(get_args(tp)[0])}"
    if _is_dict(tp):
        return "table of strings"
    if tp is Secret:
        return "string 🔒"
    if isinstance(tp, types.UnionType):
        return " or ".join(_markdown_type(a) for a in get_args(tp))
    return {int: "integer", float: "number", str: "string", bool: "boolean"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _bounds(meta: Mapping[str, Any]) -> str:
    parts = []
    for key, symbol in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
        if key in meta:
            parts.append(f"{symbol} {bound_text(meta[key])}")
    for key, text in _FORMAT_TEXT.items():
        if meta.get(key):
            parts.append(text)
    return f" ({', '.join(parts)})" if parts else ""


_FORMAT_TEXT = {
    "url": "http(s) URL",
    "ip": "IP address",
    "loopback": "loopback address",
    "pubkey": "base58 public key",
    "unique": "no duplicates",
}


def _markdown_section(cls: type, path: str, out: list[str]) -> None:
    rows: list[str] = []
    children: list[tuple[str, type]] = []
    defaults = cls()
    for field in attrs.fields(cls):
        tp = _resolved_type(cls, field.name)
        key = _join(path, field.name)
        if _is_section(tp):
            children.append((key, tp))
            continue
        if _is_list(tp) and _is_section(get_args(tp)[0]):
            children.append((f"{key}[]", get_args(tp)[0]))
            continue
        default = _toml_value(getattr(defaults, field.name), redact=False)
        doc = field.metadata.get("doc", "") + _bounds(field.metadata)
        rows.append(f"| `{field.name}` | {_markdown_type(tp)} | `{default}` | {doc} |")
    if rows:
        title = path or "(top level)"
        out.append(f"## `{title}`" if path else f"## {title}")
        out.append("")
        if cls.__doc__:
            out.append(cls.__doc__.strip())
            out.append("")
        out.append("| key | type | default | meaning |")
        out.append("|---|---|---|---|")
        out.extend(rows)
        out.append("")
    for key, child in children:
        _markdown_section(child, key, out)


def _check_bounds(key: str, value: Any, meta: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    is_list = isinstance(value, list)
    for i, v in enumerate(value if is_list else [value]):
        if not isinstance(v, int | float) or isinstance(v, bool):
            continue
        where = f"{key}[{i}]" if is_list else key
        if "ge" in meta and v < meta["ge"]:
            yield where, f"{v} is below the minimum {bound_text(meta['ge'])}"
        if "gt" in meta and v <= meta["gt"]:
            yield where, f"{v} must be greater than {bound_text(meta['gt'])}"
        # Every integer ends up in a u64 (an amount, a port, a count) or smaller.
        ceiling = meta.get("le", U64_MAX if isinstance(v, int) else None)
        if ceiling is not None and v > ceiling:
            yield where, f"{v} is above the maximum {bound_text(ceiling)}"


def _check_formats(key: str, value: Any, meta: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``url``, ``ip``, ``loopback``, ``pubkey`` per value (each item of a list, where an
    empty item is wrong too; an empty single value means "not set") and ``unique``."""
    secret = bool(meta.get("secret"))
    is_list = isinstance(value, list)
    items = value if is_list else [value]
    texts = [v.reveal() if isinstance(v, Secret) else v for v in items]
    for i, text in enumerate(texts):
        if not isinstance(text, str) or (not text and not is_list):
            continue
        where = f"{key}[{i}]" if is_list else key
        if meta.get("url"):
            reason = url_problem(text, secret=secret)
        elif meta.get("ip"):
            reason = ip_problem(text)
        elif meta.get("loopback"):
            reason = loopback_problem(text)
        elif meta.get("pubkey"):
            reason = pubkey_problem(text)
        else:
            reason = None
        if reason:
            yield where, reason
    if is_list and meta.get("unique"):
        for later, first in duplicates(texts):
            shown = "" if secret else f" ({texts[later]!r})"
            yield f"{key}[{later}]", f"duplicates {key.rsplit('.', 1)[-1]}[{first}]{shown}"
