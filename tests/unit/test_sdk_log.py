"""An RtmService's own log: file, filter, size and rotation (no server needed)."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

import rtm_actors as ra
from rtm_actors.client.log_file import RotatingLineFile
from rtm_actors.client.sdk_log import (
    DEFAULT_LOG_FILE_SIZE_KB,
    ParameterErr,
    SdkLog,
)

LEVELS = ["debug", "info", "warning", "error", "critical"]


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_every_level(sink: SdkLog) -> None:
    logger = sink.logger(request_id=7)
    for level in LEVELS:
        getattr(logger, level)(f"at_{level}")


def test_set_file_creates_the_file_and_writes_json_lines(tmp_path):
    """A set file is created at once and gets one JSON object per line with level and time."""
    sink = SdkLog()
    path = tmp_path / "rtm.log"
    assert sink.set_file(str(path)) == 0
    assert path.exists()
    sink.context["user_id"] = "alice"
    sink.logger(channel_id="lobby").info("joined", request_id=3)
    (line,) = lines(path)
    assert line["event"] == "joined"
    assert line["level"] == "info"
    assert line["user_id"] == "alice"
    assert line["channel_id"] == "lobby"
    assert line["request_id"] == 3
    assert line["timestamp"].endswith("Z")


@pytest.mark.parametrize(
    ("log_filter", "written"),
    [
        (ra.LogFilter.OFF, []),
        (ra.LogFilter.CRITICAL, ["critical"]),
        (ra.LogFilter.ERROR, ["error", "critical"]),
        (ra.LogFilter.WARN, ["warning", "error", "critical"]),
        (ra.LogFilter.INFO, ["info", "warning", "error", "critical"]),
        (ra.LogFilter.MASK, LEVELS),
        (0xFFFF, LEVELS),
    ],
)
def test_filter_lets_through_exactly_its_levels(tmp_path, log_filter, written):
    """Each Agora filter writes its own level and the more severe ones; OFF writes nothing."""
    sink = SdkLog()
    path = tmp_path / "rtm.log"
    assert sink.set_filter(log_filter) == 0
    assert sink.set_file(str(path)) == 0
    write_every_level(sink)
    assert [line["level"] for line in lines(path)] == written


def test_default_filter_is_info(tmp_path):
    """Without set_log_filter, debug lines are dropped and info lines kept (Agora's default)."""
    sink = SdkLog()
    assert sink.filter == ra.LogFilter.INFO
    assert sink.enabled("info")
    assert not sink.enabled("debug")


@pytest.mark.parametrize("bad", [-1, 0x10000, "info", 1.5, None, True])
def test_bad_filters_are_refused(bad):
    """A filter that is not a 16-bit integer gives INVALID_ARGUMENT and changes nothing."""
    sink = SdkLog()
    assert sink.set_filter(bad) == ParameterErr.INVALID_ARGUMENT
    assert sink.filter == ra.LogFilter.INFO


@pytest.mark.parametrize("good", [512, 1024, 10240, 1024 * 1024])
def test_sizes_in_agoras_range_are_taken(good):
    """Sizes from 512 KB to 1 GB are accepted."""
    sink = SdkLog()
    assert sink.size_kb == DEFAULT_LOG_FILE_SIZE_KB == 10240
    assert sink.set_size(good) == 0
    assert sink.size_kb == good


@pytest.mark.parametrize("bad", [0, 511, 1024 * 1024 + 1, -5, 1024.0, "2048", None, False])
def test_sizes_outside_the_range_are_refused(bad):
    """A size outside [512, 1048576] KB, or not an int, gives INVALID_ARGUMENT."""
    sink = SdkLog()
    assert sink.set_size(bad) == ParameterErr.INVALID_ARGUMENT
    assert sink.size_kb == DEFAULT_LOG_FILE_SIZE_KB


def test_file_in_a_missing_directory_is_refused(tmp_path):
    """The directory must exist (Agora): no file is created and lines still go elsewhere."""
    sink = SdkLog()
    path = tmp_path / "missing" / "rtm.log"
    assert sink.set_file(str(path)) == ParameterErr.INVALID_ARGUMENT
    assert not path.parent.exists()
    assert sink.path is None


@pytest.mark.parametrize("bad", ["", None, 42, "bad\x00name"])
def test_bad_paths_are_refused(bad):
    """An empty, non-string or NUL-containing path gives INVALID_ARGUMENT."""
    assert SdkLog().set_file(bad) == ParameterErr.INVALID_ARGUMENT


def test_a_directory_is_not_a_log_file(tmp_path):
    """Naming an existing directory as the file gives INVALID_ARGUMENT."""
    assert SdkLog().set_file(str(tmp_path)) == ParameterErr.INVALID_ARGUMENT


def test_an_unwritable_file_fails():
    """A path in an existing directory that cannot be created gives FAILED (even as root)."""
    sink = SdkLog()
    assert sink.set_file("/proc/rtm_actors_test.log") == ParameterErr.FAILED
    assert sink.path is None


def test_rotation_keeps_two_files_of_at_most_the_size(tmp_path):
    """Past the size the file becomes .1 (replacing the older one); both stay within it."""
    path = tmp_path / "rtm.log"
    writer = RotatingLineFile(str(path), 512 * 1024)
    line = "x" * 1000
    for _ in range(1300):  # about 2.5 files' worth
        writer.msg(line)
    backup = tmp_path / "rtm.log.1"
    assert path.exists()
    assert backup.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rtm.log", "rtm.log.1"]
    for p in (path, backup):
        assert 0 < p.stat().st_size <= 512 * 1024
    assert backup.stat().st_size > 500 * 1024  # it rotated at the size, not before


def test_size_change_applies_to_the_open_file(tmp_path):
    """set_log_file_size after set_log_file changes where the current file rotates."""
    sink = SdkLog()
    path = tmp_path / "rtm.log"
    assert sink.set_file(str(path)) == 0
    assert sink.set_size(512) == 0
    logger = sink.logger()
    for i in range(3000):
        logger.info("filler", i=i, pad="y" * 200)
    assert (tmp_path / "rtm.log.1").exists()
    assert path.stat().st_size <= 512 * 1024


def test_the_host_logging_setup_is_untouched(tmp_path):
    """Setting a file configures neither structlog globally nor the stdlib logging tree."""
    structlog.configure(processors=[structlog.processors.JSONRenderer()])
    before = structlog.get_config()
    root_handlers = list(logging.getLogger().handlers)
    known_loggers = set(logging.root.manager.loggerDict)
    sink = SdkLog()
    assert sink.set_file(str(tmp_path / "rtm.log")) == 0
    sink.logger().warning("hello")
    assert structlog.get_config() == before
    assert logging.getLogger().handlers == root_handlers
    assert set(logging.root.manager.loggerDict) == known_loggers


def test_without_a_file_lines_go_to_the_process_setup():
    """Until a file is set, lines go through the host's structlog configuration."""
    sink = SdkLog()
    sink.context["user_id"] = "bob"
    with structlog.testing.capture_logs() as captured:
        sink.logger(request_id=9).warning("request_timed_out")
        sink.logger().debug("dropped by the INFO filter")
    assert captured == [
        {"event": "request_timed_out", "log_level": "warning", "user_id": "bob", "request_id": 9}
    ]


def test_two_services_write_to_their_own_files(tmp_path):
    """Each SdkLog writes only to its own file."""
    first, second = SdkLog(), SdkLog()
    assert first.set_file(str(tmp_path / "a.log")) == 0
    assert second.set_file(str(tmp_path / "b.log")) == 0
    first.logger().info("from_a")
    second.logger().info("from_b")
    assert [x["event"] for x in lines(tmp_path / "a.log")] == ["from_a"]
    assert [x["event"] for x in lines(tmp_path / "b.log")] == ["from_b"]


def test_a_removed_directory_never_breaks_logging(tmp_path):
    """If the log directory disappears, lines are lost quietly, never raised."""
    folder = tmp_path / "logs"
    folder.mkdir()
    sink = SdkLog()
    assert sink.set_file(str(folder / "rtm.log")) == 0
    (folder / "rtm.log").unlink()
    folder.rmdir()
    sink.logger().error("still fine")
