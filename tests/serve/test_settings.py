import json

import pytest

from medlens.errors import ConfigError
from medlens.serve.settings import hash_key, load_settings


def test_defaults_are_loopback_and_closed_cors(tiny_kg_path):
    s = load_settings(env={}, kg_path=str(tiny_kg_path))
    assert s.host == "127.0.0.1" and s.cors_origins == () and s.all_key_hashes() == frozenset()


def test_file_then_env_then_overrides(tmp_path, tiny_kg_path):
    f = tmp_path / "serve.toml"
    f.write_text(f'[serve]\nport = 9001\nmax_text_chars = 1234\nkg_path = "{tiny_kg_path}"\n')
    s = load_settings(f, env={"MEDLENS_SERVE_PORT": "9002", "MEDLENS_SERVE_CORS_ORIGINS": "http://a.example, http://b.example"})
    assert s.port == 9002 and s.max_text_chars == 1234 and s.cors_origins == ("http://a.example", "http://b.example")
    assert load_settings(f, env={}, port=9003).port == 9003
    j = tmp_path / "serve.json"
    j.write_text(json.dumps({"workers": 2}))
    assert load_settings(j, env={}).workers == 2


def test_keys_are_stored_hashed(tmp_path):
    keyfile = tmp_path / "keys.txt"
    keyfile.write_text(f"# ops team\n{hash_key('file-key')}\n")
    s = load_settings(env={"MEDLENS_API_KEYS": "plain-key"}, api_key_file=str(keyfile))
    hashes = s.all_key_hashes()
    assert hashes == {hash_key("file-key"), hash_key("plain-key")}
    assert "plain-key" not in s.model_dump_json()


@pytest.mark.parametrize("bad,needle", [
    ({"port": 70000}, "port"),
    ({"unknown_setting": 1}, "unknown_setting"),
    ({"api_key_hashes": ("not-a-hash",)}, "SHA-256"),
    ({"host": "0.0.0.0"}, "loopback"),
    ({"cors_origins": ("evil.example",)}, "CORS origin"),
    ({"kg_path": "/nonexistent/kg.sqlite"}, "no knowledge graph"),
    ({"executor": "gpu"}, "executor"),
])
def test_bad_settings_fail_at_start_with_a_clear_message(bad, needle):
    with pytest.raises(ConfigError) as exc:
        load_settings(env={}, **bad)
    assert needle in str(exc.value)


def test_bad_hash_message_does_not_echo_the_value():
    with pytest.raises(ConfigError) as exc:
        load_settings(env={}, api_key_hashes=("my-secret-key",))
    assert "my-secret-key" not in str(exc.value)


def test_non_loopback_needs_keys_or_explicit_opt_out():
    assert load_settings(env={}, host="0.0.0.0", api_key_hashes=(hash_key("k"),)).host == "0.0.0.0"
    assert load_settings(env={}, host="0.0.0.0", allow_unauthenticated=True).allow_unauthenticated


def test_bad_config_file(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text("port = [")
    with pytest.raises(ConfigError, match="cannot be parsed"):
        load_settings(f, env={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", env={})
