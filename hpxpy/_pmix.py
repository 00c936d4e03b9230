"""PMIx through ctypes: the key-value store of Open MPI's launcher (``PMIx_Put``/
``Commit``/``Fence``/``Get``), loaded only when such a launcher started this process
(ctypes costs every other locality start-up time)."""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from typing import List, Mapping

from ._launchenv import LauncherError, _Store

# PMIx ABI (pmix_common.h, stable since v2): the fixed-size parts this binding touches.
_PMIX_MAX_NSLEN = 255
_PMIX_SUCCESS = 0
_PMIX_STRING = 3
_PMIX_GLOBAL = 3
_PMIX_RANK_WILDCARD = 0xFFFFFFFE


class _PmixProc(ctypes.Structure):
    _fields_ = [("nspace", ctypes.c_char * (_PMIX_MAX_NSLEN + 1)), ("rank", ctypes.c_uint32)]


class _PmixValue(ctypes.Structure):
    # type, then a union whose largest member is well under 64 bytes; we use its char*.
    _fields_ = [("type", ctypes.c_uint16), ("data", ctypes.c_uint64 * 8)]


def _find_libpmix(env: Mapping[str, str]) -> str:
    candidates: List[str] = []
    prefix = env.get("PMIX_PREFIX") or env.get("OPAL_PREFIX")
    if prefix:
        for sub in ("lib/openmpi", "lib", "lib64"):
            candidates += sorted(glob.glob(os.path.join(prefix, sub, "libpmix.so*")))
    found = ctypes.util.find_library("pmix")
    if found:
        candidates.append(found)
    if not candidates:
        raise LauncherError("a PMIx launcher started this process, but no libpmix was found "
                            "(looked under $PMIX_PREFIX and the system's libraries)")
    return candidates[0]


class PmixStore(_Store):
    """PMIx through libpmix: the process's own library of the launcher's PMIx."""

    def __init__(self, env: Mapping[str, str]) -> None:
        lib = ctypes.CDLL(_find_libpmix(env))
        self._lib = lib
        lib.PMIx_Init.argtypes = [ctypes.POINTER(_PmixProc), ctypes.c_void_p, ctypes.c_size_t]
        lib.PMIx_Put.argtypes = [ctypes.c_uint8, ctypes.c_char_p, ctypes.POINTER(_PmixValue)]
        lib.PMIx_Commit.argtypes = []
        lib.PMIx_Fence.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
                                   ctypes.c_size_t]
        lib.PMIx_Get.argtypes = [ctypes.POINTER(_PmixProc), ctypes.c_char_p, ctypes.c_void_p,
                                 ctypes.c_size_t, ctypes.POINTER(ctypes.POINTER(_PmixValue))]
        lib.PMIx_Finalize.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        self._me = _PmixProc()
        self._check("PMIx_Init", lib.PMIx_Init(ctypes.byref(self._me), None, 0))

    @staticmethod
    def _check(call: str, status: int) -> None:
        if status != _PMIX_SUCCESS:
            raise LauncherError(f"{call} failed (PMIx status {status})")

    def put(self, key: str, value: str) -> None:
        raw = ctypes.create_string_buffer(value.encode())
        val = _PmixValue()
        val.type = _PMIX_STRING
        val.data[0] = ctypes.cast(raw, ctypes.c_void_p).value or 0
        self._check("PMIx_Put", self._lib.PMIx_Put(_PMIX_GLOBAL, key.encode(), ctypes.byref(val)))
        self._check("PMIx_Commit", self._lib.PMIx_Commit())

    def fence(self) -> None:
        self._check("PMIx_Fence", self._lib.PMIx_Fence(None, 0, None, 0))

    def get(self, key: str, rank: int) -> str:
        proc = _PmixProc()
        proc.nspace = self._me.nspace
        proc.rank = rank
        out = ctypes.POINTER(_PmixValue)()
        self._check("PMIx_Get", self._lib.PMIx_Get(ctypes.byref(proc), key.encode(), None, 0,
                                                   ctypes.byref(out)))
        value = out.contents
        if value.type != _PMIX_STRING:
            raise LauncherError(f"PMIx_Get({key!r}) returned type {value.type}, not a string")
        return ctypes.string_at(value.data[0]).decode()  # the value itself is not freed

    def close(self) -> None:
        self._check("PMIx_Finalize", self._lib.PMIx_Finalize(None, 0))
