"""The `serial <tty>` medium: classic `>>>`...`<<<` text over a null-modem cable (pyserial).

Heartbeat writes classic-format messages on serial lines (spec 1.2); a frame ends at the
`<<<\\n` line, optionally followed by a NUL.  Bytes before a `>>>\\n` are line noise and are
skipped.  The port is opened non-blocking so a stuck UART never stalls keepalives.
"""

from typing import List, Optional, Tuple

from pyha.media.base import MAX_DATAGRAM, Medium, MediumError

START = b">>>\n"
END = b"<<<\n"
BAUD_RATES = (9600, 19200, 38400, 57600, 115200, 230400, 460800)


class FrameSplitter(object):
    """Cuts a byte stream into classic frames; bounded memory, resynchronises on noise."""

    def __init__(self, limit=MAX_DATAGRAM):
        # type: (int) -> None
        self.buf = b""
        self.limit = limit
        self.discarded = 0

    def feed(self, data):
        # type: (bytes) -> List[bytes]
        self.buf += data
        frames = []
        while True:
            start = self.buf.find(START)
            if start < 0:
                # keep a tail that could be the beginning of a start marker
                keep = len(START) - 1
                self.discarded += max(0, len(self.buf) - keep)
                self.buf = self.buf[-keep:] if len(self.buf) > keep else self.buf
                break
            if start:
                self.discarded += start
                self.buf = self.buf[start:]
            end = self.buf.find(END, len(START))
            if end < 0:
                if len(self.buf) > self.limit:
                    self.discarded += len(self.buf)
                    self.buf = b""
                break
            stop = end + len(END)
            frame = self.buf[:stop]
            if self.buf[stop:stop + 1] == b"\0":
                stop += 1
            self.buf = self.buf[stop:]
            frames.append(frame)
        return frames


class SerialMedium(Medium):
    def __init__(self, device, baud=19200, port=None):
        # type: (str, int, Optional[object]) -> None
        self.name = device
        self.baud = baud
        self.splitter = FrameSplitter()
        self.send_errors = 0
        if baud not in BAUD_RATES:
            raise MediumError("serial %s: baud %d is not one of %s" % (device, baud, BAUD_RATES))
        if port is None:
            try:
                import serial  # pyserial
                port = serial.Serial(device, baudrate=baud, timeout=0, write_timeout=0)
            except Exception as exc:  # serial.SerialException, OSError
                raise MediumError("serial %s: cannot open: %s" % (device, exc))
        self.port = port

    def fileno(self):
        return self.port.fileno()

    def send(self, payload):
        # type: (bytes) -> int
        try:
            self.port.write(payload)
            return 1
        except Exception:  # SerialTimeoutException on a full buffer: a lost frame
            self.send_errors += 1
            return 0

    def receive(self):
        # type: () -> List[Tuple[bytes, str]]
        try:
            waiting = self.port.in_waiting
            data = self.port.read(max(waiting, 1))
        except Exception:
            return []
        if not data:
            return []
        return [(f, self.name) for f in self.splitter.feed(data)]

    def close(self):
        self.port.close()
