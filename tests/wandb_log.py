"""A minimal writer of W&B .wandb transaction logs for the Python tests,
as docs/WANDB.md describes the format (the C writer is
format/wandb_writer.c): the 7-byte header, LevelDB log framing with W&B's
unmasked CRC-32, and protobuf Records holding a RunRecord, the
UseArtifactRecords an online run writes, and a RunExitRecord."""

import struct
import zlib

BLOCK = 32768
HEADER = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
FULL = 1
# Record oneof fields, and the fields of the records used here
F_RUN, F_EXIT, F_USE = 17, 18, 25


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(num, value):
    """A length-delimited field (str or bytes), or a varint (int)."""
    if isinstance(value, int):
        return _varint(num << 3) + _varint(value)
    if isinstance(value, str):
        value = value.encode()
    return _varint(num << 3 | 2) + _varint(len(value)) + value


class WandbLog:
    """with WandbLog(path) as w: w.run(...); w.use(...); w.exit(0)"""

    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(HEADER)
        self.pos = len(HEADER)
        self.num = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def _record(self, field, body):
        self.num += 1
        data = _field(1, self.num) + _field(field, body)
        left = BLOCK - self.pos % BLOCK
        if left < 7:                      # too short for a chunk header
            self.f.write(b"\0" * left)
            self.pos += left
            left = BLOCK
        if 7 + len(data) > left:
            raise ValueError("record does not fit in one chunk; this "
                             "writer only writes FULL chunks")
        crc = zlib.crc32(data, zlib.crc32(bytes([FULL])))
        self.f.write(struct.pack("<IHB", crc, len(data), FULL) + data)
        self.pos += 7 + len(data)

    def run(self, run_id, entity, project, name=None, job_type=None,
            start=None):
        """`start`: seconds since the epoch."""
        body = _field(1, run_id) + _field(2, entity) + _field(3, project)
        if job_type:
            body += _field(7, job_type)
        if name:
            body += _field(8, name)
        if start is not None:
            body += _field(17, _field(1, int(start)))
        self._record(F_RUN, body)

    def use(self, server_id, type, name):
        """An online run's use_artifact: W&B's id of the version, its
        type, and its name as W&B writes it ("collection:vN")."""
        self._record(F_USE, _field(1, server_id) + _field(2, type) +
                     _field(3, name))

    def exit(self, code, runtime=0):
        body = _field(1, code) if code else b""
        if runtime:
            body += _field(2, runtime)
        self._record(F_EXIT, body)
