"""Folders of the reconstruction tests' data (relative to the repository root)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "reference"
CURVES = ROOT / "tests" / "fixtures" / "curves"
