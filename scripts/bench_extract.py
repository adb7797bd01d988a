"""Throughput of harvester's extraction against yt-dlp and extruct, plus peak memory.

Usage::

    python scripts/bench_extract.py [--pages DIR] [--labels FILE ...] [--runs N] [--mb 50]
                                    [--text] [--dense 1000 10000]

Every contender gets each corpus page as its bytes (the default), as a
crawler has them, so decoding is part of the work for all; ``--text`` hands
them the decoded text instead.  Each contender is timed over every page, the
contenders taking turns (best of ``--runs`` passes each), and reported in MB/s:

- ``harvester``: :func:`harvester.extract.extract` (all syntaxes, repair,
  normalise, validate), or ``candidates()`` when ``extract`` cannot import;
- ``yt-dlp``: ``InfoExtractor._search_json_ld`` (JSON-LD only; it takes text,
  so in bytes mode its time includes decoding the page as UTF-8);
- ``extruct``: ``extruct.extract`` with json-ld, microdata and opengraph.

harvester keeps what it learns about values that recur across records (a URL,
duration or date read, a schema check's answer for a text or a record's
shape) in bounded tables; they are emptied before each of its passes, so that
a pass never reuses what an earlier pass over the same pages learnt (values
recurring within one pass, as on a page of many videos, are still read once).

Two more tables time the pages that carry no video (the labels' pages with
no records, the common case when crawling) and the pages that do.  The last
column is harvester's speed divided by each contender's (above 1: faster).
The dense table times pages of ``--dense`` videos each (that many ld+json
scripts, one ItemList of that many videos, that many microdata items; see
``tests/support/dense.py``): harvester's whole extraction against extruct's
parse, and how many videos harvester found; then, for the ItemList, a bare
loop that does only what every record of it needs (parse, the node's JSON,
one regular expression per URL, date and duration, a hashed id), a lower
bound for any extraction keeping harvester's records.
Peak memory for one synthetic page of ``--mb`` megabytes is measured in a
fresh child process (the peak RSS the call adds, since lxml allocates outside
Python's tracemalloc), for a page without video, one with small items, and
one whose ``<body>`` is a microdata item (the worst case), and for the
densest microdata page.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
TEST_LABELS = REPO / "tests" / "data" / "expected-test.json"

Page = str | bytes
Runner = Callable[[Page], Any]


# Run before each pass of the contender it names: harvester forgets the values it has
# read (its bounded tables of URLs, durations, dates and check answers), so that no pass
# reuses what an earlier pass over the same pages learnt.
BEFORE_PASS: dict[str, Callable[[], None]] = {}


def harvester_runner() -> tuple[str, Runner]:
    """``extract`` when the full pipeline imports, else the raw candidates."""
    sys.path.insert(0, str(REPO))
    try:
        from harvester.extract import extract
    except ImportError:
        from harvester.extract import candidates

        return "harvester candidates()", lambda text: list(candidates(text, "page"))
    with contextlib.suppress(ImportError):
        from harvester.extract import forget_values

        BEFORE_PASS["harvester extract()"] = forget_values
    return "harvester extract()", lambda text: extract(text, "https://example.org/page")


def ytdlp_runner() -> Runner:
    """yt-dlp's JSON-LD search, called the way its own tests call it."""
    from yt_dlp import YoutubeDL  # type: ignore[import-untyped]
    from yt_dlp.extractor.common import InfoExtractor  # type: ignore[import-untyped]

    class BenchIE(InfoExtractor):  # type: ignore[misc]
        _VALID_URL = r"https?://bench\.invalid/.*"

    ie = BenchIE(YoutubeDL(params={"quiet": True}))

    def run(page: Page) -> Any:
        text = page.decode("utf-8", "replace") if isinstance(page, bytes) else page
        return ie._search_json_ld(text, None, fatal=False, default=None)

    return run


def extruct_runner() -> Runner:
    import extruct  # type: ignore[import-untyped]

    def run(page: Page) -> Any:
        return extruct.extract(page, base_url="https://example.org/page",
                               syntaxes=["json-ld", "microdata", "opengraph"],
                               uniform=False, errors="ignore")

    return run


def decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("cp1252", "replace")


def one_pass(run: Runner, texts: Sequence[Page]) -> float:
    """Wall time of one pass over every page; a page that raises still counts its time."""
    start = time.perf_counter()
    for text in texts:
        # A contender's failure on one page must not end the bench.
        with contextlib.suppress(Exception):
            run(text)
    return time.perf_counter() - start


def best_times(runners: dict[str, Runner], texts: Sequence[Page], runs: int
               ) -> dict[str, float]:
    """Each contender's best pass out of ``runs``, the passes taken in turns.

    Round after round every contender makes one pass, in an order that rotates,
    so a machine that speeds up or slows down during the table (they do here)
    weighs on all of them alike.
    """
    names = list(runners)
    best = dict.fromkeys(names, float("inf"))
    for round_ in range(runs):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            BEFORE_PASS.get(name, _nothing)()
            best[name] = min(best[name], one_pass(runners[name], texts))
    return best


def _nothing() -> None:
    return None


def no_video_files(label_files: Sequence[Path]) -> set[str]:
    files: set[str] = set()
    for path in label_files:
        if path.is_file():
            for page in json.loads(path.read_text(encoding="utf-8"))["pages"]:
                if not page["videos"]:
                    files.add(page["file"])
    return files


def _size(page: Page) -> int:
    return len(page) if isinstance(page, bytes) else len(page.encode("utf-8", "replace"))


def table(title: str, texts: Sequence[Page], runners: dict[str, Runner], runs: int) -> None:
    megabytes = sum(_size(t) for t in texts) / 1e6
    print(f"\n{title}: {len(texts)} pages, {megabytes:.1f} MB, best of {runs}")
    print(f"{'contender':<24} {'seconds':>8} {'MB/s':>8} {'harvester speed / its':>22}")
    speeds = {name: megabytes / seconds
              for name, seconds in best_times(runners, texts, runs).items()}
    ours = next(iter(speeds.values()))
    for name, speed in speeds.items():
        print(f"{name:<24} {megabytes / speed:>8.3f} {speed:>8.1f} {ours / speed:>21.2f}x")


MEMORY_CASES = {
    "no video": "none",
    "video in every syntax": "small",
    "microdata item wrapping the whole body": "body",
    "10,000 microdata items": "dense",
}


def synthetic_page(megabytes: int, video: str) -> str:
    """A big page of filler paragraphs.

    ``video``: ``none``; ``small`` (one video in every syntax, each a few
    hundred bytes); ``body`` (a microdata item on ``<body>``, so the item is
    the whole page: the worst case for parsing); ``dense`` (10,000 microdata
    items, whatever ``megabytes``).
    """
    if video == "dense":
        return dense_pages()["microdata items"](10_000)
    head = "<html><head><title>big</title>"
    if video != "none":
        head += ('<meta property="og:video" content="https://example.org/v.mp4">'
                 '<script type="application/ld+json">{"@type": "VideoObject", "name": "v", '
                 '"contentUrl": "https://example.org/v.mp4"}</script>')
    body = "</head><body>"
    if video == "small":
        body += ('<div itemscope itemtype="https://schema.org/VideoObject">'
                 '<meta itemprop="name" content="v"></div>')
    elif video == "body":
        body = ('</head><body itemscope itemtype="https://schema.org/VideoObject">'
                '<meta itemprop="name" content="v">')
    filler = "<p>Lorem ipsum dolor sit amet, <a href='/x'>consectetur</a> adipiscing.</p>\n"
    count = megabytes * 1_000_000 // len(filler)
    return head + body + filler * count + "</body></html>"


def _status_mb(field: str) -> float:
    """A ``/proc/self/status`` memory figure (``VmRSS``, ``VmHWM``) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_child(megabytes: int, video: str) -> None:
    """Run in a fresh process: print the peak RSS one extract() call adds (MB).

    The page is built first; the kernel's high-water mark is then reset
    (``/proc/self/clear_refs``), so building the page does not hide the call's peak.
    """
    name, run = harvester_runner()
    page = synthetic_page(megabytes, video).encode()
    run(b"<p>warm-up</p>")  # imports and compiled patterns are not the page's cost
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    before = _status_mb("VmRSS")
    start = time.perf_counter()
    found = run(page)
    seconds = time.perf_counter() - start
    peak = _status_mb("VmHWM")
    print(json.dumps({"rss_growth_mb": peak - before, "page_mb": len(page) / 1e6,
                      "seconds": seconds, "records": len(found), "contender": name}))


def memory_report(megabytes: int) -> None:
    print(f"\npeak memory, one synthetic {megabytes} MB page "
          "(peak RSS the call adds above the page itself)")
    for label, video in MEMORY_CASES.items():
        proc = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(megabytes), "--video", video],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            print(f"  {label}: child failed: {proc.stderr.strip()[-300:]}")
            continue
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"  {label:<40}: +{res['rss_growth_mb']:>4.0f} MB "
              f"({res['rss_growth_mb'] / res['page_mb']:.1f}x the page), "
              f"{res['seconds']:.2f} s, {res['records']} records")


def dense_pages() -> dict[str, Callable[[int], str]]:
    sys.path.insert(0, str(REPO))
    from tests.support.dense import DENSE

    return DENSE


def dense_report(counts: Sequence[int], runs: int) -> None:
    """harvester's whole extraction against extruct's parse on pages dense with videos."""
    name, ours = harvester_runner()
    theirs = extruct_runner()
    print(f"\ndense pages (bytes in), best of {runs}")
    print(f"{'page':<28} {'MB':>5} {'harvester':>10} {'extruct':>9} {'ratio':>6} "
          f"{'videos found':>13}")
    for shape, make in dense_pages().items():
        for count in counts:
            page = make(count).encode()
            best = best_times({name: ours, "extruct": theirs}, [page], runs)
            found = len(ours(page))
            print(f"{f'{count:,} {shape}':<28} {len(page) / 1e6:>5.2f} "
                  f"{best[name] * 1000:>7.0f} ms {best['extruct'] * 1000:>6.0f} ms "
                  f"{best[name] / best['extruct']:>5.1f}x {found:>6,}/{count:,}")
    print("\nbare ItemList: only the steps every record of it needs (the parse, its node's "
          "JSON,\none regular expression per URL, date and duration, a hashed id, a tuple)")
    for count in counts:
        page = dense_pages()["ItemList"](count).encode()
        best = best_times({"bare": bare_item_list, "extruct": theirs}, [page], runs)
        print(f"{f'{count:,} ItemList, bare':<28} {len(page) / 1e6:>5.2f} "
              f"{best['bare'] * 1000:>7.0f} ms {best['extruct'] * 1000:>6.0f} ms "
              f"{best['bare'] / best['extruct']:>5.1f}x {len(bare_item_list(page)):>6,}/{count:,}")


_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?:/[A-Za-z0-9._~!$&'()*+,;=:@/%-]*)?")
_PLAIN_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(?:Z|[+-][0-9]{2}:[0-9]{2})")
_PLAIN_DURATION = re.compile(r"PT(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+S)?")


def bare_item_list(page: Page) -> list[tuple[Any, ...]]:
    """A lower bound for any extraction that keeps harvester's record of each video of
    the dense ItemList page: no repair, normalisation, findings or duplicate links,
    and the page's layout assumed (one script, ``itemListElement[].item``)."""
    text = page.decode("utf-8") if isinstance(page, bytes) else page
    body = text[text.index(">", text.index("<script")) + 1:text.rindex("</script>")]
    records = []
    for i, member in enumerate(json.loads(body)["itemListElement"]):
        node = member["item"]
        valid = bool(_PLAIN_URL.fullmatch(node["contentUrl"])
                     and _PLAIN_URL.fullmatch(node["thumbnailUrl"])
                     and _PLAIN_DATE.fullmatch(node["uploadDate"])
                     and _PLAIN_DURATION.fullmatch(node["duration"]))
        key = f"page\njson-ld|url:{node['contentUrl']}\n0".encode()
        records.append((hashlib.sha256(key).hexdigest()[:16], _COMPACT_JSON(node), node,
                        f"/itemListElement/{i}/item", valid))
    return records


_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"),
                                 check_circular=False).encode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=Path, default=CORPUS / "pages")
    parser.add_argument("--labels", type=Path, nargs="+",
                        default=[CORPUS / "expected-dev.json", TEST_LABELS])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mb", type=int, default=50, help="size of the synthetic page")
    parser.add_argument("--text", action="store_true",
                        help="hand every contender decoded text instead of the page's bytes")
    parser.add_argument("--dense", type=int, nargs="*", default=[1000, 10_000],
                        help="videos per dense page (none: skip the dense table)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory report")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--video", choices=sorted(set(MEMORY_CASES.values())), default="none",
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child, args.video)
        return 0
    if not args.pages.is_dir():
        print(f"bench: no pages at {args.pages}; pass --pages DIR", file=sys.stderr)
        return 2
    warnings.simplefilter("ignore")
    files = sorted(p for p in args.pages.iterdir() if p.suffix in (".html", ".htm"))
    texts: dict[str, Page] = {
        p.name: decode(p.read_bytes()) if args.text else p.read_bytes() for p in files}
    print("pages handed over as " + ("decoded text" if args.text else "bytes"))
    name, ours = harvester_runner()
    runners = {name: ours, "yt-dlp _search_json_ld": ytdlp_runner(),
               "extruct (ld+md+og)": extruct_runner()}
    table("all pages", list(texts.values()), runners, args.runs)
    quiet_files = no_video_files(args.labels)
    quiet = [texts[f] for f in sorted(quiet_files) if f in texts]
    if quiet:
        table("no-video pages", quiet, runners, args.runs)
        loud = [t for f, t in texts.items() if f not in quiet_files]
        table("video pages only", loud, runners, args.runs)
    if args.dense:
        dense_report(args.dense, args.runs)
    if not args.no_memory:
        memory_report(args.mb)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
