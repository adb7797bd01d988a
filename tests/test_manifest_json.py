"""The manifest's JSON pieces are the json module's indented text, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.config import Config
from harvester.pipeline.run import harvest
from harvester.store.manifest import json_pieces, to_json
from tests.support.warcgen import GenPage, corpus_pages, warc_bytes

_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats()
            | st.text(max_size=8) | st.tuples(st.integers()))
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=6), _VALUES, max_size=5), st.lists(_VALUES, max_size=8))
def test_pieces_are_the_json_modules_text(doc: dict[str, Any], pages: list[Any]) -> None:
    for obj in ({**doc, "pages": pages}, pages, doc):
        assert "".join(json_pieces(obj)) == to_json(obj)


def test_a_run_manifest_is_written_as_the_json_module_writes_it(tmp_path: Path) -> None:
    pages = [*corpus_pages(12, min_size=2000, max_size=3000, video_every=3),
             GenPage(url="https://news.example/\u00e9t\u00e9?q=\"x\"\n", body=b"<p>\xff</p>")]
    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(warc_bytes(pages))
    members = [warc_bytes([p]) for p in pages[:3]]
    damaged = tmp_path / "damaged.warc.gz"
    damaged.write_bytes(members[0] + members[1][:60] + members[2])
    document = harvest([str(path), str(damaged)], Config(output=None)).to_dict()
    assert document["videos"] and any(p["error"] for p in document["pages"])
    text = "".join(json_pieces(document))
    assert text == to_json(document)
    assert json.loads(text) == json.loads(to_json(document))
