"""Tests of tsrnn.io: the pickle-free model file format (round trips and every kind of damage)."""

import json
import os
import pickle
import re
import zipfile

import numpy as np
import pytest

import tsrnn.io as tio
from tsrnn.io import (FORMAT_VERSION, ModelFileError, load, load_state, network_from_state,
                      network_to_state, register_kind, save_state, to_jsonable)
from tsrnn.nn import Network


# ------------------------------------------------------------------ helpers
def _demo_file(tmp_path, name="demo.tsrnn"):
    arrays = {"w": np.arange(20.0), "mask": np.array([True, False, True])}
    return save_state(tmp_path / name, "Demo", {"window": 3, "note": "x"}, arrays)


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info.filename) for info in zf.infolist()}


def _rewrite(path, members):
    """Re-pack edited members and re-seal the file (what a careful tamperer would do)."""
    path.write_bytes(tio._pack(members))


def _edit_json(path, edit, update_hash=True):
    members = _members(path)
    doc = json.loads(members[tio.JSON_MEMBER])
    edit(doc)
    payload = json.dumps(doc).encode()
    members[tio.JSON_MEMBER] = payload
    if update_hash:
        members[tio.HASH_MEMBER] = tio._sha256(payload).encode()
    _rewrite(path, members)


def _data_offset(path, member):
    """Offset in the file of the first byte of ``member``'s compressed data."""
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    start = info.header_offset
    name_len = int.from_bytes(raw[start + 26:start + 28], "little")
    extra_len = int.from_bytes(raw[start + 28:start + 30], "little")
    return start + 30 + name_len + extra_len, info.compress_size


def _no_temp_files(directory):
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")] == []


# --------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cell, kwargs", [("lstm", {}), ("gru", {"num_layers": 2, "output_size": 2}),
                                          ("elman", {"nonlinearity": "relu",
                                                     "return_sequences": True})])
def test_network_round_trip(tmp_path, dtype, cell, kwargs):
    net = Network(input_size=2, hidden_size=3, cell=cell, dtype=dtype, random_state=1, **kwargs)
    path = save_state(tmp_path / "net.tsrnn", "Network", *network_to_state(net))
    net2 = load(path)
    assert isinstance(net2, Network)
    assert net2.get_config() == net.get_config()
    assert net2.params.dtype == net.params.dtype == np.dtype(dtype)
    assert net2.params.tobytes() == net.params.tobytes()
    X = np.random.default_rng(0).normal(size=(2, 4, 2))
    out, out2 = net.forward(X), net2.forward(X)
    assert out.tobytes() == out2.tobytes()


def test_network_state_functions():
    net = Network(input_size=1, hidden_size=3, cell="gru", dtype="float64", random_state=0)
    meta, arrays = network_to_state(net)
    json.dumps(meta, allow_nan=False)  # JSON-native
    net2 = network_from_state(meta, arrays)
    assert np.array_equal(net2.params, net.params)
    net2.params[0] += 1  # the rebuilt network owns its parameters
    assert net2.params[0] != net.params[0]


def test_arbitrary_arrays_and_meta_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "f64": rng.normal(size=(3, 4)),
        "f32_fortran": np.asfortranarray(rng.normal(size=(2, 3)).astype(np.float32)),
        "f16": np.array([1.5, -2.0], dtype=np.float16),
        "big_endian": np.arange(4, dtype=">f8"),
        "i8": np.array([-128, 0, 127], dtype=np.int8),
        "u16": np.arange(5, dtype=np.uint16),
        "i64_scalar": np.array(7, dtype=np.int64),
        "c128": np.array([1 + 2j, -3j]),
        "bool": np.array([[True, False], [False, True]]),
        "empty": np.zeros((0, 3)),
        "strided": np.arange(10.0)[::3],
        "nan_inf": np.array([np.nan, np.inf, -np.inf, -0.0]),
        "weird name/with ünïcode & spaces": np.ones(2),
        "list_input": [1, 2, 3],
    }
    meta = {"int": np.int64(3), "float": np.float32(0.25), "bool": np.bool_(False),
            "str": np.str_("ünïcode ✓"), "none": None, "tuple": (1, 2.5, "a"),
            "nested": {"deep": [{"x": np.int32(1)}], "empty": {}}, "big": 2 ** 70,
            "float64": 0.1}
    path = save_state(tmp_path / "a.tsrnn", "Anything", meta, arrays)
    kind, meta2, arrays2 = load_state(path)
    assert kind == "Anything"
    assert meta2 == {"int": 3, "float": 0.25, "bool": False, "str": "ünïcode ✓", "none": None,
                     "tuple": [1, 2.5, "a"], "nested": {"deep": [{"x": 1}], "empty": {}},
                     "big": 2 ** 70, "float64": 0.1}
    assert type(meta2["int"]) is int and type(meta2["bool"]) is bool
    assert list(arrays2) == list(arrays)  # order kept
    for name, value in arrays.items():
        value = np.asarray(value)
        got = arrays2[name]
        assert got.dtype == value.dtype and got.shape == value.shape, name
        assert got.tobytes() == np.ascontiguousarray(value).tobytes(), name
        assert got.flags.writeable
    with zipfile.ZipFile(path) as zf:
        doc = json.loads(zf.read(tio.JSON_MEMBER))
    assert doc["magic"] == "tsrnn-model" and doc["format_version"] == FORMAT_VERSION
    assert doc["tsrnn_version"] == __import__("tsrnn").__version__
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$", doc["created"])
    assert doc["arrays"]["big_endian"]["dtype"] == ">f8"
    assert doc["arrays"]["f64"]["shape"] == [3, 4]


def test_empty_state_round_trip(tmp_path):
    path = save_state(str(tmp_path / "e.tsrnn"), "Empty", {}, {})
    assert load_state(path) == ("Empty", {}, {})


# ---------------------------------------------------------------- refusals
def test_object_and_string_arrays_refused(tmp_path):
    with pytest.raises(TypeError, match=r"array 'obj' has dtype object.*never pickles"):
        save_state(tmp_path / "o.tsrnn", "K", {}, {"obj": np.array([{"a": 1}, None], dtype=object)})
    with pytest.raises(TypeError, match=r"array 's' has dtype <U3"):
        save_state(tmp_path / "o.tsrnn", "K", {}, {"s": np.array(["abc"])})
    with pytest.raises(TypeError, match="structured"):
        save_state(tmp_path / "o.tsrnn", "K", {}, {"r": np.zeros(2, dtype=[("a", "f8")])})
    assert list(tmp_path.iterdir()) == []


def test_to_jsonable_errors_name_the_key():
    with pytest.raises(TypeError, match=r"meta\['scaler'\]\['mean'\] is a numpy array.*`arrays`"):
        to_jsonable({"scaler": {"mean": np.zeros(3)}})
    with pytest.raises(TypeError, match=r"meta\['xs'\]\[1\] is a set"):
        to_jsonable({"xs": [1, {2}]})
    with pytest.raises(TypeError, match=r"has the key 1 \(int\); keys .* must be strings"):
        to_jsonable({1: "a"})
    with pytest.raises(ValueError, match=r"meta\['loss'\] is nan; JSON has no NaN"):
        to_jsonable({"loss": np.float64("nan")})
    with pytest.raises(ValueError, match="inf"):
        to_jsonable({"best": float("inf")})
    assert to_jsonable({"curve": [1.0, np.float32("nan"), -np.inf]}, nonfinite="null") == {"curve": [1.0, None, None]}
    with pytest.raises(TypeError, match=r"^model\['a'\] is a numpy array"):
        to_jsonable({"a": np.ones(1)}, where="model")
    with pytest.raises(ValueError, match="nonfinite="):
        to_jsonable({}, nonfinite="drop")


def test_save_state_argument_errors(tmp_path):
    with pytest.raises(TypeError, match="kind must be a non-empty string"):
        save_state(tmp_path / "x", "", {}, {})
    with pytest.raises(TypeError, match="meta must be a dict"):
        save_state(tmp_path / "x", "K", [1], {})
    with pytest.raises(TypeError, match="array names must be non-empty strings"):
        save_state(tmp_path / "x", "K", {}, {3: np.ones(1)})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_state(tmp_path / "missing_dir" / "x", "K", {}, {})
    with pytest.raises(IsADirectoryError):
        save_state(tmp_path, "K", {}, {})


# ------------------------------------------------------------------- damage
def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file"):
        load_state(tmp_path / "nope.tsrnn")
    with pytest.raises(ModelFileError, match="is not a file"):
        load_state(tmp_path)


@pytest.mark.parametrize("frac", [0.0, 0.001, 0.1, 0.33, 0.5, 0.9, 0.99])
def test_truncated_file(tmp_path, frac):
    path = _demo_file(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * frac)])
    with pytest.raises(ModelFileError, match=r"not a (complete )?tsrnn model file"):
        load_state(path)


@pytest.mark.parametrize("cut", [1, 2, 10, 22, 40, 64, 70, 83])
def test_truncated_tail(tmp_path, cut):
    path = _demo_file(tmp_path)
    path.write_bytes(path.read_bytes()[:-cut])
    with pytest.raises(ModelFileError, match="not a tsrnn model file|is truncated"):
        load_state(path)


def test_extra_bytes_appended(tmp_path):
    path = _demo_file(tmp_path)
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(ModelFileError, match="file checksum does not match.*extra bytes"):
        load_state(path)


def test_flipped_bytes_seeded(tmp_path):
    net = Network(input_size=1, hidden_size=3, cell="lstm", random_state=0)
    path = save_state(tmp_path / "net.tsrnn", "Network", *network_to_state(net))
    data = path.read_bytes()
    rng = np.random.default_rng(12345)
    bad = tmp_path / "bad.tsrnn"
    for pos in rng.choice(len(data), size=80, replace=False):
        flipped = bytearray(data)
        flipped[pos] ^= int(rng.integers(1, 256))
        bad.write_bytes(bytes(flipped))
        with pytest.raises(ModelFileError, match=r"corrupted|not a tsrnn model file|tampered"):
            load(bad)


def test_every_single_byte_flip_is_detected(tmp_path):
    # the whole-file seal catches flips even where ZIP itself would not (e.g. timestamps)
    path = _demo_file(tmp_path)
    data = path.read_bytes()
    assert len(data) < 2000
    bad = tmp_path / "bad.tsrnn"
    for pos in range(len(data)):
        flipped = bytearray(data)
        flipped[pos] ^= 0xFF
        bad.write_bytes(bytes(flipped))
        with pytest.raises(ModelFileError):
            load_state(bad)


@pytest.mark.parametrize("member", [tio.JSON_MEMBER, "arrays/000_w.npy", "arrays/001_mask.npy"])
def test_flip_inside_member_names_the_member(tmp_path, member):
    path = _demo_file(tmp_path)
    offset, size = _data_offset(path, member)
    data = bytearray(path.read_bytes())
    # (not the last byte: flipping unused padding bits of a deflate stream changes nothing
    # that ZIP's CRC sees; the whole-file seal still catches it, see the test above)
    for k in (0, size // 3, size // 2):
        flipped = bytearray(data)
        flipped[offset + k] ^= 0x5A
        path.write_bytes(bytes(flipped))
        with pytest.raises(ModelFileError, match=re.escape(repr(member))):
            load_state(path)


def test_not_a_model_file(tmp_path):
    junk = tmp_path / "junk.tsrnn"
    junk.write_bytes(np.random.default_rng(0).bytes(500))
    with pytest.raises(ModelFileError, match=r"junk.tsrnn is not a tsrnn model file \(bad magic/not a zip"):
        load_state(junk)
    junk.write_bytes(b"")
    with pytest.raises(ModelFileError, match="not a tsrnn model file"):
        load_state(junk)
    npz = tmp_path / "arrays.npz"
    np.savez(npz, a=np.ones(3))
    with pytest.raises(ModelFileError, match="not a tsrnn model file"):
        load_state(npz)


def test_zip_rewritten_without_seal_is_refused(tmp_path):
    path = _demo_file(tmp_path)
    members = _members(path)
    with zipfile.ZipFile(path, "w") as zf:  # plain re-zip: valid ZIP, but no tsrnn seal
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(ModelFileError, match="bad magic"):
        load_state(path)


def test_wrong_magic_in_json(tmp_path):
    path = _demo_file(tmp_path)
    _edit_json(path, lambda doc: doc.update(magic="not-tsrnn"))
    with pytest.raises(ModelFileError, match="wrong magic 'not-tsrnn' in tsrnn.json"):
        load_state(path)


@pytest.mark.parametrize("drop_hash", [False, True])
def test_newer_format_version(tmp_path, drop_hash):
    path = _demo_file(tmp_path)
    _edit_json(path, lambda doc: doc.update(format_version=FORMAT_VERSION + 1,
                                            tsrnn_version="9.0"))
    if drop_hash:  # a future format may lay out its members differently
        members = _members(path)
        del members[tio.HASH_MEMBER]
        _rewrite(path, members)
    with pytest.raises(ModelFileError,
                       match=rf"saved by a newer tsrnn \(tsrnn 9.0, format {FORMAT_VERSION + 1}\).*upgrade tsrnn"):
        load_state(path)


@pytest.mark.parametrize("version", [0, "1", True, None])
def test_invalid_format_version(tmp_path, version):
    path = _demo_file(tmp_path)
    _edit_json(path, lambda doc: doc.update(format_version=version))
    with pytest.raises(ModelFileError, match="invalid format_version"):
        load_state(path)


def test_tampered_metadata_without_hash_update(tmp_path):
    path = _demo_file(tmp_path)
    _edit_json(path, lambda doc: doc["meta"].update(window=99), update_hash=False)
    with pytest.raises(ModelFileError, match="tampered or corrupted metadata.*sha256 of 'tsrnn.json'"):
        load_state(path)


@pytest.mark.parametrize("member", [tio.JSON_MEMBER, tio.HASH_MEMBER, "arrays/001_mask.npy"])
def test_missing_member(tmp_path, member):
    path = _demo_file(tmp_path)
    members = _members(path)
    del members[member]
    _rewrite(path, members)
    with pytest.raises(ModelFileError, match=rf"member {re.escape(repr(member))} .* is missing"):
        load_state(path)


def test_array_replaced_with_valid_npy_fails_checksum(tmp_path):
    path = _demo_file(tmp_path)
    members = _members(path)
    import io
    buf = io.BytesIO()
    np.save(buf, np.arange(20.0) + 1)
    members["arrays/000_w.npy"] = buf.getvalue()
    _rewrite(path, members)
    with pytest.raises(ModelFileError, match=r"checksum mismatch in member 'arrays/000_w.npy' \(array 'w'\)"):
        load_state(path)


@pytest.mark.parametrize("field, value, message", [
    ("shape", [21], r"array 'w' has dtype <f8 and shape \(20,\), but the manifest says <f8 and \(21,\)"),
    ("dtype", "<f4", r"array 'w' has dtype <f8 .* manifest says <f4"),
    ("dtype", "|O", r"only numeric and boolean arrays are allowed"),
    ("shape", [-1], r"invalid shape"),
    ("sha256", "xyz", r"invalid sha256"),
])
def test_manifest_disagrees_with_array(tmp_path, field, value, message):
    path = _demo_file(tmp_path)
    _edit_json(path, lambda doc: doc["arrays"]["w"].update({field: value}))
    with pytest.raises(ModelFileError, match=message):
        load_state(path)


def test_pickle_is_never_used(tmp_path, monkeypatch):
    net = Network(input_size=1, hidden_size=3, cell="gru", dtype="float64", random_state=0)
    calls = []

    def forbidden(*args, **kwargs):
        calls.append(args)
        raise AssertionError("pickle must not be used")

    import io
    pickled = io.BytesIO()
    np.save(pickled, np.array([1, "a"], dtype=object), allow_pickle=True)
    pickled = pickled.getvalue()

    for name in ("loads", "load", "dumps", "dump"):
        monkeypatch.setattr(pickle, name, forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)

    real_read, real_save = np.lib.format.read_array, np.save

    def read_array(fp, allow_pickle=False, **kwargs):
        assert allow_pickle is False
        return real_read(fp, allow_pickle=False, **kwargs)

    def save(file, arr, allow_pickle=True, **kwargs):
        assert allow_pickle is False
        return real_save(file, arr, allow_pickle=False, **kwargs)

    monkeypatch.setattr(np.lib.format, "read_array", read_array)
    monkeypatch.setattr(np, "save", save)
    monkeypatch.setattr(np, "load", forbidden)  # not even the allow_pickle=False front door

    path = save_state(tmp_path / "net.tsrnn", "Network", *network_to_state(net))
    assert np.array_equal(load(path).params, net.params)

    # a crafted member holding a pickled object array is refused without unpickling
    members = _members(path)
    doc = json.loads(members[tio.JSON_MEMBER])
    member = doc["arrays"]["params"]["member"]
    members[member] = pickled
    doc["arrays"]["params"]["sha256"] = tio._sha256(pickled)
    members[tio.JSON_MEMBER] = json.dumps(doc).encode()
    members[tio.HASH_MEMBER] = tio._sha256(members[tio.JSON_MEMBER]).encode()
    _rewrite(path, members)
    with pytest.raises(ModelFileError, match="is not a valid .npy array"):
        load(path)
    assert calls == []


# ----------------------------------------------------------------- registry
def test_unknown_kind(tmp_path):
    path = save_state(tmp_path / "u.tsrnn", "FancyModel", {}, {})
    with pytest.raises(ModelFileError, match=r"kind 'FancyModel', which this tsrnn cannot load.*register_kind"):
        load(path)


def test_register_kind(tmp_path, monkeypatch):
    monkeypatch.setattr(tio, "_REGISTRY", dict(tio._REGISTRY))
    register_kind("Pair", lambda meta, arrays: (meta["a"], arrays["x"].sum()))
    path = save_state(tmp_path / "p.tsrnn", "Pair", {"a": 1}, {"x": np.ones(3)})
    assert load(path) == (1, 3.0)

    register_kind("Pair", "tsrnn.io:network_from_state")  # replaced, imported lazily
    net = Network(input_size=1, hidden_size=3, random_state=0)
    path = save_state(tmp_path / "n.tsrnn", "Pair", *network_to_state(net))
    assert isinstance(load(path), Network)

    def broken(meta, arrays):
        raise ValueError("needs key 'b'")

    register_kind("Pair", broken)
    with pytest.raises(ModelFileError, match=r"holds a Pair that could not be rebuilt \(ValueError: needs key 'b'\)"):
        load(path)
    register_kind("Pair", "no_such_module_xyz:f")
    with pytest.raises(ImportError, match="no_such_module_xyz.f, which could not be imported"):
        load(path)
    with pytest.raises(ValueError, match="module:function"):
        register_kind("Bad", "no_colon")
    with pytest.raises(TypeError, match="callable"):
        register_kind("Bad", 3)


def test_builtin_kinds_are_lazy():
    assert tio._REGISTRY["RNNForecaster"] == "tsrnn.forecast:_from_state" or callable(tio._REGISTRY["RNNForecaster"])
    assert set(tio._REGISTRY) >= {"RNNForecaster", "RNNAnomalyDetector", "RNNRegressor", "Network"}


def test_network_state_mismatches(tmp_path):
    net = Network(input_size=1, hidden_size=3, cell="gru", random_state=0)
    meta, arrays = network_to_state(net)
    path = save_state(tmp_path / "n.tsrnn", "Network", meta, {"params": arrays["params"][:-1]})
    with pytest.raises(ModelFileError, match=r"params of shape \(\d+,\), but its configuration needs"):
        load(path)
    path = save_state(tmp_path / "n.tsrnn", "Network", meta, {"params": arrays["params"].astype(np.float64)})
    with pytest.raises(ModelFileError, match="dtype float64, but its configuration says float32"):
        load(path)
    path = save_state(tmp_path / "n.tsrnn", "Network", meta, {})
    with pytest.raises(ModelFileError, match="'params', which is missing"):
        load(path)
    path = save_state(tmp_path / "n.tsrnn", "Network", {**meta, "future_option": 1}, arrays)
    with pytest.raises(ModelFileError, match=r"could not be rebuilt \(TypeError: .*future_option"):
        load(path)


# ------------------------------------------------------------ atomic writes
def test_atomic_write_leaves_no_temp_files(tmp_path):
    path = _demo_file(tmp_path)
    first = path.read_bytes()
    path2 = save_state(path, "Demo", {"window": 4}, {"w": np.zeros(2)})  # overwrite
    assert path2 == path and path.read_bytes() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.tsrnn"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_failed_write_keeps_old_file_and_cleans_up(tmp_path, monkeypatch):
    path = _demo_file(tmp_path)
    before = path.read_bytes()

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        save_state(path, "Demo", {}, {"w": np.ones(3)})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.tsrnn"]
    assert _no_temp_files(tmp_path)
