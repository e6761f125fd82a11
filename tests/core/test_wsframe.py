"""Client frame serialization (app.core.wsframe) against the websockets library's own frame parser,
which is what the reference backend runs: every length class, masking, and the batch layout."""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from app.core.messages import FRAME_BYTES, Source
from app.core.protocol import decode_client, encode_audio_frame
from app.core.wsframe import apply_mask, frame_header, masked_binary_frames


def parse_all(data: bytes) -> list[Frame]:
    """Parse ``data`` the way a websockets server does (``mask=True``: client frames must be masked)."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    frames = []
    while True:
        parser: Generator[None, None, Frame] = Frame.parse(reader.read_exact, mask=True, max_size=None)
        try:
            next(parser)
        except StopIteration as done:
            frames.append(done.value)
            continue
        except EOFError:
            return frames
        return frames  # the parser wanted more bytes than there are: a truncated frame


@pytest.mark.parametrize("length", [0, 1, 125, 126, 644, 65535, 65536])
def test_each_length_class_parses_back_exactly(length: int) -> None:
    payload = os.urandom(length)
    [data] = masked_binary_frames([payload], b"\x01\x02\x03\x04")
    [frame] = parse_all(data)
    assert frame.opcode is Opcode.BINARY and frame.fin and not (frame.rsv1 or frame.rsv2 or frame.rsv3)
    assert frame.data == payload
    assert len(data) == len(frame_header(length)) + 4 + length


def test_a_batch_is_one_frame_per_payload_each_with_its_own_key() -> None:
    payloads = [encode_audio_frame(Source.MIC if i % 2 else Source.SYSTEM, bytes([i]) * FRAME_BYTES)
                for i in range(6)]
    keys = os.urandom(4 * len(payloads))
    data = masked_binary_frames(payloads, keys)
    assert [d[4:8] for d in data] == [keys[4 * i : 4 * i + 4] for i in range(6)]  # header 4 bytes, then key
    frames = parse_all(b"".join(data))
    assert [f.data for f in frames] == payloads
    decoded = [decode_client(f.data) for f in frames]
    assert [m.source for m in decoded] == [Source.SYSTEM, Source.MIC] * 3  # type: ignore[union-attr]


def test_the_payload_is_really_masked() -> None:
    payload = bytes(FRAME_BYTES)
    [data] = masked_binary_frames([payload], b"\xff\x00\xaa\x55")
    assert data[8:12] == b"\xff\x00\xaa\x55" and data[-4:] == b"\xff\x00\xaa\x55"


def test_wrong_key_material_is_refused() -> None:
    with pytest.raises(ValueError):
        masked_binary_frames([b"abc", b"def"], b"1234")
    with pytest.raises(ValueError):
        apply_mask(b"abc", b"12")


@given(st.binary(max_size=3000), st.binary(min_size=4, max_size=4))
def test_masking_is_an_involution_and_matches_the_rfc(data: bytes, key: bytes) -> None:
    masked = apply_mask(data, key)
    assert masked == bytes(b ^ key[i % 4] for i, b in enumerate(data))
    assert apply_mask(masked, key) == data
