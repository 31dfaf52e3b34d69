"""The server's config file: keys derived from ServerConfig, printed defaults
that load back as the defaults, refused files naming the key and exiting 2, and the
precedence file < flag < environment."""

from __future__ import annotations

import dataclasses
import pathlib
import re

import pytest

from rtm_actors.cli import _flags, build_parser, main
from rtm_actors.protocol.invitation import InvitationTimings
from rtm_actors.server.config import SECTIONS, ServerConfig
from rtm_actors.server.config_file import ConfigError, load_settings
from rtm_actors.server.config_keys import all_keys
from rtm_actors.server.config_render import markdown_reference, render_settings
from rtm_actors.server.settings import ServeSettings
from rtm_actors.testing.process import config_toml


@pytest.fixture(autouse=True)
def _no_rtm_environment(monkeypatch):
    """The tests' own RTM_ACTORS_* variables (if any) never leak into what they load."""
    import os

    for name in list(os.environ):
        if name.startswith("RTM_ACTORS_"):
            monkeypatch.delenv(name)


@pytest.fixture
def write(tmp_path):
    """``write(text) -> path`` of a config file holding ``text``."""

    def make(text: str, name: str = "rtm.toml") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return make


#: What a rate takes, as the messages say it.
RATE = "{ count = <integer >= 1>, window = <seconds > 0> }"


def problems_of(path: str | None, flags=None, environ=None) -> list[str]:
    """The problems ``load_settings`` refuses these settings with (asserted refused)."""
    with pytest.raises(ConfigError) as refused:
        load_settings(path, flags, environ or {})
    return refused.value.problems


class TestKeys:
    def test_every_server_config_field_has_exactly_one_section(self):
        """A field added to ServerConfig without a place in SECTIONS fails here."""
        placed = [name for names in SECTIONS.values() for name in names]
        assert sorted(f.name for f in dataclasses.fields(ServerConfig)) == sorted(placed)

    def test_every_key_has_a_meaning(self):
        """Each key's one-line meaning comes from a #: comment, so none is empty."""
        assert [key.dotted for key in all_keys() if not key.doc] == []

    def test_invitation_timings_are_keys_of_the_invitations_section(self):
        """The nested dataclass's fields are flat keys of [invitations]."""
        dotted = {key.dotted for key in all_keys()}
        assert {"invitations.offline_retry", "invitations.no_ack", "invitations.expire"} <= dotted

    def test_environment_names_follow_section_and_key(self):
        """RTM_ACTORS_<SECTION>_<KEY>, and RTM_ACTORS_<KEY> at the top."""
        envs = {key.dotted: key.env for key in all_keys()}
        assert envs["sessions.grace_period"] == "RTM_ACTORS_SESSIONS_GRACE_PERIOD"
        assert envs["admin_token"] == "RTM_ACTORS_ADMIN_TOKEN"


class TestDefaults:
    def test_printed_defaults_load_back_as_the_defaults(self, write, capsys):
        """`rtm-actors config defaults`, parsed back, is ServerConfig() and every
        server default."""
        assert main(["config", "defaults"]) == 0
        printed = capsys.readouterr().out
        settings = load_settings(write(printed), environ={})
        assert ServerConfig() == settings.config
        assert ServeSettings() == settings

    def test_printed_defaults_list_every_key_with_its_meaning(self):
        """Every key appears (set or commented out), under its comment."""
        printed = render_settings()
        for key in all_keys():
            assert (
                f"\n{key.name} = " in printed
                or f"\n# {key.name} = " in printed
                or (key.name == "app_certificates" and "[app_certificates]" in printed)
            ), key.dotted
            assert key.doc.split()[0] in printed

    def test_a_changed_file_round_trips(self, write):
        """Settings that differ everywhere render and load back equal."""
        changed = ServeSettings(
            host="0.0.0.0",
            port=9000,
            store="memory",
            metrics=False,
            app_certificates={"app1": "cert1"},
            config=ServerConfig(
                grace_period=120.0,
                join_rate=(10, 1.5),
                offline_quota_per_app=(5, 6),
                invitation_timings=InvitationTimings(expire=90.0),
                assume_redis_durable=True,
                max_connections=0,
            ),
        )
        assert changed == load_settings(write(render_settings(changed)), environ={})
        assert changed == load_settings(
            write(render_settings(changed, only_changed=True)), environ={}
        )

    def test_the_test_helper_writes_a_file_serve_reads(self, write):
        """testing.process's ServerConfig fields (lists for pairs) load as given."""
        text = config_toml(login_timeout=1.5, invitation_rate=[10_000, 5.0])
        config = load_settings(write(text), environ={}).config
        assert (config.login_timeout, config.invitation_rate) == (1.5, (10_000, 5.0))


class TestRefused:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (
                "[sessions]\ngrace_perod = 60\n",
                "sessions.grace_perod: unknown key (did you mean grace_period?)",
            ),
            (
                "[sesions]\ngrace_period = 60\n",
                "[sesions]: unknown section (did you mean [sessions]?)",
            ),
            ("prot = 1\n", "prot: unknown key (did you mean port?)"),
            (
                '[app_certificate]\napp1 = "c"\n',
                "[app_certificate]: unknown section (did you mean [app_certificates]?)",
            ),
            (
                "[sessions]\nlogin_timeout = 1\n",
                "sessions.login_timeout: unknown key here; login_timeout belongs in [transport]",
            ),
            (
                '[sessions]\ngrace_period = "60"\n',
                'sessions.grace_period: expected a number of seconds > 0, got "60"',
            ),
            (
                "[sessions]\ngrace_period = -1\n",
                "sessions.grace_period: expected a number of seconds > 0, got -1",
            ),
            (
                "[sessions]\nmax_backlog = 0\n",
                "sessions.max_backlog: expected an integer >= 1, got 0",
            ),
            (
                "[sessions]\nmax_backlog = 10.5\n",
                "sessions.max_backlog: expected an integer >= 1, got 10.5",
            ),
            (
                "[transport]\nmax_connections = -1\n",
                "transport.max_connections: expected an integer >= 0, got -1",
            ),
            (
                "[limits]\njoin_rate = { count = 5, window = 0 }\n",
                f"limits.join_rate: expected {RATE}, got {{ count = 5, window = 0 }}",
            ),
            (
                "[limits]\njoin_rate = [5, 3.0]\n",
                f"limits.join_rate: expected {RATE}, got [5, 3.0]",
            ),
            (
                "[cluster]\nassume_redis_durable = 1\n",
                "cluster.assume_redis_durable: expected true or false, got 1",
            ),
            ("port = 70000\n", "port: expected a port number from 0 to 65535, got 70000"),
            (
                'log_level = "verbose"\n',
                'log_level: expected one of "debug", "info", "warning", "error", "critical", '
                'got "verbose"',
            ),
            (
                "[cluster]\nnode_expiry = 0.5\n",
                "cluster.node_expiry: expected at least cluster.node_heartbeat (1.0), got 0.5",
            ),
            (
                "[cluster]\nnode_heartbeat = 4\n",
                "cluster.node_expiry: expected at least cluster.node_heartbeat (4.0), got 3.0",
            ),
            ('keyfile = "k.pem"\n', "keyfile: expected certfile to be set too"),
            ("sessions = 3\n", "sessions: expected a section [sessions], got 3"),
        ],
    )
    def test_a_bad_file_is_refused_naming_file_key_and_expectation(
        self, write, capsys, text, expected
    ):
        """`config check` and `serve` print the file, the key and what it takes, and exit 2."""
        path = write(text)
        assert main(["config", "check", path]) == 2
        assert f"rtm-actors: {path}: {expected}" in capsys.readouterr().err
        assert main(["serve", "--config", path, "--store", "memory"]) == 2
        assert expected in capsys.readouterr().err

    def test_every_problem_is_named_at_once(self, write):
        """Two bad keys: both are reported, not just the first."""
        problems = problems_of(write("[sessions]\ngrace_period = 0\nmax_unacked = 0\n"))
        assert len(problems) == 2

    def test_not_toml_and_no_file(self, write, tmp_path):
        """A syntax error (with its line) and a missing file are refused too."""
        (problem,) = problems_of(write("[sessions\n"))
        assert "not valid TOML" in problem
        assert "line 1" in problem
        (problem,) = problems_of(str(tmp_path / "missing.toml"))
        assert "missing.toml: cannot read it: No such file or directory" in problem

    def test_a_misspelt_environment_variable_is_refused(self):
        """RTM_ACTORS_<SECTION>_<typo> is named with the closest variable; variables
        outside our sections (the SDK's RTM_ACTORS_SERVER_URL) are left alone."""
        (problem,) = problems_of(
            None, environ={"RTM_ACTORS_SESSIONS_GRACE": "3", "RTM_ACTORS_SERVER_URL": "ws://x"}
        )
        assert (
            "RTM_ACTORS_SESSIONS_GRACE: not a setting "
            "(did you mean RTM_ACTORS_SESSIONS_GRACE_PERIOD?)" in problem
        )

    def test_a_bad_environment_value_names_the_variable(self):
        """An environment value is checked like the file's."""
        (problem,) = problems_of(None, environ={"RTM_ACTORS_LIMITS_JOIN_RATE": "5"})
        assert problem.startswith(
            "environment variable RTM_ACTORS_LIMITS_JOIN_RATE: limits.join_rate: expected {"
        )


class TestPrecedence:
    def test_file_then_flag_then_environment(self, write):
        """A flag overrides the file; an RTM_ACTORS_* variable overrides both."""
        path = write('port = 1111\nstore = "memory"\n[sessions]\ngrace_period = 60\n')
        assert load_settings(path, {}, {}).port == 1111
        assert load_settings(path, {"port": 2222}, {}).port == 2222
        both = load_settings(path, {"port": 2222}, {"RTM_ACTORS_PORT": "3333"})
        assert (both.port, both.store) == (3333, "memory")
        env = {"RTM_ACTORS_SESSIONS_GRACE_PERIOD": "90"}
        assert load_settings(path, {}, env).config.grace_period == 90.0

    def test_serve_flags_name_their_keys(self):
        """Only the flags given count; --assume-redis-durable sets the cluster key."""
        args = build_parser().parse_args(
            ["serve", "--port", "0", "--no-metrics", "--assume-redis-durable"]
        )
        assert _flags(args) == {"port": 0, "metrics": False, "cluster.assume_redis_durable": True}

    def test_environment_values_are_toml_values_and_strings_need_no_quotes(self):
        """Pairs and numbers parse as TOML; a string key takes the text as it is."""
        settings = load_settings(
            None,
            environ={
                "RTM_ACTORS_LIMITS_JOIN_RATE": "{ count = 3, window = 1 }",
                "RTM_ACTORS_INVITATIONS_EXPIRE": "90",
                "RTM_ACTORS_STORE": "redis://localhost:6379/0",
                "RTM_ACTORS_METRICS": "false",
                "RTM_ACTORS_APP_CERTIFICATES": '{ app1 = "c1" }',
            },
        )
        assert settings.app_certificates == {"app1": "c1"}
        assert settings.config.join_rate == (3, 1.0)
        assert settings.config.invitation_timings.expire == 90.0
        assert (settings.store, settings.metrics) == ("redis://localhost:6379/0", False)


class TestSecrets:
    def test_secrets_from_a_file_or_a_variable(self, write, tmp_path: pathlib.Path):
        """{ file = ... } reads the file (its final newline dropped); { env = ... } the variable."""
        token = tmp_path / "token"
        token.write_text("s3cret\n")
        path = write(
            f'admin_token = {{ file = "{token}" }}\n'
            '[app_certificates]\napp1 = { env = "APP1_CERT" }\napp2 = "inline"\n'
        )
        settings = load_settings(path, environ={"APP1_CERT": "c1"})
        assert settings.admin_token == "s3cret"
        assert settings.app_certificates == {"app1": "c1", "app2": "inline"}
        assert "s3cret" not in repr(settings)
        assert "c1" not in repr(settings)

    def test_a_missing_secret_is_refused_by_name(self, write, tmp_path):
        """An unset variable or a missing file names the key and where it looked."""
        path = write(
            f'admin_token = {{ file = "{tmp_path}/nope" }}\n'
            '[app_certificates]\napp1 = { env = "UNSET_CERT" }\n'
        )
        problems = "\n".join(problems_of(path))
        assert "admin_token: expected a readable file at" in problems
        assert (
            "app_certificates: expected the environment variable UNSET_CERT to be set" in problems
        )

    def test_a_literal_secret_is_never_echoed(self, write):
        """A wrongly shaped secret is reported without its text."""
        path = write('[app_certificates]\napp1 = "s3cret"\napp2 = { path = "x" }\n')
        (problem,) = problems_of(path)
        assert "app_certificates: expected app2 = a string, { file" in problem
        assert "s3cret" not in problem
        assert "got a value not shown (a secret)" in problem


class TestDocs:
    DOC = (pathlib.Path(__file__).parent.parent.parent / "docs" / "operations.md").read_text()

    def test_the_reference_is_the_generated_one(self):
        """docs/operations.md lists exactly the keys, defaults and meanings of the code
        (regenerate: rtm_actors.server.config_render.markdown_reference())."""
        begin, end = "<!-- config reference: begin -->\n", "<!-- config reference: end -->"
        listed = self.DOC[self.DOC.index(begin) + len(begin) : self.DOC.index(end)]
        assert listed == markdown_reference()

    def test_every_example_file_in_the_guide_is_accepted(self, write):
        """The TOML examples of the config file section load (secrets from the
        variables they name)."""
        guide = self.DOC[self.DOC.index("## The config file") : self.DOC.index("### Reference")]
        examples = re.findall(r"```toml\n(.*?)```", guide, re.DOTALL)
        assert len(examples) == 3
        for example in examples:
            secret_file = write("s3cret\n", "secret")
            text = example.replace("/run/secrets/rtm-admin-token", secret_file)
            load_settings(write(text), environ={"RTM_APP_CERTIFICATE": "c"})


def _valid_values(key):
    """A Hypothesis strategy of values ``key`` accepts, as the flags would give them."""
    from hypothesis import strategies as st

    seconds = st.floats(min_value=1e-3, max_value=1e9, allow_nan=False)
    counts = st.integers(min_value=0 if key.name == "max_connections" else 1, max_value=2**40)
    words = st.text(min_size=1, max_size=20).filter(str.strip)
    if key.pair is not None:
        first, second = key.pair
        other = seconds if key.pair == ("count", "window") else st.integers(1, 2**40)
        return st.fixed_dictionaries({first: st.integers(1, 10**6), second: other})
    by_name = {
        "port": st.integers(0, 65535),
        "log_level": st.sampled_from(["debug", "info", "warning", "error", "critical"]),
        "app_certificates": st.dictionaries(words, words, max_size=3),
        "keyfile": st.none(),  # needs a certfile: checked by its own test
    }
    if key.name in by_name:
        return by_name[key.name]
    if isinstance(key.default, bool):
        return st.booleans()
    if isinstance(key.default, float):
        return seconds
    if isinstance(key.default, int):
        return counts
    return words


def test_any_valid_settings_round_trip_through_the_file(tmp_path):
    """Whatever valid values every key holds, the rendered file loads back equal
    (numbers, escaped strings, pairs, nested invitation timings, certificates)."""
    from hypothesis import given, strategies as st

    # The two cluster keys have a rule between them, tested on its own.
    keys = [k for k in all_keys() if not k.dotted.startswith("cluster.node_")]
    values = st.fixed_dictionaries({key.dotted: _valid_values(key) for key in keys})

    @given(values)
    def check(chosen):
        chosen = {k: v for k, v in chosen.items() if v is not None}
        settings = load_settings(None, chosen, {})
        path = tmp_path / "rtm.toml"
        path.write_text(render_settings(settings))
        assert load_settings(str(path), environ={}) == settings

    check()
