"""Write the student submissions declared in ``expected.toml`` to disk.

A submission is either a folder next to this file (``complete/``) or a variant: a
``base`` submission plus exact string ``edits`` (each ``old`` must occur exactly once
in its file, so a stale edit fails loudly instead of silently changing nothing).

    from materialize import load_expectations, materialize
    folder = materialize("ann_extra_dropout", tmp_path / "ann_extra_dropout")

Standard library only.
"""
from __future__ import annotations

import pathlib
import tomllib

HERE = pathlib.Path(__file__).resolve().parent
EXPECTED = HERE / "expected.toml"


def load_expectations() -> dict:
    """The parsed ``expected.toml``: submission name -> its table (about, scores, ...)."""
    with EXPECTED.open("rb") as f:
        return tomllib.load(f)


def _files(name: str, expectations: dict, seen: tuple = ()) -> dict[str, str]:
    """File name -> source text of submission ``name``, with its base and edits resolved."""
    if name in seen:
        raise ValueError(f"submission {name!r}: circular base chain {' -> '.join(seen + (name,))}")
    if name not in expectations:
        raise KeyError(f"no submission {name!r} in {EXPECTED.name}; known: {sorted(expectations)}")
    entry = expectations[name]
    folder = HERE / name
    if "base" in entry:
        files = _files(entry["base"], expectations, seen + (name,))
    elif folder.is_dir():
        files = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.py"))}
    else:
        raise ValueError(f"submission {name!r} has neither a base nor a folder {folder}")
    for i, edit in enumerate(entry.get("edits", [])):
        file, old, new = edit["file"], edit["old"], edit["new"]
        if file not in files:
            raise ValueError(f"submission {name!r}, edit {i}: no file {file!r} in its base")
        count = files[file].count(old)
        if count != 1:
            raise ValueError(f"submission {name!r}, edit {i}: the old text occurs {count} times "
                             f"in {file} (expected exactly once):\n{old}")
        files[file] = files[file].replace(old, new)
    return files


def materialize(name: str, dest: pathlib.Path) -> pathlib.Path:
    """Write submission ``name``'s files into ``dest`` (created if needed); return ``dest``.

    Raises ``KeyError`` for an unknown name and ``ValueError`` when an edit's ``old``
    text does not occur exactly once in its file.
    """
    files = _files(name, load_expectations())
    dest = pathlib.Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for file, text in files.items():
        (dest / file).write_text(text, encoding="utf-8")
    return dest


if __name__ == "__main__":
    import sys
    import tempfile

    # Check that every submission materializes: python tests/submissions/materialize.py
    with tempfile.TemporaryDirectory() as tmp:
        for sub in load_expectations():
            written = sorted(p.name for p in materialize(sub, pathlib.Path(tmp) / sub).iterdir())
            print(f"{sub}: {', '.join(written)}")
    sys.exit(0)
