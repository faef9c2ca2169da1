"""The on-disk kernel cache: keys that see other kernel files and the JIT flags."""

import json
import os
import subprocess
import sys

import pytest

from tsrnn import _config


def _tag_in_subprocess(**env):
    code = "import json, tsrnn._config as c; print(json.dumps(c.CACHE_TAG))"
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, **env),
                         capture_output=True, text=True, check=True)
    return tuple(json.loads(out.stdout))


def test_kernels_use_the_tagged_cache():
    from tsrnn.kernels import bptt, optim

    for disp in (bptt.shard_forward_backward, bptt._shard_range, optim.adam_step):
        cache = disp._cache
        assert type(cache).__name__ == "KernelCache"
        key = cache._index_key((), _FakeCodegen())
        assert key[-1] == _config.CACHE_TAG


class _FakeCodegen:
    def magic_tuple(self):
        return ("x86_64-unknown-linux-gnu", "generic", "")


def test_cache_tag_follows_fastmath_and_kernel_sources():
    default = _tag_in_subprocess(TSRNN_FASTMATH="0")
    fast = _tag_in_subprocess(TSRNN_FASTMATH="1")
    assert default[1] == fast[1]          # same sources
    assert default[2] != fast[2]          # different flags -> different cache entries
    assert default[1] == _config._kernel_sources_digest()


def test_precompile_rejects_unknown_dtype(capsys):
    from tsrnn.precompile import main

    with pytest.raises(SystemExit):
        main(["float16"])
    assert "unknown dtype 'float16'" in capsys.readouterr().err
