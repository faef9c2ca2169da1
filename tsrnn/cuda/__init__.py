"""CUDA backend (numba.cuda twins of :mod:`tsrnn.kernels`), imported lazily.

Importing :mod:`tsrnn` or :mod:`tsrnn.cuda` never imports ``numba.cuda``:
:func:`cuda_status` imports it when called, and :class:`CudaRunner` (from
:mod:`tsrnn.cuda.engine`) when first accessed.

* :func:`cuda_status` -- ``(usable, reason)``: whether a GPU can run tsrnn's kernels
  and, when not, exactly what is missing (numba.cuda, the driver, a device, NVVM,
  or the simulator is active).
* :func:`require_cuda` -- raise a ``RuntimeError`` with that reason.
* :class:`CudaRunner` -- the device driver for a :class:`tsrnn.nn.Network`.

Examples
--------
>>> from tsrnn.cuda import cuda_status
>>> usable, reason = cuda_status()
>>> isinstance(usable, bool) and isinstance(reason, str) and len(reason) > 0
True
"""

from __future__ import annotations

__all__ = ["cuda_status", "require_cuda", "device_summary", "CudaRunner"]

#: oldest compute capability the numba.cuda kernels are built for
MIN_COMPUTE_CAPABILITY = (5, 0)


def _first_line(text) -> str:
    lines = [s.strip() for s in str(text).strip().splitlines() if s.strip()]
    return lines[0].rstrip(".:") if lines else repr(text)


def cuda_status(allow_simulator: bool = False) -> tuple:
    """Whether tsrnn's CUDA kernels can run here, and why not.

    Imports ``numba.cuda`` (only now), then checks in order: numba.cuda imports; the
    simulator (``NUMBA_ENABLE_CUDASIM=1``) is not active; CUDA is not disabled
    (``NUMBA_DISABLE_CUDA``); the CUDA driver library loads and initialises; at
    least one device is visible; its compute capability is at least 5.0; libNVVM
    (the CUDA toolkit's compiler library numba compiles kernels with) is found.

    Parameters
    ----------
    allow_simulator : bool, default False
        Count the CUDA simulator as usable (tests run the kernels under it).

    Returns
    -------
    usable : bool
    reason : str
        What is missing when ``usable`` is False; the device found otherwise.
    """
    try:
        from numba.core import config
    except Exception as exc:  # pragma: no cover - numba is a hard dependency
        return False, f"numba is not importable ({type(exc).__name__}: {exc}); pip install numba"
    if getattr(config, "ENABLE_CUDASIM", 0):
        return bool(allow_simulator), (
            "the CUDA simulator is active (NUMBA_ENABLE_CUDASIM=1): kernels run as Python "
            "threads on the CPU, for tests only; unset NUMBA_ENABLE_CUDASIM to use a GPU")
    if getattr(config, "DISABLE_CUDA", 0):
        return False, ("CUDA is disabled (NUMBA_DISABLE_CUDA=1 in the environment, or a 32-bit "
                       "Python); unset NUMBA_DISABLE_CUDA")
    try:
        from numba import cuda
    except Exception as exc:
        return False, (f"numba.cuda cannot be imported ({type(exc).__name__}: "
                       f"{_first_line(exc)}); install a numba with its CUDA target "
                       "(numba<0.61 ships it, newer versions need `pip install numba-cuda`)")
    try:
        from numba.cuda.cudadrv.driver import driver
        driver.ensure_initialized()
        error = driver.initialization_error
    except Exception as exc:
        error = _first_line(exc)
    if error is not None:
        return False, (f"no usable CUDA driver: {_first_line(error)} (install the NVIDIA driver, "
                       "libcuda.so, or point NUMBA_CUDA_DRIVER at it)")
    try:
        n_dev = len(cuda.gpus)
    except Exception as exc:
        return False, f"the CUDA driver loaded but listing devices failed: {_first_line(exc)}"
    if n_dev == 0:
        return False, ("the CUDA driver loaded but reports no GPU (check CUDA_VISIBLE_DEVICES and "
                       "nvidia-smi)")
    try:
        dev = cuda.get_current_device()
        cc = tuple(dev.compute_capability)
        name = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
    except Exception as exc:
        return False, f"GPU found but a CUDA context could not be created: {_first_line(exc)}"
    if cc < MIN_COMPUTE_CAPABILITY:
        return False, (f"GPU {name} has compute capability {cc[0]}.{cc[1]}; tsrnn's kernels need "
                       f"{MIN_COMPUTE_CAPABILITY[0]}.{MIN_COMPUTE_CAPABILITY[1]} or newer")
    try:
        from numba.cuda.cudadrv import nvvm
        has_nvvm = nvvm.is_available()
    except Exception:
        has_nvvm = False
    if not has_nvvm:
        return False, (f"GPU {name} found, but libNVVM (the CUDA toolkit's compiler library) is "
                       "missing: install the CUDA toolkit (or `pip install nvidia-cuda-nvcc-cu12`) "
                       "and set CUDA_HOME")
    return True, f"{name} (compute capability {cc[0]}.{cc[1]})"


def require_cuda(allow_simulator: bool = False) -> None:
    """Raise ``RuntimeError`` saying what is missing when :func:`cuda_status` is False."""
    usable, reason = cuda_status(allow_simulator)
    if not usable:
        raise RuntimeError(f"device='cuda' is not usable: {reason}; use device='cpu' (or 'auto', "
                           "which falls back to the CPU)")


def device_summary() -> dict:
    """GPU name, compute capability, driver and library versions (for benchmarks and logs).

    Imports ``numba.cuda``; fields that cannot be read are None.
    """
    import numba

    out = {"numba": numba.__version__, "gpu": None, "compute_capability": None,
           "driver": None, "nvvm": None, "simulator": False}
    usable, reason = cuda_status(allow_simulator=True)
    out["status"] = reason
    if not usable:
        return out
    from numba import cuda
    from numba.core import config

    if config.ENABLE_CUDASIM:
        out["simulator"] = True
        return out
    dev = cuda.get_current_device()
    out["gpu"] = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
    out["compute_capability"] = ".".join(map(str, dev.compute_capability))
    try:
        from numba.cuda.cudadrv.driver import driver
        out["driver"] = ".".join(map(str, driver.get_version()))
    except Exception:
        pass
    try:
        from numba.cuda.cudadrv import nvvm
        out["nvvm"] = ".".join(map(str, nvvm.NVVM().get_version()))
    except Exception:
        pass
    return out


def __getattr__(name):
    if name == "CudaRunner":
        from tsrnn.cuda.engine import CudaRunner

        return CudaRunner
    raise AttributeError(f"module 'tsrnn.cuda' has no attribute {name!r}")
