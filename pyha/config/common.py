"""Shared pieces of the /etc/ha.d model: value parsers with heartbeat 3.0.x semantics and
the line store that makes parse -> render lossless.

Everything here is pure (no host) except `read_bytes`/`read_text`, the one way pyha reads
an /etc/ha.d file: only regular files, at most MAX_FILE_SIZE.  Callers hand in text and
get values or a `BadValue` that says what is wrong.  It must never raise anything else on
bad input.
"""

import errno
import os
import re
import stat
from typing import List, Optional, Tuple

# heartbeat.h: WHITESPACE separates a directive from its value; DELIMS (which adds the
# comma) separates the values of an option directive.
WHITESPACE = " \t\n\r\f"
DELIMS = ", \t\n\r\f"


class BadValue(ValueError):
    """A value heartbeat would refuse (exit 6); `hint` says what to write instead."""

    def __init__(self, message, hint=None):
        # type: (str, Optional[str]) -> None
        super(BadValue, self).__init__(message)
        self.message = message
        self.hint = hint


def show(text):
    # type: (str) -> str
    """`text` quoted for a message, with control and undecodable characters escaped."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif code < 0x20 or code == 0x7F or 0xD800 <= code <= 0xDFFF:
            # surrogates come from undecodable bytes (surrogateescape): show the byte
            out.append("\\x%02x" % (code & 0xFF))
        else:
            out.append(ch)
    return "'%s'" % "".join(out)


def split_ws(text):
    # type: (str) -> List[str]
    """Split on heartbeat's WHITESPACE only (the whole-line directives do this)."""
    return [t for t in re.split("[" + re.escape(WHITESPACE) + "]+", text) if t]


def split_delims(text):
    # type: (str) -> List[str]
    """Split on blanks and commas (option directives: `node a,b` == `node a b`)."""
    return [t for t in re.split("[" + re.escape(DELIMS) + "]+", text) if t]


def c_atoi(text):
    # type: (str) -> Tuple[int, bool]
    """C's atoi(): (value, clean).  `clean` is False when heartbeat would silently read
    something other than what is written (`12abc` -> 12, `abc` -> 0)."""
    m = re.match(r"^[ \t\n\r\f\v]*([+-]?\d+)", text)
    if not m:
        return 0, False
    value = int(m.group(1))
    # atoi overflows to whatever the C library gives; clamp to a C int so callers see
    # an out-of-range value rather than a huge Python int
    value = max(min(value, 2 ** 31 - 1), -(2 ** 31))
    return value, m.group(0) == text and not text.startswith("+")


_TIME_NUM = re.compile(r"[0-9.]*")
_CLEAN_TIME = re.compile(r"^(\d+(\.\d*)?|\.\d+)[ \t]*(ms|us)?$", re.IGNORECASE)
_C_FLOAT = re.compile(r"^(\d+(\.\d*)?|\.\d+)?")


def parse_time_ms(text):
    # type: (str) -> Tuple[int, bool]
    """Heartbeat's cl_get_msec(): seconds by default, `ms` / `us` suffix, decimals allowed,
    rounded to the nearest millisecond.  Returns (ms, clean); raises BadValue when
    heartbeat would refuse it.  `clean` is False for forms heartbeat accepts but reads
    oddly (`2msec`, `1.5.7`)."""
    s = text.lstrip(" \t\n\r\f")
    if not s or s[0] not in "0123456789.":
        raise BadValue("%s is not a time" % show(text),
                       "write seconds (`2`, `0.5`) or milliseconds (`500ms`)")
    num = _TIME_NUM.match(s).group(0)
    units = s[len(num):].lstrip(" \t\n\r\f")
    low = units.lower()
    if low.startswith("ms"):
        mult, div = 1.0, 1.0
    elif low.startswith("us"):
        mult, div = 1.0, 1000.0
    elif units == "":
        mult, div = 1000.0, 1.0
    else:
        raise BadValue("%s is not a time (unknown unit %s)" % (show(text), show(units)),
                       "only seconds (no unit), `ms` and `us` are understood")
    fm = _C_FLOAT.match(num)
    number = float(fm.group(0)) if fm and fm.group(0) else 0.0
    if number * mult / div > 2 ** 31 - 1:
        # heartbeat keeps times in a C long of milliseconds; nobody means 24+ days
        raise BadValue("%s is too long a time" % show(text), "times are at most a few minutes")
    ms = int(number * mult / div + 0.5)
    return ms, bool(_CLEAN_TIME.match(text))


def format_ms(ms):
    # type: (int) -> str
    """Canonical ha.cf spelling of a time: whole seconds as `30`, otherwise `1500ms`."""
    if ms % 1000 == 0:
        return str(ms // 1000)
    return "%dms" % ms


def human_ms(ms):
    # type: (int) -> str
    """A time for prose: `30 s`, `1.5 s`, `200 ms`."""
    if ms >= 1000:
        text = ("%.3f" % (ms / 1000.0)).rstrip("0").rstrip(".")
        return text + " s"
    return "%d ms" % ms


_TRUE = ("true", "on", "yes", "y", "1")
_FALSE = ("false", "off", "no", "n", "0")


def parse_bool(text):
    # type: (str) -> bool
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise BadValue("%s is not a boolean" % show(text), "use on/off (also yes/no, true/false, y/n, 1/0)")


def parse_ipv4(text):
    # type: (str) -> Optional[Tuple[int, int, int, int]]
    """Strict dotted quad, or None."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    out = []
    for p in parts:
        if not p.isdigit() or len(p) > 3 or int(p) > 255:
            return None
        out.append(int(p))
    return out[0], out[1], out[2], out[3]


def is_ipv4(text):
    # type: (str) -> bool
    return parse_ipv4(text) is not None


def netmask_to_prefix(text):
    # type: (str) -> Optional[int]
    """`255.255.255.0` -> 24; None if not a contiguous netmask."""
    q = parse_ipv4(text)
    if q is None:
        return None
    value = (q[0] << 24) | (q[1] << 16) | (q[2] << 8) | q[3]
    prefix = bin(value).count("1")
    if value != ((0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF):
        return None
    return prefix


class TextLines(object):
    """A file's physical lines, kept byte-for-byte so rendering an unchanged model gives
    back exactly the text it was parsed from.  Lines are split on LF only; a CR stays in
    the raw text (heartbeat cuts a line at the first CR or LF when reading it)."""

    def __init__(self, text):
        # type: (str) -> None
        parts = text.split("\n")
        self.final_newline = True
        if parts and parts[-1] == "":
            parts.pop()
        elif text:
            self.final_newline = False
        self.lines = parts  # type: List[str]

    @staticmethod
    def join(raw_lines, final_newline=True):
        # type: (List[str], bool) -> str
        if not raw_lines:
            return ""
        return "\n".join(raw_lines) + ("\n" if final_newline else "")


# The /etc/ha.d files are a few KB; anything near this is a mistake or an attack (the
# parsers keep every line, so a huge file costs memory many times its size).
MAX_FILE_SIZE = 1024 * 1024


class FileRefused(OSError):
    """A file pyha will not read: not a regular file, or too large.  An OSError (so callers
    that report unreadable files keep working) whose `strerror` says why in words."""


def _kind(mode):
    # type: (int) -> str
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _refuse_stat(path, st, limit):
    # type: (str, os.stat_result, int) -> None
    if not stat.S_ISREG(st.st_mode):
        target = os.path.realpath(path)
        via = " (a symlink to %s)" % target if target != os.path.abspath(path) else ""
        raise FileRefused(errno.EINVAL, "%s%s is %s, not a regular file" % (path, via, _kind(st.st_mode)), path)
    if st.st_size > limit:
        raise FileRefused(errno.EFBIG, "%s is %d bytes, too large (the limit is %d)" % (path, st.st_size, limit),
                          path)


def read_bytes(path, limit=MAX_FILE_SIZE):
    # type: (str, int) -> bytes
    """The content of the regular file `path` (symlinks followed); FileRefused for anything
    else or for more than `limit` bytes, other OSErrors as they come.

    The type is checked before opening, so a FIFO, a device or a directory is never opened
    (opening some devices has effects: /dev/watchdog arms the watchdog); the open itself is
    non-blocking and checked again, in case the file was swapped in between."""
    _refuse_stat(path, os.stat(path), limit)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    try:
        _refuse_stat(path, os.fstat(fd), limit)
        chunks = []
        size = 0
        while size <= limit:  # the file may grow after fstat: never read past the limit
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise FileRefused(errno.EFBIG, "%s is more than %d bytes, too large" % (path, limit), path)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path, limit=MAX_FILE_SIZE):
    # type: (str, int) -> str
    """Read a config file (see `read_bytes`) as text without ever failing on encoding:
    undecodable bytes survive as surrogates (so writing the text back restores them)."""
    return read_bytes(path, limit).decode("utf-8", "surrogateescape")
