"""Frame extraction at 5 fps: the ffmpeg CLI against omnidrop's extractor, same clips.

    python bench/frames/run.py [--workdir DIR] [--runs 3] [--clips 1080p,4k]

Generates the test clips once (ffmpeg testsrc2 + noise, H.264, 1 s GOP, BT.709 tags) and
caches them in the work directory, then times every tool in its own process, interleaving
the tools so background load hits them alike. Prints a Markdown table: median wall time,
median CPU time (user + sys of the process), peak RSS, and wall time relative to the ffmpeg
command line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CLIPS = {
    # name: (size, seconds, noise strength); noise keeps the bitrate camera-like
    "1080p": ("1920x1080", 10, 10),
    "4k": ("3840x1920", 10, 10),  # 2:1, the equirectangular size of 4K 360 cameras
}

OMNIDROP = """
import sys
from pathlib import Path
from omnidrop.pipeline.media.frames import extract_frames
out = Path(sys.argv[2])
result = extract_frames(sys.argv[1], lambda name, data: (out / name).write_bytes(data))
print(result.count)
"""


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mib: float
    frames: int


def make_clip(workdir: Path, name: str) -> Path:
    size, seconds, noise = CLIPS[name]
    path = workdir / f"clip_{size}_{seconds}s_noise{noise}.mp4"
    if path.exists():
        return path
    print(f"generating {path.name} ...", file=sys.stderr)
    tmp = path.with_suffix(".part.mp4")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc2=size={size}:rate=30,noise=alls={noise}:allf=t",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-pix_fmt", "yuv420p",
         "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", str(tmp)],
        check=True,
    )  # fmt: skip
    tmp.rename(path)
    return path


def run_measured(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited with {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def tools(python: str) -> dict[str, tuple[Callable[[Path, Path], list[str]], dict[str, str] | None]]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))

    def ffmpeg(clip: Path, out: Path) -> list[str]:
        return ["ffmpeg", "-v", "error", "-i", str(clip), "-vf", "fps=5", str(out / "out_%04d.jpg")]

    def ffmpeg_q2(clip: Path, out: Path) -> list[str]:
        return ["ffmpeg", "-v", "error", "-i", str(clip), "-vf", "fps=5", "-q:v", "2", str(out / "out_%04d.jpg")]

    def omnidrop(clip: Path, out: Path) -> list[str]:
        return [python, "-c", OMNIDROP, str(clip), str(out)]

    return {
        "ffmpeg `-vf fps=5`": (ffmpeg, None),
        "ffmpeg `-vf fps=5 -q:v 2`": (ffmpeg_q2, None),
        "omnidrop extract_frames (q90)": (omnidrop, env),
    }


def bench(clip: Path, runs: int, python: str) -> dict[str, list[Sample]]:
    results: dict[str, list[Sample]] = {name: [] for name in tools(python)}
    for _ in range(runs):
        for name, (argv_for, env) in tools(python).items():  # interleaved: noise hits all alike
            out = Path(tempfile.mkdtemp(prefix="frames-"))
            try:
                wall, cpu, rss = run_measured(argv_for(clip, out), env)
                results[name].append(Sample(wall, cpu, rss, len(list(out.glob("*.jpg")))))
            finally:
                shutil.rmtree(out)
    return results


def table(rows: list[tuple[str, str, list[Sample], float]]) -> str:
    lines = [
        "| clip | tool | JPEGs | wall s (median) | CPU s (median) | peak RSS MiB | wall vs ffmpeg |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for clip, tool, samples, reference in rows:
        wall = statistics.median(s.wall for s in samples)
        cpu = statistics.median(s.cpu for s in samples)
        rss = max(s.rss_mib for s in samples)
        frames = {s.frames for s in samples}
        lines.append(
            f"| {clip} | {tool} | {'/'.join(map(str, sorted(frames)))} | {wall:.2f} | {cpu:.2f} | {rss:.0f} "
            f"| {wall / reference:.2f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "omnidrop-bench-frames")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clips", default="1080p,4k")
    parser.add_argument("--python", default=sys.executable, help="interpreter with omnidrop's dependencies")
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        sys.exit("the ffmpeg command-line tool is needed (apt-get install ffmpeg)")
    args.workdir.mkdir(parents=True, exist_ok=True)

    rows = []
    for name in args.clips.split(","):
        clip = make_clip(args.workdir, name)
        results = bench(clip, args.runs, args.python)
        reference = statistics.median(s.wall for s in results["ffmpeg `-vf fps=5`"])
        size, seconds, _ = CLIPS[name]
        mbps = clip.stat().st_size * 8 / seconds / 1e6
        for tool, samples in results.items():
            rows.append((f"{name} ({size}, {seconds} s, {mbps:.0f} Mb/s)", tool, samples, reference))
    ffmpeg_version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    print(f"{os.cpu_count()} CPUs; {ffmpeg_version}; {args.runs} runs each, interleaved\n")
    print(table(rows))


if __name__ == "__main__":
    main()
