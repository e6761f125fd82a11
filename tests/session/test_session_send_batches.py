"""The send path over a real socket: a tick's frames go out together yet stay one message per frame,
the socket's backpressure is honoured (nothing written from the tick while the write buffer is over
its high-water mark, nothing lost or repeated), and a failing tick ends the session clearly."""

from __future__ import annotations

from pathlib import Path

from sessionkit import Peer, Run, ScriptedServer, replay_sources, run_session, session_config, wait_for

from app.capture.replay import ReplaySource
from app.core.framing import Frame
from app.core.messages import FRAME_BYTES, FRAME_SECONDS, Source
from app.core.session_state import StopOutcome
from app.core.stop_pad import PAD_FRAMES, SILENCE

HEADER = {Source.SYSTEM: b"EP\x01\x00", Source.MIC: b"EP\x01\x01"}


class Receiver:
    """A scripted backend that keeps every audio message it gets, per source, in order."""

    def __init__(self) -> None:
        self.pcm: dict[Source, list[bytes]] = {Source.SYSTEM: [], Source.MIC: []}
        self.malformed = 0

    @property
    def frames(self) -> int:
        return sum(len(v) for v in self.pcm.values())

    async def script(self, peer: Peer) -> None:
        await peer.handshake()
        async for msg in peer.ws:
            if isinstance(msg, str):
                if '"stop"' in msg:
                    break
                continue
            source = next((s for s, h in HEADER.items() if msg.startswith(h)), None)
            if source is None or len(msg) != len(HEADER[source]) + FRAME_BYTES:
                self.malformed += 1
            else:
                self.pcm[source].append(msg[len(HEADER[source]) :])
        await peer.summary()


async def wav_frames(path: Path, source: Source) -> list[bytes]:
    """The frames a replay of ``path`` yields, read in one go."""
    src = ReplaySource(source, path, realtime=False, batch_seconds=100.0)
    await src.start()
    frames: list[Frame] = []
    while not src.finished:
        frames.extend(src.read_frames())
    return [f.pcm for f in frames]


async def assert_received_exactly_once_in_order(receiver: Receiver, run: Run,
                                                wavs: dict[Source, Path]) -> None:
    assert run.ended is not None and run.ended.outcome is StopOutcome.SUMMARY, run.ended.message
    assert receiver.malformed == 0  # every message is one whole frame of one source
    for source, path in wavs.items():
        expected = await wav_frames(path, source)
        # each frame once, in order, none missing; then the stop padding (silence)
        assert receiver.pcm[source] == expected + [SILENCE] * PAD_FRAMES
        counters = run.ended.sources[source]
        assert counters.sent_frames == counters.captured_frames == len(expected)
        assert counters.padding_frames == PAD_FRAMES


async def test_every_frame_is_its_own_message_in_order(wavs: dict[Source, Path]) -> None:
    receiver = Receiver()
    async with ScriptedServer([receiver.script]) as server:
        run = await run_session(session_config(server.url, health_check=False), replay_sources(wavs))
    await assert_received_exactly_once_in_order(receiver, run, wavs)


async def test_a_full_write_buffer_stops_the_sending_until_it_drains(wavs: dict[Source, Path]) -> None:
    receiver = Receiver()
    seen: dict[str, int] = {}

    def sent(run: Run) -> int:
        return sum(c.sent_frames for c in run.session.snapshot().sources.values())

    def buffered(run: Run) -> int:
        return sum(c.buffered_frames for c in run.session.snapshot().sources.values())

    async def stall(run: Run) -> None:
        await wait_for(lambda: sent(run) >= 20)
        conn = run.session._connections.conn
        assert conn is not None
        ws = conn._ws
        # What the transport does when its buffer passes the high-water mark (a backend that does not
        # read fills the kernel's buffers first, megabytes on loopback: too slow to wait for here).
        ws.pause_writing()
        seen["sent"], seen["received"] = sent(run), receiver.frames
        await wait_for(lambda: buffered(run) >= 25)  # about half a second of audio waits
        seen["sent_while_paused"] = sent(run)
        seen["received_while_paused"] = receiver.frames
        ws.resume_writing()

    async with ScriptedServer([receiver.script]) as server:
        config = session_config(server.url, health_check=False)
        run = await run_session(config, replay_sources(wavs), during=stall)
    # A send blocked on the buffer is not counted as sent; the tick wrote nothing meanwhile: at most
    # the one batch the blocked send had written (one tick of both sources, plus the late frames
    # the pacer makes up if that tick ran late on a busy machine) reached the backend.
    one_batch = 2 * (round(config.tick_seconds / FRAME_SECONDS) + 2)
    assert seen["sent_while_paused"] == seen["sent"]
    assert seen["received_while_paused"] <= seen["sent"] + one_batch
    await assert_received_exactly_once_in_order(receiver, run, wavs)


class FailingReplay(ReplaySource):
    """A source with a bug: its fifth read raises (sources must never raise)."""

    reads = 0

    def read_frames(self) -> list[Frame]:
        self.reads += 1
        if self.reads == 5:
            raise RuntimeError("bug in a source")
        return super().read_frames()


async def test_a_failing_tick_ends_the_session_failed_with_the_reason(wavs: dict[Source, Path]) -> None:
    receiver = Receiver()
    sources = [FailingReplay(Source.SYSTEM, wavs[Source.SYSTEM]), ReplaySource(Source.MIC, wavs[Source.MIC])]
    async with ScriptedServer([receiver.script]) as server:
        run = await run_session(session_config(server.url, health_check=False), sources, timeout=30)
    assert run.ended is not None and run.ended.outcome is StopOutcome.FAILED
    assert "Internal error" in run.ended.message and "bug in a source" in run.ended.message
