"""Saving and loading fitted models: a versioned, pickle-free file format.

A tsrnn model file is a ZIP archive (deflate) holding

``tsrnn.json``
    UTF-8 JSON metadata: ``magic`` (``"tsrnn-model"``), ``format_version``
    (int), ``kind`` (``"RNNForecaster"``, ``"Network"``, ...), ``tsrnn_version``,
    ``created`` (ISO 8601, UTC), ``meta`` (the caller's JSON-native dict) and
    ``arrays``, a manifest ``name -> {member, dtype, shape, sha256}``.
``tsrnn.sha256``
    The hex SHA-256 of the ``tsrnn.json`` bytes (tampered metadata is detected).
``arrays/NNN_<name>.npy``
    One ``.npy`` file per array (numeric or boolean dtypes only), written and
    read with ``allow_pickle=False``; its SHA-256 is in the manifest.

The archive comment is ``"tsrnn-model sha256:"`` followed by the hex SHA-256 of
every byte of the file before those 64 digits (a seal over the whole file, ZIP
headers included), so that any flipped or missing byte is detected even where
the ZIP format itself would not notice.

Nothing is ever unpickled: loading a file from an untrusted source cannot run
code.  Every way a file can be damaged (truncation, flipped bytes, missing
members, edited metadata, a newer format, a file that is not a model at all)
raises :class:`ModelFileError` (a :class:`ValueError`) with a message that
names the problem.

Invariants kept by every future format version, so that an old tsrnn can say
"upgrade" instead of "corrupted": the file is a ZIP archive whose comment
starts with ``"tsrnn-model"`` and whose ``tsrnn.json`` member is a JSON object
with ``magic`` and ``format_version``.

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> from tsrnn.io import save_state, load_state
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = save_state(os.path.join(tmp, "m.tsrnn"), "Demo", {"window": 3},
...                       {"w": np.arange(3.0)})
...     kind, meta, arrays = load_state(path)
>>> kind, meta, arrays["w"]
('Demo', {'window': 3}, array([0., 1., 2.]))
"""

from __future__ import annotations

import hashlib
import io as _io
import json
import numbers
import os
import re
import tempfile
import zipfile
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib import import_module
from pathlib import Path

import numpy as np

__all__ = [
    "FORMAT_VERSION",
    "ModelFileError",
    "load",
    "load_state",
    "network_from_state",
    "network_to_state",
    "register_kind",
    "save_state",
    "to_jsonable",
]

#: version of the file format written by this tsrnn; files with a larger
#: version are refused with a request to upgrade.
FORMAT_VERSION = 1

MAGIC = "tsrnn-model"
JSON_MEMBER = "tsrnn.json"
HASH_MEMBER = "tsrnn.sha256"
_SEAL_PREFIX = b"tsrnn-model sha256:"
_SEAL_LEN = len(_SEAL_PREFIX) + 64
_HEX64 = re.compile(rb"[0-9a-f]{64}")
_HEX64_STR = re.compile(r"[0-9a-f]{64}")
#: numeric and boolean dtype kinds accepted for arrays
_ARRAY_KINDS = "biufc"


class ModelFileError(ValueError):
    """A file is not a readable tsrnn model (corrupted, truncated, tampered, too new, ...)."""


# ------------------------------------------------------------------ helpers
def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def to_jsonable(obj, *, nonfinite="raise", where="meta"):
    """Copy of ``obj`` made of JSON-native values only.

    NumPy integer, floating, boolean and string scalars become ``int``,
    ``float``, ``bool`` and ``str``; tuples become lists; dict keys must be
    strings.  Arrays are refused (store them in ``arrays``), as are other
    objects.

    Parameters
    ----------
    obj : dict, list, scalar
    nonfinite : {"raise", "null"}, default "raise"
        What to do with NaN and infinite floats, which JSON cannot hold:
        raise, or store ``None`` (lossy; e.g. for a loss curve of a diverged fit).
    where : str
        Name of ``obj`` in error messages.

    Raises
    ------
    TypeError
        For a value that has no JSON form; the message names its key.
    ValueError
        For NaN or infinite floats with ``nonfinite="raise"``.

    Examples
    --------
    >>> import numpy as np
    >>> to_jsonable({"n": np.int64(3), "x": np.float32(0.5), "ok": np.bool_(True), "t": (1, 2)})
    {'n': 3, 'x': 0.5, 'ok': True, 't': [1, 2]}
    >>> to_jsonable({"curve": [0.5, float("nan")]}, nonfinite="null")
    {'curve': [0.5, None]}
    >>> to_jsonable({"w": np.zeros(2)})
    Traceback (most recent call last):
    ...
    TypeError: meta['w'] is a numpy array; arrays cannot go into the JSON metadata, pass them in `arrays` instead
    """
    if nonfinite not in ("raise", "null"):
        raise ValueError(f"nonfinite={nonfinite!r}; use 'raise' or 'null'")
    return _jsonable(obj, where, nonfinite == "null")


def _jsonable(obj, where, null_nonfinite):
    if obj is None or isinstance(obj, (bool, np.bool_)):
        return None if obj is None else bool(obj)
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        value = float(obj)
        if not np.isfinite(value):
            if null_nonfinite:
                return None
            raise ValueError(f"{where} is {value!r}; JSON has no NaN or infinity: store a "
                             f"finite value or None, put it in an array, or pass "
                             f"nonfinite='null'")
        return value
    if isinstance(obj, np.ndarray):
        raise TypeError(f"{where} is a numpy array; arrays cannot go into the JSON metadata, "
                        f"pass them in `arrays` instead")
    if isinstance(obj, Mapping):
        out = {}
        for key, value in obj.items():
            if isinstance(key, np.str_):
                key = str(key)
            if not isinstance(key, str):
                raise TypeError(f"{where} has the key {key!r} ({type(key).__name__}); "
                                f"keys of the JSON metadata must be strings")
            out[key] = _jsonable(value, f"{where}[{key!r}]", null_nonfinite)
        return out
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]", null_nonfinite) for i, v in enumerate(obj)]
    raise TypeError(f"{where} is a {type(obj).__name__} ({obj!r:.80}), which has no JSON form; "
                    f"convert it to str/int/float/bool/None/list/dict first")


def _check_array(name, value) -> np.ndarray:
    if not isinstance(name, str) or not name:
        raise TypeError(f"array names must be non-empty strings, got {name!r}")
    arr = np.asarray(value)
    if arr.dtype.kind not in _ARRAY_KINDS or arr.dtype.fields is not None:
        raise TypeError(f"array {name!r} has dtype {arr.dtype} (kind {arr.dtype.kind!r}); only "
                        f"numeric and boolean arrays can be saved (object, string, structured "
                        f"and datetime arrays are refused: the format never pickles)")
    return arr


def _member_name(index: int, name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.\-]", "_", name)[:64]
    return f"arrays/{index:03d}_{safe}.npy"


def _pack(members: Mapping[str, bytes], date_time=None) -> bytes:
    """ZIP archive of ``members`` (name -> bytes) closed by the whole-file seal."""
    if date_time is None:
        date_time = datetime.now().timetuple()[:6]
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
        zf.comment = _SEAL_PREFIX + b"0" * 64
    data = buf.getvalue()
    assert data.endswith(_SEAL_PREFIX + b"0" * 64)
    body = data[:-64]
    return body + _sha256(body).encode("ascii")


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _atomic_write(path: Path, data: bytes) -> None:
    directory = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ---------------------------------------------------------------- writing
def save_state(path, kind: str, meta: Mapping, arrays: Mapping) -> Path:
    """Write a model file holding JSON metadata and named arrays.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; written atomically (a temporary file in the same
        directory, then :func:`os.replace`), so a reader never sees half a file
        and a failed write leaves an existing file untouched.
    kind : str
        What the file holds (``"RNNForecaster"``, ``"Network"``, ...): the key
        :func:`load` dispatches on.
    meta : dict
        JSON-native metadata (see :func:`to_jsonable`; NumPy scalars are
        converted, arrays refused).
    arrays : dict of str -> ndarray
        Numeric or boolean arrays; object arrays are refused.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = save_state(os.path.join(tmp, "a.tsrnn"), "Demo", {}, {"x": np.ones(2, np.float32)})
    ...     print(p.name, sorted(os.listdir(tmp)))
    a.tsrnn ['a.tsrnn']
    """
    from tsrnn import __version__

    path = Path(os.fspath(path))
    if not isinstance(kind, str) or not kind:
        raise TypeError(f"kind must be a non-empty string such as 'RNNForecaster', got {kind!r}")
    if not isinstance(meta, Mapping):
        raise TypeError(f"meta must be a dict of JSON-native values, got {type(meta).__name__}")
    if not isinstance(arrays, Mapping):
        raise TypeError(f"arrays must be a dict of name -> ndarray, got {type(arrays).__name__}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; pass a file name such as {path / 'model.tsrnn'}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot save to {path}: the directory {path.parent} does not exist")

    json_meta = to_jsonable(meta)
    members: dict[str, bytes] = {}
    manifest = {}
    for index, (name, value) in enumerate(arrays.items()):
        arr = _check_array(name, value)
        buf = _io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        raw = buf.getvalue()
        member = _member_name(index, name)
        members[member] = raw
        manifest[name] = {"member": member, "dtype": arr.dtype.str, "shape": list(arr.shape),
                          "sha256": _sha256(raw)}
    doc = {
        "magic": MAGIC,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "tsrnn_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "meta": json_meta,
        "arrays": manifest,
    }
    payload = json.dumps(doc, allow_nan=False, ensure_ascii=False, indent=1).encode("utf-8")
    data = _pack({JSON_MEMBER: payload, HASH_MEMBER: (_sha256(payload) + "\n").encode("ascii"),
                  **members})
    _atomic_write(path, data)
    return path


# ---------------------------------------------------------------- reading
def _read_member(zf: zipfile.ZipFile, member: str, path, what: str) -> bytes:
    if member not in zf.NameToInfo:
        raise ModelFileError(f"{path} is incomplete or corrupted: the member {member!r} ({what}) "
                             f"is missing")
    try:
        return zf.read(member)
    except Exception as exc:  # any decoding failure of untrusted bytes means corruption
        raise ModelFileError(f"{path} is corrupted: the member {member!r} ({what}) cannot be "
                             f"read ({_exc_text(exc)})") from exc


def _newer_error(path, doc):
    saved_by = doc.get("tsrnn_version")
    by = f"tsrnn {saved_by}, " if isinstance(saved_by, str) else ""
    from tsrnn import __version__
    return ModelFileError(
        f"{path} was saved by a newer tsrnn ({by}format {doc['format_version']}); this is tsrnn "
        f"{__version__}, which reads formats up to {FORMAT_VERSION}: upgrade tsrnn")


def _exc_text(exc) -> str:
    cls = type(exc)
    name = cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__name__}"
    return f"{name}: {exc}" if str(exc) else name


def _malformed(path, what):
    return ModelFileError(f"{path} has malformed metadata in {JSON_MEMBER}: {what}")


def _check_manifest(path, manifest) -> None:
    if not isinstance(manifest, dict):
        raise _malformed(path, f"'arrays' should be an object, got {type(manifest).__name__}")
    for name, entry in manifest.items():
        if not isinstance(entry, dict):
            raise _malformed(path, f"the manifest entry of array {name!r} is not an object")
        member, dtype, shape, digest = (entry.get(k) for k in ("member", "dtype", "shape", "sha256"))
        if not isinstance(member, str) or not isinstance(dtype, str) or not isinstance(digest, str):
            raise _malformed(path, f"the manifest entry of array {name!r} lacks member/dtype/sha256")
        if not (isinstance(shape, list)
                and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)):
            raise _malformed(path, f"array {name!r} has an invalid shape {shape!r}")
        try:
            dt = np.dtype(dtype)
        except TypeError as exc:
            raise _malformed(path, f"array {name!r} has an unknown dtype {dtype!r}") from exc
        if dt.kind not in _ARRAY_KINDS or dt.fields is not None:
            raise _malformed(path, f"array {name!r} has dtype {dtype!r}; only numeric and boolean "
                                   f"arrays are allowed")
        if not _HEX64_STR.fullmatch(digest):
            raise _malformed(path, f"array {name!r} has an invalid sha256 {digest!r}")


def load_state(path):
    """Read a model file written by :func:`save_state`; never unpickles.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    kind : str
    meta : dict
    arrays : dict of str -> ndarray
        In the order they were saved.

    Raises
    ------
    FileNotFoundError
        No such file.
    ModelFileError
        The file is not a tsrnn model file, is truncated or corrupted (the
        message names the damaged member where there is one), has edited
        metadata, or was written by a newer tsrnn.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = os.path.join(tmp, "junk.tsrnn")
    ...     with open(p, "wb") as fh:
    ...         _ = fh.write(b"not a model")
    ...     load_state(p)
    Traceback (most recent call last):
    ...
    tsrnn.io.ModelFileError: .../junk.tsrnn is not a tsrnn model file (bad magic/not a zip...)
    """
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"no model file at {path}")
    if not path.is_file():
        raise ModelFileError(f"{path} is not a file (a directory?); pass the path of a saved model")
    data = path.read_bytes()

    not_ours = (f"{path} is not a tsrnn model file (bad magic/not a zip; it may be truncated, "
                f"or be some other kind of file)")
    try:
        zf = zipfile.ZipFile(_io.BytesIO(data))
    except Exception as exc:  # untrusted bytes: any failure to parse means "not ours"
        raise ModelFileError(not_ours) from exc
    with zf:
        if not zf.comment.startswith(MAGIC.encode("ascii")):
            raise ModelFileError(not_ours)
        end = len(data) - len(zf.comment) - 22  # end-of-central-directory record
        if (end >= 0 and data[end:end + 4] == b"PK\x05\x06"
                and int.from_bytes(data[end + 20:end + 22], "little") > len(zf.comment)):
            raise ModelFileError(f"{path} is truncated (the end of the file is missing); it is "
                                 f"not a complete tsrnn model file")

        # 1. the metadata; a newer format is reported before anything else is checked
        payload = _read_member(zf, JSON_MEMBER, path, "the metadata")
        try:
            doc = json.loads(payload.decode("utf-8"))
        except ValueError:
            doc = None
        if (isinstance(doc, dict) and doc.get("magic") == MAGIC
                and isinstance(doc.get("format_version"), int)
                and not isinstance(doc.get("format_version"), bool)
                and doc["format_version"] > FORMAT_VERSION):
            raise _newer_error(path, doc)
        stored = _read_member(zf, HASH_MEMBER, path, "the metadata checksum").strip()
        if not _HEX64.fullmatch(stored) or stored.decode("ascii") != _sha256(payload):
            raise ModelFileError(
                f"{path} has tampered or corrupted metadata: the sha256 of {JSON_MEMBER!r} does "
                f"not match {HASH_MEMBER!r}; re-save the model instead of editing the file")
        if not isinstance(doc, dict):
            raise _malformed(path, "it is not a JSON object")
        if doc.get("magic") != MAGIC:
            raise ModelFileError(f"{path} is not a tsrnn model file: wrong magic "
                                 f"{doc.get('magic')!r} in {JSON_MEMBER} (expected {MAGIC!r})")
        version = doc.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise _malformed(path, f"invalid format_version {version!r}")
        kind, meta, manifest = doc.get("kind"), doc.get("meta"), doc.get("arrays")
        if not isinstance(kind, str) or not kind:
            raise _malformed(path, f"invalid kind {kind!r}")
        if not isinstance(meta, dict):
            raise _malformed(path, f"'meta' should be an object, got {type(meta).__name__}")
        _check_manifest(path, manifest)

        # 2. the arrays
        arrays = {}
        for name, entry in manifest.items():
            member = entry["member"]
            what = f"array {name!r}"
            raw = _read_member(zf, member, path, what)
            if _sha256(raw) != entry["sha256"]:
                raise ModelFileError(f"{path} is corrupted: checksum mismatch in member "
                                     f"{member!r} ({what})")
            try:
                arr = np.lib.format.read_array(_io.BytesIO(raw), allow_pickle=False)
            except Exception as exc:
                raise ModelFileError(f"{path} is corrupted: member {member!r} ({what}) is not a "
                                     f"valid .npy array ({_exc_text(exc)})") from exc
            if arr.dtype.str != entry["dtype"] or list(arr.shape) != entry["shape"]:
                raise ModelFileError(
                    f"{path} is corrupted: {what} has dtype {arr.dtype.str} and shape "
                    f"{arr.shape}, but the manifest says {entry['dtype']} and "
                    f"{tuple(entry['shape'])}")
            arrays[name] = arr

    # 3. the seal over the whole file (ZIP headers included)
    seal = data[-_SEAL_LEN:] if len(data) >= _SEAL_LEN else b""
    if (zf.comment != seal or not seal.startswith(_SEAL_PREFIX)
            or not _HEX64.fullmatch(seal[len(_SEAL_PREFIX):])
            or seal[len(_SEAL_PREFIX):].decode("ascii") != _sha256(data[:-64])):
        raise ModelFileError(f"{path} is corrupted: the file checksum does not match (the file "
                             f"is truncated, has extra bytes, or its ZIP structure was altered)")
    return kind, meta, arrays


# ---------------------------------------------------------------- registry
#: kind -> "module:function" (imported on first use) or a callable
_REGISTRY: dict = {
    "RNNForecaster": "tsrnn.forecast:_from_state",
    "RNNAnomalyDetector": "tsrnn.anomaly:_from_state",
    "RNNRegressor": "tsrnn.regressor:_from_state",
    "Network": "tsrnn.io:network_from_state",
}


def register_kind(kind: str, from_state) -> None:
    """Teach :func:`load` to rebuild objects of ``kind``.

    Parameters
    ----------
    kind : str
        The ``kind`` written by :func:`save_state`.
    from_state : callable or str
        ``from_state(meta, arrays) -> object``, or ``"module:function"`` naming
        one (imported lazily, on the first :func:`load` of that kind).
        Registering a kind again replaces the previous entry.
    """
    if not isinstance(kind, str) or not kind:
        raise TypeError(f"kind must be a non-empty string, got {kind!r}")
    if isinstance(from_state, str):
        if from_state.count(":") != 1 or not all(from_state.split(":")):
            raise ValueError(f"from_state={from_state!r} should look like 'package.module:function'")
    elif not callable(from_state):
        raise TypeError(f"from_state must be a callable (meta, arrays) -> object or a "
                        f"'module:function' string, got {type(from_state).__name__}")
    _REGISTRY[kind] = from_state


def _resolve(kind, path):
    target = _REGISTRY.get(kind)
    if target is None:
        raise ModelFileError(
            f"{path} holds a model of kind {kind!r}, which this tsrnn cannot load (known kinds: "
            f"{', '.join(sorted(_REGISTRY))}); it may come from a newer tsrnn or a plugin: "
            f"upgrade tsrnn or call tsrnn.io.register_kind({kind!r}, from_state)")
    if isinstance(target, str):
        module_name, func_name = target.split(":")
        try:
            target = getattr(import_module(module_name), func_name)
        except (ImportError, AttributeError) as exc:
            raise ImportError(f"models of kind {kind!r} are rebuilt by {module_name}.{func_name}, "
                              f"which could not be imported: {exc}") from exc
        _REGISTRY[kind] = target
    return target


def load(path):
    """Load any object saved by tsrnn (an estimator or a :class:`~tsrnn.nn.Network`).

    The file's ``kind`` picks the function that rebuilds the object (see
    :func:`register_kind`).

    Raises
    ------
    ModelFileError
        See :func:`load_state`; also for a kind this tsrnn does not know or
        metadata the rebuilding function rejects.

    Examples
    --------
    >>> import os, tempfile
    >>> from tsrnn.nn import Network
    >>> net = Network(input_size=1, hidden_size=3, cell="gru", random_state=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_state(os.path.join(tmp, "net.tsrnn"), "Network", *network_to_state(net))
    ...     net2 = load(path)
    >>> net2
    Network(input_size=1, hidden_size=3, cell='gru', num_layers=1, output_size=1, return_sequences=False, dtype='float32')
    >>> bool((net2.params == net.params).all())
    True
    """
    kind, meta, arrays = load_state(path)
    from_state = _resolve(kind, path)
    try:
        return from_state(meta, arrays)
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelFileError(f"{path} holds a {kind} that could not be rebuilt "
                             f"({_exc_text(exc)}); it may come from an "
                             f"incompatible tsrnn version") from exc


# ----------------------------------------------------------------- Network
def network_to_state(net):
    """``(meta, arrays)`` of a :class:`~tsrnn.nn.Network` for :func:`save_state` (kind ``"Network"``).

    ``meta`` is ``net.get_config()``; ``arrays`` is ``{"params": net.params}``.
    """
    return to_jsonable(net.get_config(), where="net.get_config()"), {"params": net.params}


def network_from_state(meta, arrays):
    """Rebuild a :class:`~tsrnn.nn.Network` from :func:`network_to_state` output."""
    from tsrnn.nn.network import Network

    if "params" not in arrays:
        raise ModelFileError("a saved Network needs the array 'params', which is missing")
    params = arrays["params"]
    net = Network(**meta)
    if params.ndim != 1 or params.size != net.n_params:
        raise ModelFileError(f"the saved Network has params of shape {params.shape}, but its "
                             f"configuration needs ({net.n_params},)")
    if params.dtype != net.dtype:
        raise ModelFileError(f"the saved Network has params of dtype {params.dtype}, but its "
                             f"configuration says {net.dtype}")
    net.params[:] = params
    return net
