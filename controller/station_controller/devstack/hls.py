"""A local live HLS source for `make run`, the tests and the benches: ffmpeg test pattern + HTTP origin.

ffmpeg (Debian package) encodes a test pattern in real time (``-re``) into a live HLS stream of one or
more H.264 variants (2 s segments, a 6-segment window, EXT-X-PROGRAM-DATE-TIME), with a master playlist;
constant bit rate (``nal-hrd=cbr``) so each variant really carries its BANDWIDTH. A small
``http.server`` origin serves the directory. Faults for the tests are switched by files in
``control_dir`` (so a test can flip them in an origin running in another network namespace):
``segment_404`` (every segment answers 404), ``freeze`` (media playlists are served as they were when
the file appeared: a stale live playlist). Stopping the origin makes it unreachable.

Run alone: ``python -m station_controller.devstack.hls --dir DIR --port 8090 [--variants 1200,400]``.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from ..settings import Settings
from .demo_lesson import schedule_demo_lesson
from .errors import ServiceStartError
from .ports import free_port, port_is_free
from .processes import ManagedProcess

logger = logging.getLogger(__name__)
MASTER = "master.m3u8"
SEGMENT_S = 2
WINDOW = 6
DEFAULT_VARIANTS_KBIT = (1200, 400)
HEIGHTS = (360, 270, 180, 144)
DEMO_STATION = "demo-0001"  # cli demo-station's code


@dataclass(frozen=True)
class HlsSettings:
    out_dir: Path
    variants_kbit: tuple[int, ...] = DEFAULT_VARIANTS_KBIT  # highest first
    fps: int = 15
    segment_s: int = SEGMENT_S


def ffmpeg_argv(s: HlsSettings, ffmpeg: str = "ffmpeg") -> list[str]:
    """ffmpeg arguments of a live, CBR, multi-variant HLS test pattern into ``s.out_dir``."""
    n = len(s.variants_kbit)
    gop = s.fps * s.segment_s
    split = f"[0:v]split={n}" + "".join(f"[s{i}]" for i in range(n)) + ";"
    scales = ";".join(f"[s{i}]scale=-2:{HEIGHTS[min(i, len(HEIGHTS) - 1)]}[v{i}]" for i in range(n))
    argv = [ffmpeg, "-hide_banner", "-loglevel", "warning", "-nostdin", "-re"]
    argv += ["-f", "lavfi", "-i", f"testsrc2=size=640x360:rate={s.fps}"]
    argv += ["-filter_complex", split + scales]
    for i, kbit in enumerate(s.variants_kbit):
        argv += ["-map", f"[v{i}]", f"-b:v:{i}", f"{kbit}k", f"-minrate:v:{i}", f"{kbit}k"]
        argv += [f"-maxrate:v:{i}", f"{kbit}k", f"-bufsize:v:{i}", f"{kbit}k"]
    argv += ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-x264-params", "nal-hrd=cbr"]
    argv += ["-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-an"]
    argv += ["-f", "hls", "-hls_time", str(s.segment_s), "-hls_list_size", str(WINDOW)]
    argv += ["-hls_flags", "delete_segments+program_date_time+independent_segments"]
    argv += ["-master_pl_name", MASTER, "-var_stream_map", " ".join(f"v:{i}" for i in range(n))]
    argv += ["-hls_segment_filename", str(s.out_dir / "v%v_%d.ts"), str(s.out_dir / "v%v_index.m3u8")]
    return argv


class HlsEncoder:
    """The ffmpeg process; ready once the master and every variant's playlist exist."""

    def __init__(self, settings: HlsSettings, log_file: Path) -> None:
        self.settings = settings
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            raise ServiceStartError("ffmpeg not installed: run `make setup` (Debian package ffmpeg)")
        settings.out_dir.mkdir(parents=True, exist_ok=True)
        for old in settings.out_dir.glob("*.m3u8"):
            old.unlink()
        self.process = ManagedProcess(
            name="hls ffmpeg", argv=ffmpeg_argv(settings, ffmpeg), log_file=log_file
        )

    def ready(self) -> bool:
        n = len(self.settings.variants_kbit)
        out = self.settings.out_dir
        return (out / MASTER).exists() and all((out / f"v{i}_index.m3u8").exists() for i in range(n))

    def start(self, timeout_s: float = 60.0) -> None:
        self.process.start(ready=self.ready, timeout_s=timeout_s)

    def stop(self) -> None:
        self.process.stop()


class _OriginHandler(SimpleHTTPRequestHandler):
    control_dir: Path
    frozen: dict[str, bytes]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        name = self.path.split("?", 1)[0].rsplit("/", 1)[-1]
        if name.endswith(".ts") and (self.control_dir / "segment_404").exists():
            self.send_error(404, "segment withheld (fault: segment_404)")
            return
        frozen = (self.control_dir / "freeze").exists()
        if name.endswith("_index.m3u8") and frozen:
            self._frozen(name)
            return
        if not frozen:
            self.frozen.clear()
        super().do_GET()

    def _frozen(self, name: str) -> None:
        if name not in self.frozen:
            path = Path(self.directory) / name
            self.frozen[name] = path.read_bytes() if path.exists() else b""
        body = self.frozen[name]
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.apple.mpegurl")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        logger.debug("hls origin: %s", format % args)


class HlsOrigin:
    """Serves ``directory`` on ``host:port`` from a thread; ``url`` is the master playlist."""

    def __init__(self, directory: Path, *, host: str, port: int, control_dir: Path | None = None) -> None:
        control = control_dir or directory / ".control"
        control.mkdir(parents=True, exist_ok=True)
        handler = type("Handler", (_OriginHandler,), {"control_dir": control, "frozen": {}})
        self._server = ThreadingHTTPServer((host, port), partial(handler, directory=str(directory)))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="hls-origin", daemon=True)
        self.control_dir = control
        self.url = f"http://{host}:{self._server.server_address[1]}/{MASTER}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class LiveHls:
    """Encoder + origin, started and stopped together (the dev stack's ``hls`` part)."""

    def __init__(
        self, settings: HlsSettings, *, host: str, port: int, log_file: Path, control_dir: Path | None = None
    ) -> None:
        self.encoder = HlsEncoder(settings, log_file)
        self.origin = HlsOrigin(settings.out_dir, host=host, port=port, control_dir=control_dir)

    @property
    def url(self) -> str:
        return self.origin.url

    def start(self) -> None:
        self.encoder.start()
        self.origin.start()
        logger.info("live HLS test pattern at %s", self.url)

    def stop(self) -> None:
        self.origin.stop()
        self.encoder.stop()


URL_FILE = "url.txt"  # {data_dir}/hls/url.txt: where the demo stream is served


def start_demo_stream(settings: Settings, data_dir: Path) -> list[tuple[str, Callable[[], None]]]:
    """The live test pattern on loopback, and a demo lesson of it for the demo station through the
    controller's API (demo_lesson.py): the lesson dispatcher has the demo STB probe it, so `make run`
    shows stream-quality figures and a live lesson without configuring anything. (name, stop) pairs."""
    live = LiveHls(
        HlsSettings(data_dir / "hls"),
        host="127.0.0.1",
        port=origin_port(data_dir / "hls" / URL_FILE),
        log_file=data_dir / "logs" / "hls.log",
    )
    live.start()
    (data_dir / "hls" / URL_FILE).write_text(live.url + "\n", encoding="utf-8")  # for tests and newcomers
    schedule_demo_lesson(settings, data_dir, url=live.url, station=DEMO_STATION)
    return [("live hls", live.stop)]


def origin_port(url_file: Path) -> int:
    """The port of the last run's URL when it is free (so its demo lesson still plays), else a free one."""
    try:
        port = urlsplit(url_file.read_text(encoding="utf-8").strip()).port
    except (OSError, ValueError):
        port = None
    return port if port is not None and port_is_free(port) else free_port()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m station_controller.devstack.hls")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--variants", default=",".join(map(str, DEFAULT_VARIANTS_KBIT)), help="kbit/s")
    parser.add_argument("--control-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = HlsSettings(args.dir, tuple(int(v) for v in args.variants.split(",")))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log_file = args.dir.parent / f"{args.dir.name}-ffmpeg.log"
    live = LiveHls(settings, host=args.host, port=args.port, log_file=log_file, control_dir=args.control_dir)
    live.start()
    print(live.url, flush=True)  # noqa: T201 - a CLI's one line of output: where the stream is
    while not stop.wait(1.0):
        if not live.encoder.process.running:
            logger.error("ffmpeg exited; see %s", log_file)
            break
    live.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
