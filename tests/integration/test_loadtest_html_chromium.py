"""The HTML report renders in headless Chromium with its plots visible (skipped when no
Chromium is installed, Debian's ``chromium`` package, except under ``CI``: .ci/run
installs it)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from rtm_actors.loadtest.html_report import write_html
from rtm_actors.loadtest.options import LoadOptions
from rtm_actors.loadtest.runner import LoadResult
from rtm_actors.loadtest.stats import CHANNEL_STREAM, PEER_STREAM, Stats, member_key, stream_key

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Plot colours: the first line of each plot, and the connected-users area (#2ca02c at
#: 85% opacity on white).
BLUE, AREA_GREEN = (0x1F, 0x77, 0xB4), (76, 174, 76)


def a_result() -> LoadResult:
    stats = Stats(origin=0.0)
    peer = stream_key(PEER_STREAM, "a", "b")
    channel = stream_key(CHANNEL_STREAM, "b", "ch")
    for seq in range(1, 301):
        t = 1.0 + seq / 30
        stats.record_sent(t)
        stats.record_acked(peer, seq, t)
        stats.record_delivered(peer, seq, t, t + 0.001 * (1 + seq % 17))
        stats.record_acked(channel, seq, t)
        stats.record_delivered(member_key(channel, "a"), seq, t, t + 0.002)
    stats.record_member("ch", "a", full=True)
    stats.record_member("ch", "b", full=True)
    for t in range(12):
        stats.sample_states(float(t), {"CONNECTED": min(t, 2), "CONNECTING": 2 - min(t, 2)})
    stats.record_error("PeerMessageErrCode.PEER_UNREACHABLE", 5.5)
    stats.mark("go", 1.0)
    stats.mark("end", 11.0)
    meta = {
        "users": 2,
        "logged_in": 2,
        "workers": 1,
        "client_rss_kib": 1,
        "client_kib_per_user": 1.0,
        "client_cpu_s_traffic": 0.1,
        "server": {"embedded": False, "url": "ws://127.0.0.1:1/rtm", "rss_kib": None},
        "capped": False,
    }
    return LoadResult(LoadOptions(scenario="mixed", users=2, duration=10), stats, meta)


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and unfiltered rows of an 8-bit RGB or RGBA PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8
    assert color in (2, 6)
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 0xFF
            elif f == 2:
                line[x] = (line[x] + b) & 0xFF
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 0xFF
        rows.append(bytes(line[i] for i in range(stride) if i % bpp < 3))
        prev = line
    return width, height, rows


def count_colour(rows: list[bytes], colour: tuple[int, int, int], tolerance: int = 24) -> int:
    r0, g0, b0 = colour
    count = 0
    for row in rows:
        for i in range(0, len(row), 3):
            r, g, b = row[i], row[i + 1], row[i + 2]
            if abs(r - r0) <= tolerance and abs(g - g0) <= tolerance and abs(b - b0) <= tolerance:
                count += 1
    return count


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="no chromium installed")
def test_html_report_renders_its_plots_in_headless_chromium(tmp_path):
    """A screenshot of the report shows the plot lines and the connected-users area."""
    page, shot = tmp_path / "report.html", tmp_path / "shot.png"
    write_html(a_result(), page)
    assert CHROMIUM is not None
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=900,2400",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )
    width, height, rows = read_png(shot)
    assert (width, height) == (900, 2400)
    assert count_colour(rows, BLUE) > 500  # latency and throughput lines, the spectrum
    assert count_colour(rows, AREA_GREEN, tolerance=8) > 20_000  # connected users
