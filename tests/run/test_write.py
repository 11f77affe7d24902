"""The results folder's posterior stores: the files DataTree.to_zarr writes, written faster."""

import warnings

import numpy as np
import pytest
import xarray as xr

from resurv.run.write import _write_zarr


def _tree() -> xr.DataTree:
    rng = np.random.default_rng(5)
    posterior = xr.Dataset(
        {
            "log_hr": (("chain", "draw", "comparison"), rng.normal(size=(2, 50, 1))),
            "hazard": (("chain", "draw", "arm"), rng.gamma(2.0, size=(2, 50, 2))),
        },
        coords={
            "chain": [0, 1],
            "draw": np.arange(50),
            "arm": np.array(["a", "b"], object),
            "comparison": np.array(["b"], object),
        },  # fmt: skip
        attrs={"creation_library": "ArviZ", "sample_dims": ["chain", "draw"]},
    )
    message = np.full((2, 50), None, object)
    message[1, 7] = "divergence"
    stats = xr.Dataset(
        {
            "diverging": (("chain", "draw"), message != None),  # noqa: E711 - elementwise
            "depth": (("chain", "draw"), rng.integers(1, 5, size=(2, 50)).astype(np.uint64)),
            "divergence_message": (("chain", "draw"), message),
        },
        coords={"chain": [0, 1], "draw": np.arange(50)},
    )
    data = xr.Dataset({"counts": (("row", "column"), rng.integers(0, 9, size=(3, 4)))})
    return xr.DataTree.from_dict(
        {"posterior": posterior, "sample_stats": stats, "constant_data": data}
    )


def test_a_posterior_store_holds_the_files_to_zarr_writes(tmp_path):
    tree = _tree()
    with warnings.catch_warnings():  # zarr's note on consolidated metadata
        warnings.simplefilter("ignore", UserWarning)
        tree.to_zarr(tmp_path / "reference.zarr")
    _write_zarr(tree, tmp_path / "written.zarr")

    def files(root):
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    reference, written = files(tmp_path / "reference.zarr"), files(tmp_path / "written.zarr")
    assert sorted(written) == sorted(reference) and len(written) > 20
    for name, data in reference.items():
        assert written[name] == data, name
    back = xr.open_datatree(tmp_path / "written.zarr", engine="zarr").load()
    for group in ("posterior", "sample_stats", "constant_data"):
        xr.testing.assert_equal(back[group].to_dataset(), tree[group].to_dataset())


def test_a_posterior_store_is_never_written_over(tmp_path):
    (tmp_path / "fit.zarr").mkdir()
    with pytest.raises(FileExistsError, match="fit.zarr exists"):
        _write_zarr(_tree(), tmp_path / "fit.zarr")
