"""Private files: how the token cache (and its side records) read and write their files.

Standard library only: the cache-hit path imports this module. A file is read only when it is a
regular file of this user that nobody else can read or write, at most `MAX_FILE_BYTES`, opened
never through a symlink and never blocking (a FIFO planted in the cache must not hang kubectl).
A file is written to a temp file in the same directory (0600), then renamed over the old one.
A directory is used only when it is a real directory of this user that others cannot write.

The write rule of every file rgpu-exec writes (the cache's files here, the key file, kubeconfig
files) is `write_target_problem`: a path given whole (absolute), and nothing there now but a
regular file (never a device or a FIFO, such as `KUBECONFIG=/dev/null`). `exposed_directory`
names a directory above a file that other users can write to, for the writers to say so.
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


class RefusedPathError(OSError):
    """`write_target_problem` refused the path: nothing was written."""


def write_target_problem(path: str, *, follow: bool) -> "str | None":
    """Why rgpu-exec must not write `path`, or None: the one path rule of every file it writes.

    The path must be absolute (a relative one would depend on the directory the command runs
    in; a relative XDG directory is ignored before it gets here). What is there now must be a
    regular file, or nothing: a device, a FIFO, a socket or a directory is never replaced nor
    written into. With `follow`, a symlink is judged by its target (a kubeconfig is written
    through its link, as kubectl does); without, by itself (the cache and the key file replace
    a link, never write through it).
    """
    if not os.path.isabs(path):
        return "is a relative path (rgpu-exec writes only where an absolute path says)"
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        return f"cannot be examined ({exc.strerror or exc})"
    mode = st.st_mode
    if stat.S_ISREG(mode) or (not follow and stat.S_ISLNK(mode)):
        return None
    return f"is {_kind_of(mode)}, not a regular file, so rgpu-exec never replaces it"


def check_write_target(path: str, *, follow: bool) -> None:
    """`write_target_problem`, as an error: RefusedPathError (an OSError) naming the path."""
    problem = write_target_problem(path, follow=follow)
    if problem:
        raise RefusedPathError(f"{path} {problem}")


def _kind_of(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def exposed_directory(path: str) -> "str | None":
    """The directory above `path` that other users can write to, or None: the file's own
    directory when others may write there (even with the sticky bit, as /tmp: they can then
    plant the lock or the file itself), else the first ancestor others may write to without
    the sticky bit (they could swap a directory on the way)."""
    directory = os.path.dirname(path)
    first = True
    while directory:
        try:
            mode = os.stat(directory).st_mode
        except OSError:
            mode = 0
        if mode & 0o002 and (first or not mode & stat.S_ISVTX):
            return directory
        first = False
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent
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


def write_atomically(path: str, text: str, *, durable: bool = True, replace: bool = True) -> bool:
    """Temp file in the same directory, 0600, fsync (unless not `durable`), then rename over
    `path`; True when written.

    The rename replaces a symlink at `path` rather than writing through it. A record that may be
    lost in a crash at no cost but a missed hint (`second_ask`) skips the fsync. The path
    passes the write rule first (`check_write_target`): a FIFO or device at `path` stays. With
    `replace=False` the file is linked into place only when nothing is there (of processes
    racing to create it, the first wins; False for the others), or renamed where the file
    system has no hard links.
    """
    check_write_target(path, follow=False)
    tmp = f"{path}.{os.getpid()}.{time.monotonic_ns()}{TEMP_SUFFIX}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, 0o600)
    try:
        try:
            os.write(fd, text.encode())
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)  # never replaces what another process made first
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links
            os.replace(tmp, path)
        return True
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def write_hint(path: str, text: str) -> None:
    """Write a record that may be lost at no cost but a missed hint (`second_ask`'s `.served`,
    `.forced` and `.accepted`, `typed_key`'s `.typed`): atomically, without the fsync, and a
    failure to write is no failure of the command."""
    try:
        write_atomically(path, text, durable=False)
    except OSError:
        pass
