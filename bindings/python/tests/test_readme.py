"""The root README's Python example runs as written (in a fresh directory)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_python_example_runs(tmp_path):
    text = README.read_text()
    section = text[text.index("## Use it from Python") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "no python block in the README's Python section"
    out = subprocess.run([sys.executable, "-c", code.group(1)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    version, rest = out.stdout.strip().split(" ", 1)
    assert version == "1"
    assert rest.startswith("The user drinks green tea every morning")
    assert rest.endswith(" 1")
