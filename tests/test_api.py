import importlib
import subprocess
import sys

import resurv


def test_every_export_resolves():
    for name in resurv.__all__:
        assert getattr(resurv, name) is not None, name


def test_unknown_attribute_names_itself():
    try:
        resurv.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_is_light():
    """``import resurv`` (and so ``resurv --help``) must not import PyMC."""
    code = "import sys, resurv; print('pymc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert importlib.import_module("resurv").__version__ == "0.1.0"
