"""The configuration: defaults, every class of error with its key path, env overrides,
redaction, and the rendered forms (show / init / docs)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import attrs
import pytest

from galileo._config import Config
from galileo._config_load import (
    load_config,
    render_example,
    render_reference_markdown,
    render_toml,
)
from galileo._errors import ConfigErrors
from galileo._secret import Secret

TOKEN = "sk_live_9f8e7d6c5b4a"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "galileo.toml"
    path.write_text(textwrap.dedent(text))
    return path


def errors_of(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load_config(path, env=env or {})
    return [str(e) for e in caught.value.errors]


def test_no_file_gives_the_documented_defaults_targeting_the_simulated_world() -> None:
    config = load_config(None, env={}, discover=False)
    assert config == attrs.evolve(Config(), state_dir=str(Path.cwd() / ".galileo"))
    assert config.sim.enabled and config.jupiter.source == "sim"
    assert config.metrics.host == "127.0.0.1"


def test_a_relative_state_dir_is_relative_to_the_configuration_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "bot"
    config_dir.mkdir()
    path = config_dir / "galileo.toml"
    path.write_text('state_dir = "state"\n[risk]\nkill_switch_file = "ops/KILL"\n')
    monkeypatch.chdir(tmp_path)  # a command run from elsewhere finds the same directory
    config = load_config(path, env={})
    assert config.state_dir == str(config_dir / "state")
    assert config.risk.kill_switch_file == str(config_dir / "ops" / "KILL")


def test_every_required_section_exists() -> None:
    config = Config()
    for section in (
        "jupiter",
        "network",
        "strategy",
        "landers",
        "risk",
        "wallet",
        "metrics",
        "logging",
        "sim",
    ):
        assert hasattr(config, section)
    assert config.jupiter.launch and config.jupiter.process and config.strategy.blind


def test_a_valid_file_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [metrics]
        port = 9100
        [[strategy.blind.base_mints]]
        mint = "So11111111111111111111111111111111111111112"
        intermediate_mints = ["EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"]
        [strategy.blind.base_mints.trade_size_range]
        min = 1000
        max = 2000
        lanes = 2
    """,
    )
    config = load_config(path, env={})
    assert config.metrics.port == 9100
    assert config.strategy.blind.base_mints[0].trade_size_range.max == 2000


def test_a_wrong_type_names_the_key_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [metrics]
        port = "9000"
    """,
    )
    assert errors_of(path) == ['metrics.port: expected an integer, got a string "9000"']


def test_a_float_is_never_accepted_as_an_amount(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [risk]
        min_profit_lamports = 1.5
    """,
    )
    assert errors_of(path) == ["risk.min_profit_lamports: expected an integer, got float 1.5"]


def test_an_unknown_key_suggests_the_closest_known_one(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [metrics]
        prot = 9000
    """,
    )
    assert errors_of(path) == ["metrics.prot: unknown key (did you mean 'port'?)"]


def test_an_unknown_section_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[landerz]\n")
    assert errors_of(path) == ["landerz: unknown key (did you mean 'landers'?)"]


def test_a_bad_range_names_the_range_and_both_ends(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [[strategy.blind.base_mints]]
        mint = "So11111111111111111111111111111111111111112"
        [strategy.blind.base_mints.trade_size_range]
        min = 5000
        max = 2000
    """,
    )
    assert errors_of(path) == ["strategy.blind.base_mints[0].trade_size_range: min 5000 > max 2000"]


def test_bounds_and_choices_are_checked(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [jupiter.launch]
        port = 70000
        [logging]
        level = "loud"
    """,
    )
    assert errors_of(path) == [
        'logging.level: must be one of "debug", "info", "warning", "error", got a string "loud"'
    ]
    path = write(
        tmp_path,
        """
        [jupiter.launch]
        port = 70000
        total_thread_count = 2
        webserver_thread_count = 3
    """,
    )
    assert errors_of(path) == [
        "jupiter.launch.port: 70000 is above the maximum 65535",
        "jupiter.launch.webserver_thread_count: 3 > total_thread_count 2",
    ]


def test_a_string_is_not_split_into_a_list(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [network]
        manual_ips = "127.0.0.2"
    """,
    )
    assert errors_of(path) == ['network.manual_ips: expected a list, got a string "127.0.0.2"']


def test_list_items_are_reported_by_index(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [network]
        manual_ips = ["127.0.0.2", "not-an-ip"]
    """,
    )
    assert errors_of(path) == ["network.manual_ips[1]: 'not-an-ip' is not an IP address"]


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [metrics]
        prot = 1
        port = "x"
        [sim]
        seed = true
    """,
    )
    assert len(errors_of(path)) == 3


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[metrics\n")
    [message] = errors_of(path)
    assert "invalid TOML" in message


def test_environment_overrides_use_double_underscores(tmp_path: Path) -> None:
    env = {
        "GALILEO_METRICS__PORT": "9200",
        "GALILEO_JUPITER__LAUNCH__RPC_URL": f"https://rpc.example.com/?api-key={TOKEN}",
        "GALILEO_NETWORK__MANUAL_IPS": '["127.0.0.2", "127.0.0.3"]',
        "GALILEO_STATE_DIR": "/var/lib/galileo",
        "GALILEO_FAST_BACKEND": "python",  # a switch, not a key path: ignored here
    }
    config = load_config(None, env=env, discover=False)
    assert config.metrics.port == 9200
    assert config.jupiter.launch.rpc_url.reveal().endswith(TOKEN)
    assert config.network.manual_ips == ["127.0.0.2", "127.0.0.3"]
    assert config.state_dir == "/var/lib/galileo"


def test_environment_overrides_win_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[metrics]\nport = 9100\n")
    config = load_config(path, env={"GALILEO_METRICS__PORT": "9300"})
    assert config.metrics.port == 9300


def test_a_numeric_looking_secret_stays_text() -> None:
    config = load_config(None, env={"GALILEO_LANDERS__JITO__AUTH_UUID": "12345"}, discover=False)
    assert config.landers.jito.auth_uuid.reveal() == "12345"


def test_an_unknown_environment_key_names_the_variable() -> None:
    with pytest.raises(ConfigErrors) as caught:
        load_config(None, env={"GALILEO_METRICS__PROT": "1"}, discover=False)
    assert [str(e) for e in caught.value.errors] == [
        "metrics.prot: from GALILEO_METRICS__PROT: unknown key (did you mean 'port'?)"
    ]


def test_secrets_are_redacted_in_repr_str_show_and_errors(tmp_path: Path) -> None:
    url = f"https://mainnet.helius-rpc.com/?api-key={TOKEN}"
    secret = Secret(url)
    assert TOKEN not in repr(secret) and TOKEN not in str(secret) and TOKEN not in f"{secret}"
    assert str(secret) == "https://mainnet.helius-rpc.com/***"
    assert str(Secret("x-token-value")) == "***"
    config = load_config(
        None,
        env={
            "GALILEO_JUPITER__LAUNCH__RPC_URL": url,
            "GALILEO_JUPITER__LAUNCH__YELLOWSTONE_GRPC_X_TOKEN": TOKEN,
            "GALILEO_LANDERS__JITO__AUTH_UUID": "0b5c1e2e-8a4f-4d6b-9e7a-3c2d1f0e9b8a",
        },
        discover=False,
    )
    for text in (repr(config), str(config), render_toml(config)):
        assert TOKEN not in text
        assert "0b5c1e2e" not in text
    assert "https://mainnet.helius-rpc.com/***" in render_toml(config)
    assert {s.reveal() for s in config.secrets()} >= {url, TOKEN}


def test_a_secret_in_a_bad_value_is_not_echoed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
        [jupiter.launch]
        secondary_rpc_urls = "https://rpc.example.com/?api-key={TOKEN}"
    """,
    )
    [message] = errors_of(path)
    assert message.startswith("jupiter.launch.secondary_rpc_urls: expected a list")


def test_the_example_has_every_key_and_loads_back_to_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "example.toml"
    path.write_text(render_example())
    assert load_config(path, env={}) == attrs.evolve(Config(), state_dir=str(tmp_path / ".galileo"))
    text = path.read_text()
    for key in (
        "[jupiter.launch]",
        "[jupiter.process]",
        "[strategy.blind]",
        "[[strategy.blind.base_mints]]",
        "[landers.jito]",
        "[sim.faults]",
        "allow_circular_arbitrage",
        "max_quote_age_ms",
    ):
        assert key in text
    assert text.count("# ") > 100  # every key carries its documentation


def test_the_effective_config_renders_back_to_the_same_config(tmp_path: Path) -> None:
    config = load_config(None, env={"GALILEO_SIM__SEED": "11"}, discover=False)
    path = tmp_path / "shown.toml"
    path.write_text(render_toml(config, redact=False))
    assert load_config(path, env={}) == config


def test_the_committed_reference_doc_matches_the_schema() -> None:
    committed = Path(__file__).parents[2] / "docs" / "configuration.md"
    assert committed.read_text() == render_reference_markdown(), (
        "docs/configuration.md is stale: run `python -m galileo config docs > "
        "docs/configuration.md`"
    )
