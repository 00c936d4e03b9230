"""MPI-IO: ``MPI.File`` over POSIX files (``os.pread``/``os.pwrite`` at explicit offsets).

Every locality opens the file itself; data goes straight between the caller's buffer and
the file bytes its view selects (``_fileview.View``), so localities writing disjoint parts
never touch each other's bytes, on one host or on several sharing a POSIX file system.

- Collective operations run on a private duplicate of the communicator given to ``Open``:
  each does its local part and then meets the others (a barrier, or the broadcast of a
  result rank 0 computed), so when any rank returns from a collective write every rank's
  data is in the file. A rank whose local part fails still meets the others, then raises.
- The shared file pointer lives in a hidden side file next to the file
  (``.<name>.hpxpy-shfp-<host>-<pid>-<n>``, in the temporary directory when that directory
  is not writable): an 8-byte counter read and advanced under an exclusive ``fcntl``
  lock, so any locality can move it at any time without the others' help
  (``Write_shared`` is not collective), the wait for the lock sleeps in the kernel, and it
  works wherever POSIX locks do (one host; NFS with its lock manager). Rank 0 removes any
  stale one at ``Open`` and the side file at ``Close``. The ordered forms gather the sizes
  and let rank 0 advance it once.
- Non-blocking forms do their transfer at the call and return a request that completes at
  once (collective ones: when the others have joined, through an ``Ibarrier``); split
  collectives do theirs in ``*_begin``, ``*_end`` reports it.
- Data representations: ``native`` and ``internal`` (the same bytes here) and
  ``external32``; ``Register_datarep`` records names (a second registration raises
  ``ERR_DUP_DATAREP``), and a view with a registered representation raises
  ``NotImplementedError``. ``external32`` stores booleans, integers and IEEE floats and
  complexes up to double big-endian (same sizes as native here; others raise
  ``NotImplementedError``).

Layer 4 of hpxpy.comm: it takes communicators as arguments and uses their public methods;
imports ``_request``, ``_status``, ``_buffers``, ``_fileview``, ``_info``, ``_group`` and
the leaves.
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import itertools
import os
import socket
import tempfile
import threading
import weakref
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

from .._numpy import np
from . import _constants as C
from . import _datatypes as D
from . import _errhandler
from ._buffers import message_array, receive_array
from ._errhandler import ERRORS_RETURN, _Errhandler, check_settable
from ._errors import Exception as MPIException
from ._fileview import Pieces, View
from ._group import Group, _api_name
from ._info import INFO_NULL, Info
from ._request import Request
from ._status import Status, _empty
from ._typing import BufSpec

# Access modes (MPICH's values)
MODE_CREATE = 1
MODE_RDONLY = 2
MODE_WRONLY = 4
MODE_RDWR = 8
MODE_DELETE_ON_CLOSE = 16
MODE_UNIQUE_OPEN = 32
MODE_EXCL = 64
MODE_APPEND = 128
MODE_SEQUENTIAL = 256
# Seek origins
SEEK_SET = 600
SEEK_CUR = 602
SEEK_END = 604
DISPLACEMENT_CURRENT = -54278278
MAX_DATAREP_STRING = 128

_ACCESS = MODE_RDONLY | MODE_WRONLY | MODE_RDWR
_ERRNO_CLASS = {
    errno.ENOENT: C.ERR_NO_SUCH_FILE, errno.ENOTDIR: C.ERR_NO_SUCH_FILE,
    errno.EACCES: C.ERR_ACCESS, errno.EPERM: C.ERR_ACCESS,
    errno.EEXIST: C.ERR_FILE_EXISTS, errno.EROFS: C.ERR_READ_ONLY,
    errno.ENOSPC: C.ERR_NO_SPACE, errno.EDQUOT: C.ERR_QUOTA,
    errno.ENAMETOOLONG: C.ERR_BAD_FILE, errno.EISDIR: C.ERR_BAD_FILE,
    errno.ETXTBSY: C.ERR_FILE_IN_USE,
}

_default_errhandler: List[_Errhandler] = [ERRORS_RETURN]  # FILE_NULL's: new files get it
_handles: weakref.WeakValueDictionary[int, _State] = weakref.WeakValueDictionary()
_next_handle = itertools.count(1)
_opened = itertools.count()  # this process's opens (names the shared pointer's side file)
_dataresps: Dict[str, Tuple[Any, Any, Any]] = {}


def _oserror(exc: OSError, what: str) -> MPIException:
    """The MPI error class ROMIO reports for an operating-system error."""
    return MPIException(_ERRNO_CLASS.get(exc.errno or 0, C.ERR_IO),
                        f"{what}: {exc.strerror or exc}")


def _amode_error(amode: int) -> Optional[str]:
    """Why ``amode`` is not a valid access mode (None if it is)."""
    if bin(amode & _ACCESS).count("1") != 1:
        return "exactly one of MODE_RDONLY, MODE_WRONLY or MODE_RDWR must be specified"
    if amode & MODE_RDONLY and amode & (MODE_CREATE | MODE_EXCL):
        return "cannot use MODE_CREATE or MODE_EXCL with MODE_RDONLY"
    if amode & MODE_RDWR and amode & MODE_SEQUENTIAL:
        return "cannot specify MODE_SEQUENTIAL with MODE_RDWR"
    return None


class _SharedPointer:
    """The shared file pointer: an 8-byte counter (etypes) in a side file, under an
    exclusive fcntl lock (process-wide) and a thread lock (threads of one process)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: Optional[int] = None
        self._lock = threading.Lock()

    @contextmanager
    def _locked(self) -> Iterator[int]:
        with self._lock:
            if self._fd is None:
                try:
                    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                except OSError as exc:
                    raise _oserror(exc, "cannot open the shared file pointer") from None
            fcntl.lockf(self._fd, fcntl.LOCK_EX)  # sleeps in the kernel while another holds it
            try:
                yield self._fd
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN)

    @staticmethod
    def _get(fd: int) -> int:
        raw = os.pread(fd, 8, 0)
        return int.from_bytes(raw, "little", signed=True) if len(raw) == 8 else 0

    @staticmethod
    def _put(fd: int, value: int) -> None:
        os.pwrite(fd, int(value).to_bytes(8, "little", signed=True), 0)

    def get(self) -> int:
        with self._locked() as fd:
            return self._get(fd)

    def set(self, value: int) -> None:
        if value == 0 and self._fd is None and not os.path.exists(self.path):
            return  # no side file yet: the pointer is 0 already (Set_view need not make one)
        with self._locked() as fd:
            self._put(fd, value)

    def update(self, fn: Callable[[int], int]) -> int:
        """Set the pointer to ``fn(old)`` atomically; returns the old value."""
        with self._locked() as fd:
            old = self._get(fd)
            self._put(fd, fn(old))
            return old

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


class _State:
    """An open file: what every reference to it (``File(f)``) shares."""

    def __init__(self, comm: Any, path: str, fd: int, amode: int, shared: str,
                 info: Dict[str, str]) -> None:
        self.comm = comm
        self.rank = comm.Get_rank()
        self.path = path
        self.fd = fd
        self.amode = amode
        self.view = View(0, D.PREDEFINED["BYTE"], D.PREDEFINED["BYTE"], "native")
        self.position = 0  # individual file pointer, in etypes of the view
        self.shared = _SharedPointer(shared)
        self.atomic = False
        self.info = info
        self.errhandler = _default_errhandler[0]
        self.split: Optional[Tuple[str, int]] = None  # the active split collective
        self.dirty = False
        self.handle = next(_next_handle)
        _handles[self.handle] = self


class _IORequest(Request):
    """A request of a non-blocking file access: its status counts the bytes moved."""

    __slots__ = ("_nbytes",)
    _nbytes: int

    def _compute(self) -> None:
        super()._compute()
        assert self._status is not None
        self._status._count = getattr(self, "_nbytes", 0)
        # as MPICH's: envelope fields of a file request are UNDEFINED
        self._status.source = self._status.tag = C.UNDEFINED


def _fill(status: Optional[Status], nbytes: int) -> None:
    if status is not None:
        _empty(status)
        status._count = nbytes


def _nothing(moved: int = 0) -> None:
    """Nothing to do after the transfer."""


def _external32(dtype: np.dtype) -> np.dtype:
    """The big-endian dtype ``external32`` stores elements of ``dtype`` as: booleans,
    integers, IEEE floats up to double and their complex pairs, which have the same sizes
    as here; NotImplementedError for the others."""
    kind, size = dtype.kind, dtype.itemsize
    if dtype.fields is None and (kind in "biu" or (kind == "f" and size <= 8) or (
            kind == "c" and size <= 16)):
        return dtype.newbyteorder(">")
    raise NotImplementedError(f"hpxpy's 'external32' data representation does not convert "
                              f"elements of numpy type {dtype}")


def _write_pieces(fd: int, data: np.ndarray, pieces: Pieces) -> None:
    view = memoryview(data)  # type: ignore[arg-type]
    at = 0
    for offset, length in pieces.pairs():
        chunk = view[at:at + length]
        while len(chunk):  # a write may take fewer bytes than offered
            done = os.pwrite(fd, chunk, offset)
            chunk = chunk[done:]
            offset += done
        at += length


def _gather(raw: np.ndarray, rel: np.ndarray, lengths: np.ndarray, out: np.ndarray) -> None:
    """Copy the pieces at offsets ``rel`` of ``raw`` one after another into ``out``."""
    n, first = len(rel), int(lengths[0])
    if n > 1 and (lengths == first).all():
        step = int(rel[1] - rel[0])
        if step >= first and (np.diff(rel) == step).all():  # equal pieces, equally spaced
            rows = np.lib.stride_tricks.as_strided(raw[int(rel[0]):], shape=(n, first),
                                                   strides=(step, 1), writeable=False)
            out.reshape(n, first)[...] = rows
            return
    if out.size >= 256 * n:  # long pieces: one copy each
        at = 0
        for offset, length in zip(rel.tolist(), lengths.tolist()):
            out[at:at + length] = raw[offset:offset + length]
            at += length
        return
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    out[...] = raw[np.repeat(rel - starts, lengths) + np.arange(out.size, dtype=np.int64)]


def _read_pieces(fd: int, data: np.ndarray, pieces: Pieces) -> int:
    """Fill ``data`` from the pieces in order; stops at the end of the file. Returns the
    bytes read."""
    if len(pieces) > 16:
        offsets, lengths = pieces.offsets, pieces.lengths
        first = int(offsets[0])
        span = int(offsets[-1] + lengths[-1]) - first
        total = int(lengths.sum())
        # one read of the span beats a call per piece when the pieces are small and dense
        if total < 1024 * len(pieces) and 0 < span <= 4 * total and np.all(
                offsets[1:] >= offsets[:-1]):
            raw = np.frombuffer(os.pread(fd, span, first), dtype=np.uint8)
            rel = offsets - first
            avail = np.clip(raw.size - rel, 0, lengths)
            short = np.flatnonzero(avail < lengths)
            count = total if not short.size else int(lengths[:short[0]].sum() + avail[short[0]])
            if count == total:
                _gather(raw, rel, lengths, data)
            else:  # the file ends inside: byte by byte up to there
                starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
                index = np.repeat(rel - starts, lengths) + np.arange(total, dtype=np.int64)
                data[:count] = raw[index[:count]]
            return count
    view = memoryview(data)  # type: ignore[arg-type]
    at = 0
    for offset, length in pieces.pairs():
        while length:
            got = os.preadv(fd, [view[at:at + length]], offset)
            if not got:
                return at
            at += got
            offset += got
            length -= got
    return at


def _sieve(st: _State, pieces: Pieces) -> bool:
    """Whether a write of these pieces is cheaper as read-modify-write of their span (many
    small pieces close together) than as one ``pwrite`` each; needs a readable file."""
    if len(pieces) <= 16 or st.amode & MODE_WRONLY:
        return False
    return pieces.high - pieces.low <= 256 * len(pieces)


def _write_sieved(fd: int, data: np.ndarray, pieces: Pieces) -> None:
    """Read the span of the pieces, put the data in, write the span back (under the
    exclusive lock ``_range_lock`` holds, so no other write lands in between)."""
    first = pieces.low
    span = pieces.high - first
    raw = np.zeros(span, np.uint8)
    got = np.frombuffer(os.pread(fd, span, first), dtype=np.uint8)
    raw[:got.size] = got
    offsets, lengths = pieces.offsets - first, pieces.lengths
    index = np.repeat(offsets - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    raw[index + np.arange(data.size, dtype=np.int64)] = data
    _write_pieces(fd, raw, Pieces.of([(first, span)]))


@contextmanager
def _range_lock(st: _State, write: bool, sieved: bool, pieces: Pieces) -> Iterator[None]:
    """POSIX record locks over the bytes an access spans. A sieved write holds an
    exclusive one, and so every write that could run beside it holds a shared one (it may
    not land between the sieve's read and write back); in atomic mode writes hold an
    exclusive one and reads a shared one (MPI's atomic mode for overlapping accesses).
    Non-atomic reads and writes of a write-only file take none."""
    if not pieces:
        yield
        return
    if sieved or (write and st.atomic):
        kind = fcntl.LOCK_EX
    elif st.atomic or (write and not st.amode & MODE_WRONLY):
        kind = fcntl.LOCK_SH
    else:
        yield
        return
    low, high = pieces.low, pieces.high
    fcntl.lockf(st.fd, kind, high - low, low)
    try:
        yield
    finally:
        fcntl.lockf(st.fd, fcntl.LOCK_UN, high - low, low)


class File:
    """An MPI file (``MPI.File``): opened collectively over a communicator with
    :meth:`Open`; ``MPI.FILE_NULL`` is the null file. ``File(f)`` is another reference to
    the file ``f``."""

    __slots__ = ("_st", "__weakref__")
    _st: Optional[_State]

    def __new__(cls, file: Optional[File] = None) -> File:
        self = object.__new__(cls)
        if file is not None and not isinstance(file, File):
            raise TypeError(f"Argument 'file' has incorrect type (expected mpi4py.MPI.File, "
                            f"got {type(file).__name__})")
        self._st = file._st if file is not None else None
        return self

    # -- identity ---------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, File):
            return NotImplemented
        return self._st is other._st

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]  # as mpi4py's: equal references, no hash

    def __bool__(self) -> bool:
        return self._st is not None

    def __repr__(self) -> str:
        return f"<MPI.File {self._st.path if self._st else 'FILE_NULL'}>"

    def __reduce__(self) -> Any:
        if self is FILE_NULL:
            return "FILE_NULL"
        if self._st is None:  # another null reference: a new one
            return (type(self), ())
        raise ValueError(f"cannot serialize '{_api_name(self)}' instance")

    @property
    def handle(self) -> int:
        """The file's integer handle (0 for ``FILE_NULL``)."""
        return self._st.handle if self._st is not None else 0

    @classmethod
    def fromhandle(cls, handle: int) -> File:
        """The file with integer handle ``handle``."""
        made = cls()
        if int(handle):
            st = _handles.get(int(handle))
            if st is None:
                raise ValueError(f"no file with handle {handle}")
            made._st = st
        return made

    def py2f(self) -> int:
        """The Fortran handle (the same integer as ``handle``)."""
        return self.handle

    toint = py2f

    @classmethod
    def f2py(cls, arg: int) -> File:
        """The file of a Fortran handle."""
        return cls.fromhandle(arg)

    fromint = f2py

    def free(self) -> None:
        """Close the file if it is open (collective then, as ``Close``)."""
        if self._st is not None and self._st.fd >= 0:
            self.Close()
        self._st = None

    def _check(self) -> _State:
        st = self._st
        if st is None:
            raise MPIException(C.ERR_FILE, "the file is MPI.FILE_NULL")
        if st.fd < 0:
            raise MPIException(C.ERR_FILE, "the file is closed")
        return st

    # -- opening and closing ----------------------------------------------------------------
    @classmethod
    def Open(cls, comm: Any, filename: Union[str, bytes, os.PathLike],
             amode: int = MODE_RDONLY, info: Info = INFO_NULL) -> File:
        """Open ``filename`` on every process of ``comm`` (collective)."""
        if not any(k.__name__ == "Intracomm" for k in type(comm).__mro__):
            raise TypeError(f"Argument 'comm' has incorrect type (expected "
                            f"mpi4py.MPI.Intracomm, got {_api_name(comm)})")
        if comm.Is_inter():
            raise MPIException(C.ERR_COMM, "MPI-IO needs an intra-communicator")
        path = os.fsdecode(os.fspath(filename))
        amode = int(amode)
        why = _amode_error(amode)
        if why:
            raise MPIException(C.ERR_AMODE, why)
        hints = dict(info.items()) if isinstance(info, Info) and info else {}
        fcomm = comm.Dup()
        rank = fcomm.Get_rank()
        access = {MODE_RDONLY: os.O_RDONLY, MODE_WRONLY: os.O_WRONLY,
                  MODE_RDWR: os.O_RDWR}[amode & _ACCESS]
        fd, error = -1, None
        first = None
        if rank == 0:  # creates the file (EXCL: only it may) before the others open it
            flags = access | (os.O_CREAT if amode & MODE_CREATE else 0) | (
                os.O_EXCL if amode & MODE_EXCL else 0)
            try:
                fd = os.open(path, flags, 0o666)
            except OSError as exc:
                error = _oserror(exc, f"cannot open {path}")
            folder, name = os.path.split(os.path.abspath(path))
            if not os.access(folder, os.W_OK):
                folder = tempfile.gettempdir()
            shared = os.path.join(folder, f".{name}.hpxpy-shfp-{socket.gethostname()}-"
                                          f"{os.getpid()}-{next(_opened)}")
            try:
                os.unlink(shared)
            except OSError:
                pass
            first = (amode, shared, error is None)
        amode0, shared, ok0 = fcomm.bcast(first, 0)
        if rank != 0:
            if amode0 != amode:
                error = MPIException(C.ERR_NOT_SAME, "amode differs between processes")
            elif ok0:
                try:
                    fd = os.open(path, access, 0o666)
                except OSError as exc:
                    error = _oserror(exc, f"cannot open {path}")
        errors = fcomm.allgather(None if error is None else (error.ierr, error._message))
        failed = [e for e in errors if e is not None]
        if failed:
            if fd >= 0:
                os.close(fd)
            fcomm.Free()
            if error is not None:
                raise error
            raise MPIException(*failed[0])
        st = _State(fcomm, path, fd, amode, shared, hints)
        if amode & MODE_APPEND:  # both file pointers start at the end
            st.position = os.fstat(fd).st_size
            if rank == 0:
                st.shared.set(st.position)
            fcomm.Barrier()
        made = object.__new__(cls)
        made._st = st
        return made

    @staticmethod
    def _release(st: _State) -> None:
        st.shared.close()
        if st.fd >= 0:
            os.close(st.fd)
            st.fd = -1
        _handles.pop(st.handle, None)

    def Close(self) -> None:
        """Close the file (collective); this reference becomes ``FILE_NULL``."""
        st = self._check()
        comm = st.comm
        comm.Barrier()  # every rank's accesses are done
        if st.rank == 0:
            targets = [st.shared.path] + ([st.path] if st.amode & MODE_DELETE_ON_CLOSE else [])
            for target in targets:
                try:
                    os.unlink(target)
                except FileNotFoundError:
                    pass
        self._release(st)
        comm.Barrier()  # the side file is gone before anyone could open the file again
        comm.Free()
        self._st = None

    @classmethod
    def Delete(cls, filename: Union[str, bytes, os.PathLike], info: Info = INFO_NULL) -> None:
        """Delete a file."""
        path = os.fsdecode(os.fspath(filename))
        try:
            os.unlink(path)
        except OSError as exc:
            raise _oserror(exc, f"cannot delete {path}") from None

    # -- file state -------------------------------------------------------------------------
    def _collective(self, st: _State, local: Callable[[], Any], root_only: bool = False
                    ) -> Any:
        """Run ``local`` (on rank 0 only if ``root_only``, its outcome broadcast), then meet
        the other ranks; an error raised by ``local`` is raised after the meeting."""
        error: Optional[BaseException] = None
        result = None
        if not root_only or st.rank == 0:
            try:
                result = local()
            except OSError as exc:
                error = _oserror(exc, "I/O error")
            except Exception as exc:  # raised once the others have been met
                error = exc
        if root_only:
            shared = st.comm.bcast(None if error is None else (
                getattr(error, "ierr", C.ERR_OTHER), getattr(error, "_message", str(error))), 0)
            if shared is not None and error is None:
                error = MPIException(*shared)
        else:
            st.comm.Barrier()
        if error is not None:
            raise error
        return result

    def Get_size(self) -> int:
        """The file's size in bytes."""
        st = self._check()
        return os.fstat(st.fd).st_size

    def _writable(self, st: _State) -> None:
        if st.amode & MODE_RDONLY:
            raise MPIException(C.ERR_READ_ONLY,
                               "cannot write to a file opened with amode MODE_RDONLY")

    def Set_size(self, size: int) -> None:
        """Truncate or extend the file to ``size`` bytes (collective)."""
        st = self._check()
        self._writable(st)
        size = int(size)
        if size < 0:
            raise MPIException(C.ERR_ARG, f"negative size {size}")
        self._collective(st, lambda: os.ftruncate(st.fd, size), root_only=True)

    def Preallocate(self, size: int) -> None:
        """Make the file at least ``size`` bytes long (collective)."""
        st = self._check()
        self._writable(st)
        size = int(size)
        if size < 0:
            raise MPIException(C.ERR_ARG, f"negative size {size}")

        def grow() -> None:
            if os.fstat(st.fd).st_size < size:
                try:
                    os.posix_fallocate(st.fd, 0, size)
                except OSError:
                    os.ftruncate(st.fd, size)  # a file system without fallocate
        self._collective(st, grow, root_only=True)

    def Get_amode(self) -> int:
        """The access mode the file was opened with."""
        return self._check().amode

    def Get_group(self) -> Group:
        """The group of the communicator the file was opened on."""
        return self._check().comm.Get_group()

    def Get_info(self) -> Info:
        """The hints in use (a new info object)."""
        return Info.Create(self._check().info)

    def Set_info(self, info: Info) -> None:
        """Add hints (collective; hpxpy keeps them but takes none into account)."""
        st = self._check()
        if isinstance(info, Info) and info:
            st.info.update(info.items())

    def Sync(self) -> None:
        """Flush this process's writes to storage and meet the others (collective)."""
        st = self._check()

        def flush() -> None:
            if st.dirty:
                os.fsync(st.fd)
                st.dirty = False
        self._collective(st, flush)

    def Set_atomicity(self, flag: bool) -> None:
        """Set atomic mode (collective): each access then holds a POSIX record lock over
        the bytes it spans (exclusive to write, shared to read)."""
        st = self._check()
        st.atomic = bool(flag)
        st.comm.Barrier()

    def Get_atomicity(self) -> bool:
        """Whether atomic mode is on."""
        return self._check().atomic

    # -- views and file pointers -------------------------------------------------------------
    def Set_view(self, disp: int = 0, etype: D.Datatype = D.PREDEFINED["BYTE"],
                 filetype: Optional[D.Datatype] = None, datarep: str = "native",
                 info: Info = INFO_NULL) -> None:
        """Set this process's view (collective): the data stream starts at byte ``disp``
        and goes through the bytes of ``filetype`` tiled from there, in units of
        ``etype``. Resets the individual and the shared file pointers."""
        st = self._check()
        if filetype is None:
            filetype = etype
        datarep = str(datarep)
        if datarep not in ("native", "internal", "external32"):
            if datarep in _dataresps:
                raise NotImplementedError(
                    f"MPI.File.Set_view: data representation {datarep!r} is not supported by "
                    f"hpxpy (only 'native', 'internal' and 'external32')")
            raise MPIException(C.ERR_UNSUPPORTED_DATAREP,
                               f"unknown data representation {datarep!r}")
        if int(disp) == DISPLACEMENT_CURRENT:
            if not st.amode & MODE_SEQUENTIAL:
                raise MPIException(C.ERR_ARG, "DISPLACEMENT_CURRENT needs MODE_SEQUENTIAL")
            disp = st.view.byte_offset(st.shared.get())

        def apply() -> None:
            st.view, st.position = View(int(disp), etype, filetype, datarep), 0
            if st.rank == 0:
                st.shared.set(0)
        self._collective(st, apply)
        if isinstance(info, Info) and info:
            st.info.update(info.items())

    def Get_view(self) -> Tuple[int, D.Datatype, D.Datatype, str]:
        """Return (displacement, etype, filetype, data representation); derived types are new
        copies the caller may free."""
        view = self._check().view
        etype = view.etype if view.etype.is_predefined else view.etype.Dup()
        ftype = view.filetype if view.filetype.is_predefined else view.filetype.Dup()
        return view.disp, etype, ftype, view.datarep

    def Get_type_extent(self, datatype: D.Datatype) -> int:
        """The extent of ``datatype`` in the file (native representation: its extent)."""
        self._check()
        if not datatype or not datatype._committed:
            raise MPIException(C.ERR_TYPE, "the datatype is null or not committed")
        return datatype.Get_extent()[1]

    def _seek_target(self, st: _State, offset: int, whence: int, current: int) -> int:
        offset = int(offset)
        if whence == SEEK_SET:
            target = offset
        elif whence == SEEK_CUR:
            target = current + offset
        elif whence == SEEK_END:
            target = st.view.position_of(os.fstat(st.fd).st_size) + offset
        else:
            raise MPIException(C.ERR_ARG, f"invalid whence argument {whence}")
        if target < 0:
            raise MPIException(C.ERR_ARG, f"invalid offset argument: position {target}")
        return target

    def _not_sequential(self, st: _State) -> None:
        if st.amode & MODE_SEQUENTIAL:
            raise MPIException(C.ERR_UNSUPPORTED_OPERATION,
                               "a file opened with MODE_SEQUENTIAL has only the shared "
                               "file pointer")

    def Seek(self, offset: int, whence: int = SEEK_SET) -> None:
        """Move the individual file pointer (in etypes of the view)."""
        st = self._check()
        self._not_sequential(st)
        st.position = self._seek_target(st, offset, whence, st.position)

    def Get_position(self) -> int:
        """The individual file pointer, in etypes of the view."""
        return self._check().position

    def Get_byte_offset(self, offset: int) -> int:
        """The absolute byte in the file of view position ``offset``."""
        st = self._check()
        offset = int(offset)
        if offset < 0:
            raise MPIException(C.ERR_ARG, f"negative offset {offset}")
        return st.view.byte_offset(offset)

    def Seek_shared(self, offset: int, whence: int = SEEK_SET) -> None:
        """Move the shared file pointer (collective, same arguments everywhere)."""
        st = self._check()

        def move() -> None:
            st.shared.update(lambda old: self._seek_target(st, offset, whence, old))
        self._collective(st, move, root_only=True)

    def Get_position_shared(self) -> int:
        """The shared file pointer, in etypes of the view."""
        return self._check().shared.get()

    # -- data access ------------------------------------------------------------------------
    def _prepare(self, st: _State, write: bool, buf: BufSpec
                 ) -> Tuple[np.ndarray, Callable[[int], None]]:
        """Return (the message's bytes as the file holds them, what to call with the bytes read
        after a read) of ``buf``, checked."""
        external = st.view.datarep == "external32"
        if write:
            self._writable(st)
            arr, _ = message_array(buf, writable=False)
            arr = np.ascontiguousarray(arr)
            if not arr.dtype.itemsize:
                return np.empty(0, np.uint8), _nothing
            if external:  # big-endian, sizes as native for the types allowed
                arr = arr.astype(_external32(arr.dtype))
            return arr.view(np.uint8).reshape(-1), _nothing
        if st.amode & MODE_WRONLY:
            raise MPIException(C.ERR_ACCESS,
                               "cannot read from a file opened with amode MODE_WRONLY")
        arr, _, commit = receive_array(buf)
        if not arr.dtype.itemsize:
            return np.empty(0, np.uint8), lambda moved: commit()
        if external:
            _external32(arr.dtype)
        target = arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)

        def finish(moved: int) -> None:
            if external:  # the whole elements read were big-endian
                whole = target.reshape(-1)[:moved // target.dtype.itemsize]
                whole.byteswap(inplace=True)
            if target is not arr:
                arr[...] = target
            commit()
        return target.view(np.uint8).reshape(-1), finish

    def _execute(self, st: _State, write: bool, data: np.ndarray,
                 finish: Callable[[int], None], position: int) -> int:
        """Move ``data`` to or from view position ``position``; returns the bytes moved."""
        if position < 0:
            raise MPIException(C.ERR_ARG, f"negative offset {position}")
        pieces = st.view.pieces(position, data.size)
        try:
            sieved = write and _sieve(st, pieces)
            with _range_lock(st, write, sieved, pieces):
                if write:
                    (_write_sieved if sieved else _write_pieces)(st.fd, data, pieces)
                    st.dirty = True
                    return data.size
                moved = _read_pieces(st.fd, data, pieces)
        except OSError as exc:
            raise _oserror(exc, "I/O error") from None
        finish(moved)
        return moved

    @staticmethod
    def _etypes(st: _State, data: np.ndarray) -> int:
        if data.size % st.view.esize:
            raise MPIException(C.ERR_IO, "only an integral number of etypes can be accessed")
        return data.size // st.view.esize

    def _transfer(self, st: _State, write: bool, buf: BufSpec,
                  where: Callable[[int], int]) -> int:
        """Move the message ``buf`` at the view position ``where(etypes)`` gives; returns
        the bytes moved."""
        data, finish = self._prepare(st, write, buf)
        position = where(self._etypes(st, data))
        return self._execute(st, write, data, finish, position)

    def _at(self, offset: int) -> Callable[[int], int]:
        def where(count: int) -> int:
            self._not_sequential(self._st)  # type: ignore[arg-type]
            return int(offset)
        return where

    def _individual(self, st: _State) -> Callable[[int], int]:
        def where(count: int) -> int:
            self._not_sequential(st)
            position = st.position
            st.position = position + count
            return position
        return where

    @staticmethod
    def _shared(st: _State) -> Callable[[int], int]:
        return lambda count: st.shared.update(lambda old: old + count)

    @staticmethod
    def _ordered(st: _State) -> Callable[[int], int]:
        def where(count: int) -> int:
            counts = st.comm.allgather(count)
            base = st.shared.update(lambda old: old + sum(counts)) if st.rank == 0 else None
            base = st.comm.bcast(base, 0)
            return base + sum(counts[:st.rank])
        return where

    def _independent(self, write: bool, buf: BufSpec, status: Optional[Status],
                     where: Callable[[_State], Callable[[int], int]]) -> None:
        st = self._check()
        _fill(status, self._transfer(st, write, buf, where(st)))

    def _all(self, write: bool, buf: BufSpec, status: Optional[Status],
             where: Callable[[_State], Callable[[int], int]], ordered: bool = False) -> int:
        st = self._check()
        if ordered:  # its position is agreed collectively: no separate meeting
            error: Optional[BaseException] = None
            try:
                data, finish = self._prepare(st, write, buf)
                count = self._etypes(st, data)
            except Exception as exc:  # still take part in the agreement, then raise
                error, count = exc, 0
            position = where(st)(count)
            if error is not None:
                raise error
            moved = self._execute(st, write, data, finish, position)
        else:
            moved = self._collective(st, lambda: self._transfer(st, write, buf, where(st)))
        _fill(status, moved)
        return moved

    def _request(self, nbytes: int, collective: bool) -> Request:
        st = self._check()
        if collective:
            req = _IORequest(future=st.comm.Ibarrier()._future)
        else:
            req = _IORequest(finish=lambda status: None)
        req._nbytes = nbytes
        return req

    def _nonblocking(self, write: bool, buf: BufSpec,
                     where: Callable[[_State], Callable[[int], int]]) -> Request:
        st = self._check()
        return self._request(self._transfer(st, write, buf, where(st)), False)

    def _inonblocking_all(self, write: bool, buf: BufSpec,
                          where: Callable[[_State], Callable[[int], int]]) -> Request:
        st = self._check()
        error: Optional[BaseException] = None
        moved = 0
        try:
            moved = self._transfer(st, write, buf, where(st))
        except Exception as exc:
            error = exc
        req = self._request(moved, True)  # the others are met whatever happened here
        if error is not None:
            raise error
        return req

    def _begin(self, kind: str, write: bool, buf: BufSpec,
               where: Callable[[_State], Callable[[int], int]], ordered: bool = False) -> None:
        st = self._check()
        if st.split is not None:
            raise MPIException(C.ERR_IO, "only one split collective I/O operation may be "
                               "active per file")
        moved = self._all(write, buf, None, where, ordered)
        st.split = (kind, moved)

    def _end(self, kind: str, buf: BufSpec, status: Optional[Status]) -> None:
        st = self._check()
        if kind.startswith("write"):  # the buffer is checked as mpi4py checks it
            message_array(buf, writable=False)
        else:
            receive_array(buf)
        if st.split is None or st.split[0] != kind:
            raise MPIException(C.ERR_IO, "no split collective I/O operation is active")
        _fill(status, st.split[1])
        if status is not None:  # MPICH's *_end leaves a zeroed envelope
            status.source = status.tag = 0
        st.split = None

    # explicit offsets
    def Read_at(self, offset: int, buf: BufSpec, status: Optional[Status] = None) -> None:
        """Read at view position ``offset`` (etypes)."""
        self._independent(False, buf, status, lambda st: self._at(offset))

    def Read_at_all(self, offset: int, buf: BufSpec, status: Optional[Status] = None) -> None:
        """Collective ``Read_at``."""
        self._all(False, buf, status, lambda st: self._at(offset))

    def Write_at(self, offset: int, buf: BufSpec, status: Optional[Status] = None) -> None:
        """Write at view position ``offset`` (etypes)."""
        self._independent(True, buf, status, lambda st: self._at(offset))

    def Write_at_all(self, offset: int, buf: BufSpec, status: Optional[Status] = None) -> None:
        """Collective ``Write_at``."""
        self._all(True, buf, status, lambda st: self._at(offset))

    def Iread_at(self, offset: int, buf: BufSpec) -> Request:
        """Non-blocking ``Read_at`` (the transfer is done at the call)."""
        return self._nonblocking(False, buf, lambda st: self._at(offset))

    def Iread_at_all(self, offset: int, buf: BufSpec) -> Request:
        """Non-blocking ``Read_at_all``; the request completes once every rank has joined."""
        return self._inonblocking_all(False, buf, lambda st: self._at(offset))

    def Iwrite_at(self, offset: int, buf: BufSpec) -> Request:
        """Non-blocking ``Write_at`` (the transfer is done at the call)."""
        return self._nonblocking(True, buf, lambda st: self._at(offset))

    def Iwrite_at_all(self, offset: int, buf: BufSpec) -> Request:
        """Non-blocking ``Write_at_all``; the request completes once every rank has joined."""
        return self._inonblocking_all(True, buf, lambda st: self._at(offset))

    def Read_at_all_begin(self, offset: int, buf: BufSpec) -> None:
        """Start a split collective ``Read_at_all``."""
        self._begin("read_at", False, buf, lambda st: self._at(offset))

    def Read_at_all_end(self, buf: BufSpec, status: Optional[Status] = None) -> None:
        """Finish the split collective ``Read_at_all``."""
        self._end("read_at", buf, status)

    def Write_at_all_begin(self, offset: int, buf: BufSpec) -> None:
        """Start a split collective ``Write_at_all``."""
        self._begin("write_at", True, buf, lambda st: self._at(offset))

    def Write_at_all_end(self, buf: BufSpec, status: Optional[Status] = None) -> None:
        """Finish the split collective ``Write_at_all``."""
        self._end("write_at", buf, status)

    # individual file pointer
    def Read(self, buf: BufSpec, status: Optional[Status] = None) -> None:
        """Read at the individual file pointer and advance it."""
        self._independent(False, buf, status, self._individual)

    def Read_all(self, buf: BufSpec, status: Optional[Status] = None) -> None:
        """Collective ``Read``."""
        self._all(False, buf, status, self._individual)

    def Write(self, buf: BufSpec, status: Optional[Status] = None) -> None:
        """Write at the individual file pointer and advance it."""
        self._independent(True, buf, status, self._individual)

    def Write_all(self, buf: BufSpec, status: Optional[Status] = None) -> None:
        """Collective ``Write``."""
        self._all(True, buf, status, self._individual)

    def Iread(self, buf: BufSpec) -> Request:
        """Non-blocking ``Read`` (the transfer is done at the call)."""
        return self._nonblocking(False, buf, self._individual)

    def Iread_all(self, buf: BufSpec) -> Request:
        """Non-blocking ``Read_all``; the request completes once every rank has joined."""
        return self._inonblocking_all(False, buf, self._individual)

    def Iwrite(self, buf: BufSpec) -> Request:
        """Non-blocking ``Write`` (the transfer is done at the call)."""
        return self._nonblocking(True, buf, self._individual)

    def Iwrite_all(self, buf: BufSpec) -> Request:
        """Non-blocking ``Write_all``; the request completes once every rank has joined."""
        return self._inonblocking_all(True, buf, self._individual)

    def Read_all_begin(self, buf: BufSpec) -> None:
        """Start a split collective ``Read_all``."""
        self._begin("read", False, buf, self._individual)

    def Read_all_end(self, buf: BufSpec, status: Optional[Status] = None) -> None:
        """Finish the split collective ``Read_all``."""
        self._end("read", buf, status)

    def Write_all_begin(self, buf: BufSpec) -> None:
        """Start a split collective ``Write_all``."""
        self._begin("write", True, buf, self._individual)

    def Write_all_end(self, buf: BufSpec, status: Optional[Status] = None) -> None:
        """Finish the split collective ``Write_all``."""
        self._end("write", buf, status)

    # shared file pointer
    def Read_shared(self, buf: BufSpec, status: Optional[Status] = None) -> None:
        """Read at the shared file pointer and advance it (not collective)."""
        self._independent(False, buf, status, self._shared)

    def Write_shared(self, buf: BufSpec, status: Optional[Status] = None) -> None:
        """Write at the shared file pointer and advance it (not collective)."""
        self._independent(True, buf, status, self._shared)

    def Iread_shared(self, buf: BufSpec) -> Request:
        """Non-blocking ``Read_shared`` (the transfer is done at the call)."""
        return self._nonblocking(False, buf, self._shared)

    def Iwrite_shared(self, buf: BufSpec) -> Request:
        """Non-blocking ``Write_shared`` (the transfer is done at the call)."""
        return self._nonblocking(True, buf, self._shared)

    def Read_ordered(self, buf: BufSpec, status: Optional[Status] = None) -> None:
        """Collective read at the shared file pointer, in rank order."""
        self._all(False, buf, status, self._ordered, ordered=True)

    def Write_ordered(self, buf: BufSpec, status: Optional[Status] = None) -> None:
        """Collective write at the shared file pointer, in rank order."""
        self._all(True, buf, status, self._ordered, ordered=True)

    def Read_ordered_begin(self, buf: BufSpec) -> None:
        """Start a split collective ``Read_ordered``."""
        self._begin("read_ordered", False, buf, self._ordered, ordered=True)

    def Read_ordered_end(self, buf: BufSpec, status: Optional[Status] = None) -> None:
        """Finish the split collective ``Read_ordered``."""
        self._end("read_ordered", buf, status)

    def Write_ordered_begin(self, buf: BufSpec) -> None:
        """Start a split collective ``Write_ordered``."""
        self._begin("write_ordered", True, buf, self._ordered, ordered=True)

    def Write_ordered_end(self, buf: BufSpec, status: Optional[Status] = None) -> None:
        """Finish the split collective ``Write_ordered``."""
        self._end("write_ordered", buf, status)

    # -- error handling ---------------------------------------------------------------------
    def Get_errhandler(self) -> _Errhandler:
        """The file's error handler (``FILE_NULL``'s is the one new files get)."""
        if self._st is None:
            return _errhandler.reference(_default_errhandler[0])
        return _errhandler.reference(self._check().errhandler)

    def Set_errhandler(self, errhandler: _Errhandler) -> None:
        """Set the error handler (hpxpy always raises ``MPI.Exception``)."""
        errhandler = check_settable(errhandler)
        if self._st is None:
            _default_errhandler[0] = errhandler
        else:
            self._check().errhandler = errhandler

    def Call_errhandler(self, errorcode: int) -> None:
        """Run the file's error handler with ``errorcode``."""
        handler = _default_errhandler[0] if self._st is None else self._check().errhandler
        _errhandler.call(handler, self, errorcode)

    @classmethod
    def Create_errhandler(cls, errhandler_fn: Callable[..., None]) -> _Errhandler:
        """A user error handler: ``errhandler_fn(file, errorcode)``."""
        return _errhandler.create("File", errhandler_fn)

    # -- Python properties ------------------------------------------------------------------
    size = property(Get_size, doc="The file's size in bytes.")
    amode = property(Get_amode, doc="The access mode.")
    info = property(Get_info, Set_info, doc="The hints.")
    atomicity = property(Get_atomicity, Set_atomicity, doc="Atomic mode.")

    @property
    def group(self) -> Group:
        """The group of the file's communicator."""
        return self.Get_group()

    @property
    def group_size(self) -> int:
        """The number of processes of the file's group."""
        return self._check().comm.Get_size()

    @property
    def group_rank(self) -> int:
        """This process's rank in the file's group."""
        return self._check().rank


FILE_NULL = File()


@atexit.register
def _left_open() -> None:
    """Files still open at exit: close them, and rank 0 removes the shared pointer's side
    file (no collective step: the job may be going down)."""
    for st in list(_handles.values()):
        if st.fd >= 0 and st.rank == 0:
            try:
                os.unlink(st.shared.path)
            except OSError:
                pass
        File._release(st)


def Register_datarep(datarep: str, read_fn: Optional[Callable[..., None]],
                     write_fn: Optional[Callable[..., None]],
                     extent_fn: Callable[[D.Datatype], int]) -> None:
    """Record a data representation's name (a second registration raises
    ``ERR_DUP_DATAREP``); hpxpy does not convert data, so a view using it raises
    ``NotImplementedError``."""
    datarep = str(datarep)
    if datarep in _dataresps or datarep in ("native", "internal", "external32"):
        raise MPIException(C.ERR_DUP_DATAREP, f"data representation {datarep!r} is "
                           f"already registered")
    _dataresps[datarep] = (read_fn, write_fn, extent_fn)
