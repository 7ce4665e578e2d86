"""Private files: how the token cache (and its side records) read and write their files.

Standard library only: the cache-hit path imports this module. A file is read only when it is a
regular file of this user that nobody else can read or write, at most `MAX_FILE_BYTES`, opened
never through a symlink and never blocking (a FIFO planted in the cache must not hang kubectl).
A file is written to a temp file in the same directory (0600), then renamed over the old one.
A directory is used only when it is a real directory of this user that others cannot write.
"""

import os
import stat
import time

MAX_FILE_BYTES = 64 * 1024
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# A FIFO or device planted as an entry must not hang the plugin in open(): never block there.
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
# How every cache file is opened for reading: never through a symlink, never blocking.
SAFE_OPEN_FLAGS = _O_NOFOLLOW | _O_CLOEXEC | _O_NONBLOCK
TEMP_SUFFIX = ".tmp"


def directory_problem(directory: str) -> "str | None":
    """Why this cache directory must not be used, or None. A missing directory is fine. A
    relative path is refused: kubectl runs the plugin in whatever directory it was started in,
    so the cache would move with it."""
    if not os.path.isabs(directory):
        return "is a relative path (the cache would depend on the directory kubectl runs in)"
    try:
        st = os.lstat(directory)  # never through a symlink: its target could be anyone's
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link (rgpu-exec keeps tokens only in a real directory of yours)"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a directory"
    geteuid = getattr(os, "geteuid", None)
    if geteuid is not None and st.st_uid != geteuid():
        return f"is owned by another user (uid {st.st_uid})"
    if st.st_mode & 0o022:
        return f"is writable by other users (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def read_private(path: str) -> "str | None":
    """The file's text if it is a regular file of ours that nobody else can read; else None."""
    try:
        fd = os.open(path, os.O_RDONLY | SAFE_OPEN_FLAGS)
    except OSError:
        return None
    try:
        return read_private_fd(fd)
    finally:
        os.close(fd)


def read_private_fd(fd: int) -> "str | None":
    """`read_private` on a file already open (opened with SAFE_OPEN_FLAGS), from where it is."""
    try:
        st = os.fstat(fd)
        geteuid = getattr(os, "geteuid", None)
        if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o077:
            return None
        if geteuid is not None and st.st_uid != geteuid():
            return None
        data = os.read(fd, MAX_FILE_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_FILE_BYTES:
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return None


def ensure_directory(directory: str) -> None:
    """Create the cache directory 0700 (and its parents as the umask says).

    Whoever created it (this process, or another that won a creation race), it is checked
    afterwards: a directory that `directory_problem` refuses raises PermissionError.
    """
    parent = os.path.dirname(directory)
    if parent and not os.path.isdir(parent):
        os.makedirs(parent, exist_ok=True)
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    else:
        os.chmod(directory, 0o700)
    problem = directory_problem(directory)
    if problem:
        raise PermissionError(f"{directory} {problem}")


def write_atomically(path: str, text: str, *, durable: bool = True) -> None:
    """Temp file in the same directory, 0600, fsync (unless not `durable`), then rename over
    `path`.

    The rename replaces a symlink at `path` rather than writing through it. A record that may be
    lost in a crash at no cost but a missed hint (`second_ask`) skips the fsync.
    """
    tmp = f"{path}.{os.getpid()}.{time.monotonic_ns()}{TEMP_SUFFIX}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, 0o600)
    try:
        try:
            os.write(fd, text.encode())
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
