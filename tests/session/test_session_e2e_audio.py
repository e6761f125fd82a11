"""End to end with real audio: espeak-ng speech played into the virtual system sink and, at the same
time, a different phrase into the virtual microphone; the app's own capture records both, the session
streams them to the reference backend (pocketsphinx, recording to disk)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
import soxr
from sessionkit import Run, run_session, session_config, wait_for

TESTS_DIR = str(Path(__file__).resolve().parents[1])
if TESTS_DIR not in sys.path:  # tests/audio_env.py (the capture engineer's virtual PulseAudio)
    sys.path.insert(0, TESTS_DIR)

from audio_env import MIC_SINK, SYSTEM_SINK, ensure_virtual_audio, play_wav  # noqa: E402
from testkit import transcript_text  # noqa: E402

from app.backend import BackendConfig, ReferenceBackend  # noqa: E402
from app.backend.recording import read_recording  # noqa: E402
from app.core.messages import Source  # noqa: E402
from app.core.session_state import ConnectionState, StopOutcome  # noqa: E402

pytestmark = [pytest.mark.audio, pytest.mark.slow]

# Phrases pocketsphinx's default model recognises reliably in espeak-ng's en-us voice at 130 wpm.
SYSTEM_PHRASE = "the meeting will start at ten o'clock tomorrow morning"
MIC_PHRASE = "twenty five people attended the conference yesterday"
SYSTEM_WORDS = {"meeting", "start", "ten", "o'clock", "tomorrow", "morning"}
MIC_WORDS = {"twenty", "five", "people", "attended", "conference", "yesterday"}


@pytest.fixture(scope="module")
def virtual_audio() -> dict[str, str]:
    return ensure_virtual_audio()


def speak(path: Path, text: str) -> Path:
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(path), text], check=True,
                   capture_output=True)
    return path


def wav_16k(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        rate, data = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), "<i2")
    return np.asarray(soxr.resample(data.astype(np.float64) / 32768, rate, 16000))


def similarity(captured: np.ndarray, reference: np.ndarray) -> float:
    """Correlation of ``reference`` with the best-aligned stretch of ``captured``."""
    n = len(captured) + len(reference)
    spectrum = np.fft.rfft(captured, n) * np.conj(np.fft.rfft(reference, n))
    lag = int(np.argmax(np.fft.irfft(spectrum, n)[: len(captured)]))
    segment = captured[lag : lag + len(reference)]
    if len(segment) < len(reference) // 2 or segment.std() == 0:
        return 0.0
    return float(np.corrcoef(segment, reference[: len(segment)])[0, 1])


@pytest.mark.timeout(180)
async def test_real_capture_of_both_sources_reaches_the_backend_and_is_transcribed(
    virtual_audio: dict[str, str], tmp_path: Path
) -> None:
    from app.capture.live import LiveSource

    system_wav = speak(tmp_path / "system.wav", SYSTEM_PHRASE)
    mic_wav = speak(tmp_path / "mic.wav", MIC_PHRASE)
    record_dir = tmp_path / "rec"
    # A long server queue: this test is about capture and transport, not load, so on a busy machine the
    # two recognizers may fall behind but must not drop audio.
    config = BackendConfig(host="127.0.0.1", port=0, recognizer="pocketsphinx", record_dir=record_dir,
                           queue_seconds=30.0)

    async def play_then_stop(run: Run) -> None:
        await wait_for(lambda: run.session.snapshot().state is ConnectionState.STREAMING, timeout=90)
        players = [play_wav(system_wav, SYSTEM_SINK), play_wav(mic_wav, MIC_SINK)]
        loop = asyncio.get_running_loop()
        codes = [await loop.run_in_executor(None, p.wait) for p in players]
        assert codes == [0, 0]
        await asyncio.sleep(1.5)  # the sinks' latency and the last words' silence
        run.session.request_stop()

    async with ReferenceBackend(config) as backend:
        sources = [LiveSource(Source.SYSTEM), LiveSource(Source.MIC)]
        cfg = session_config(backend.ws_url, health_wait_seconds=90.0, summary_timeout=60.0)
        run = await run_session(cfg, sources, during=play_then_stop, timeout=170)
    assert run.ended is not None and run.ended.outcome is StopOutcome.SUMMARY, run.ended.message
    for src in (Source.SYSTEM, Source.MIC):
        counters = run.ended.sources[src]
        assert counters.sent_frames == counters.captured_frames > 0 and counters.dropped_frames == 0

    # what the backend recorded for each source is what was played into that source's sink
    played = {Source.SYSTEM: wav_16k(system_wav), Source.MIC: wav_16k(mic_wav)}
    for src, other in ((Source.SYSTEM, Source.MIC), (Source.MIC, Source.SYSTEM)):
        recorded = read_recording(record_dir, run.session.session_id, src.value).astype(np.float64) / 32768
        own, cross = similarity(recorded, played[src]), similarity(recorded, played[other])
        assert own > 0.6 and own > cross + 0.3, (src, own, cross)

    # and the transcript contains the spoken words, per source
    segments = run.session.snapshot().transcript
    heard = {src: set(transcript_text(segments, src.value).lower().split()) for src in Source}
    assert run.ended.server_dropped_frames == 0
    assert len(heard[Source.SYSTEM] & SYSTEM_WORDS) >= 2, heard
    assert len(heard[Source.MIC] & MIC_WORDS) >= 2, heard
    assert not heard[Source.SYSTEM] & {"conference", "yesterday"}, heard  # no cross-talk
    assert not heard[Source.MIC] & {"o'clock", "tomorrow", "morning"}, heard
