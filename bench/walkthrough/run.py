"""Walkthrough panoramas: N evenly spaced dual-fisheye frames to equirectangular JPEGs.

    python bench/walkthrough/run.py [--workdir DIR] [--runs 1] [--points 10]

One 4K dual-fisheye-sized clip (3840x1920, 20 s, 30 fps, 1 s GOP; ffmpeg testsrc2 + noise),
then, interleaved: the ffmpeg CLI (`-vf fps=N/20,v360=dfisheye:e:ih_fov=190:iv_fov=190`, which
decodes the whole video) and omnidrop's `panoramas.render` (seek per point, v360 through PyAV).
Prints a Markdown table: median wall and CPU seconds, peak RSS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "frames"))
from run import REPO, run_measured  # noqa: E402  (bench/frames/run.py)

SIZE, SECONDS = "3840x1920", 20
V360 = "v360=input=dfisheye:output=equirect:ih_fov=190:iv_fov=190:interp=linear"
OMNIDROP = """
import sys
from pathlib import Path
from omnidrop.pipeline.media.panoramas import DUAL_FISHEYE, Layout, Lens, render
from omnidrop.walkthrough.placement import point_times
out, n = Path(sys.argv[2]), int(sys.argv[3])
times = point_times(0.0, float(sys.argv[4]), n)
render(Layout(DUAL_FISHEYE, (Lens(Path(sys.argv[1])),)), times,
       lambda i, data: (out / f"frame_{i + 1:04d}.jpg").write_bytes(data))
"""


def make_clip(workdir: Path) -> Path:
    path = workdir / f"dfisheye_{SIZE}_{SECONDS}s.mp4"
    if not path.exists():
        print(f"generating {path.name} ...", file=sys.stderr)
        tmp = path.with_suffix(".part.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                        f"testsrc2=size={SIZE}:rate=30,noise=alls=10:allf=t", "-t", str(SECONDS), "-c:v", "libx264",
                        "-preset", "veryfast", "-g", "30", "-pix_fmt", "yuv420p", str(tmp)], check=True)
        tmp.rename(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "omnidrop-bench-walkthrough")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--points", type=int, default=10)
    parser.add_argument("--python", default=sys.executable, help="interpreter with omnidrop's dependencies")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    clip = make_clip(args.workdir)
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    last = SECONDS - 1 / 30
    tools = {
        f"ffmpeg `fps={args.points}/{SECONDS},v360`": (
            lambda out: ["ffmpeg", "-v", "error", "-i", str(clip), "-vf", f"fps={args.points}/{SECONDS},{V360}",
                         str(out / "out_%04d.jpg")], None),
        "omnidrop panoramas.render (seek per point)": (
            lambda out: [args.python, "-c", OMNIDROP, str(clip), str(out), str(args.points), str(last)], env),
    }
    results: dict[str, list[tuple[float, float, float, int]]] = {name: [] for name in tools}
    for _ in range(args.runs):
        for name, (argv, tool_env) in tools.items():
            out = Path(tempfile.mkdtemp(prefix="panoramas-"))
            try:
                wall, cpu, rss = run_measured(argv(out), tool_env)
                results[name].append((wall, cpu, rss, len(list(out.glob("*.jpg")))))
            finally:
                shutil.rmtree(out)
    version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    print(f"{os.cpu_count()} CPUs; {version}; {SIZE} {SECONDS} s clip; {args.runs} run(s) each, interleaved\n")
    print("| tool | JPEGs | wall s (median) | CPU s (median) | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|")
    for name, samples in results.items():
        print(f"| {name} | {samples[0][3]} | {statistics.median(s[0] for s in samples):.2f} "
              f"| {statistics.median(s[1] for s in samples):.2f} | {max(s[2] for s in samples):.0f} |")


if __name__ == "__main__":
    main()
