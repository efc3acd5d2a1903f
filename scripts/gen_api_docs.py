"""Regenerate docs/api.md from the OpenAPI document: ``python scripts/gen_api_docs.py``."""

from __future__ import annotations

from pathlib import Path

from earnest.api.docs import render

TARGET = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def main() -> None:
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
