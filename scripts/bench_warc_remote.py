"""How fast one WARC file is read from a local disk, over http(s) and from S3.

Builds one gzip WARC of generated article pages, then reads all its pages
(read only, no extraction) three ways, taking turns, best of ``--rounds``:

* local: the file on disk;
* http: through harvester's network layer from a Range-capable server on
  127.0.0.1, in 8 MiB Range requests (``harvester.inputs.remote.HttpFile``);
* s3: through fsspec and s3fs from moto's S3 server on 127.0.0.1.

Prints MB/s and each way's time as a ratio of the local one.  Loopback has no
latency to speak of, so the ratio is the cost of the layers, not of a network.

    python scripts/bench_warc_remote.py --pages 3000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harvester.config import Config
from harvester.inputs.remote import Remote
from harvester.inputs.warc import WarcReader
from harvester.net.client import open_session
from tests.support.rangefiles import RangeFiles
from tests.support.server import LoopbackServer
from tests.support.warcgen import corpus_pages, write_warc


def read_all(path: str, opener: Callable[..., object] | None = None) -> int:
    """Bytes of every page body in the WARC at ``path``."""
    reader = WarcReader(path) if opener is None else WarcReader(path, opener=opener)  # type: ignore[arg-type]
    return sum(len(page.body) for page in reader.pages())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})
    import boto3
    from moto.server import ThreadedMotoServer

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.warc.gz"
        write_warc(path, corpus_pages(args.pages, min_size=8000, max_size=16000))
        data = path.read_bytes()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        host, port = moto.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="bench.warc.gz", Body=data)
        config = Config(storage_options=(f"endpoint_url={endpoint}",))
        with LoopbackServer() as server, open_session(config) as session:
            RangeFiles({"/bench.warc.gz": data}).serve(server)
            remote = Remote(config, session)
            ways = {"local": lambda: read_all(str(path)),
                    "http": lambda: read_all(server.url("/bench.warc.gz"), remote.open_warc),
                    "s3": lambda: read_all("s3://bench/bench.warc.gz", remote.open_warc)}
            best = {name: float("inf") for name in ways}
            for _ in range(args.rounds):
                for name, way in ways.items():
                    started = time.perf_counter()
                    assert way() > 0
                    best[name] = min(best[name], time.perf_counter() - started)
        moto.stop()
    size = len(data) / 1e6
    print(f"one WARC: {args.pages} pages, {size:.1f} MB gzipped; best of {args.rounds}")
    for name, seconds in best.items():
        print(f"{name:6} {seconds:6.2f} s  {size / seconds:6.1f} MB/s  "
              f"{seconds / best['local']:.2f}x local")


if __name__ == "__main__":
    main()
