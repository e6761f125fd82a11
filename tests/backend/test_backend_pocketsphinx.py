"""The pocketsphinx recognizer transcribes a phrase spoken by espeak-ng, end to end over a socket."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import wave
from pathlib import Path

from backend_wsclient import LiveClient, http_get, silence

PHRASE = "the meeting will start at ten o'clock tomorrow morning"


def speak(text: str, folder: Path) -> bytes:
    """espeak-ng's voice, resampled by sox to 16 kHz mono int16 PCM."""
    for tool in ("espeak-ng", "sox"):
        assert shutil.which(tool), f"{tool} is required for this test (packaging/dev.sh installs it)"
    raw, out = folder / "raw.wav", folder / "speech16k.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)], check=True)
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        return w.readframes(w.getnframes())


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", re.sub(r"\(\d+\)", "", text.lower()))


async def test_pocketsphinx_recognises_a_spoken_phrase(make_backend, tmp_path: Path) -> None:
    speech = speak(PHRASE, tmp_path)
    # This test is about recognition, not load: a long queue, so no audio may be dropped on a busy
    # machine, and a chunk longer than the phrase, so no chunk boundary cuts it in two (the phrase is
    # transcribed as the end-of-stream remainder, with time to spare on a busy machine).
    backend = await make_backend(recognizer="pocketsphinx", queue_seconds=30.0, chunk_seconds=10.0,
                                 flush_timeout=30.0)
    client = await LiveClient.open(backend.ws_url)
    await client.start()  # waits for the model to load
    status, health = await http_get(backend.http_url)
    assert status == 200 and (health["provider"], health["model"]) == ("pocketsphinx", "en-us")
    await client.send_audio(silence(0.5) + speech + silence(0.6), "mic", speed=4.0)
    summary = await client.stop(timeout=30)
    final = await client.wait_for(lambda m: m.get("type") == "asr_final")

    expected, heard = words(PHRASE), words(final["text"])
    matched = [w for w in expected if w in heard]
    assert len(matched) >= 6, f"heard {final['text']!r}"
    assert final["source"] == "mic" and 0.3 <= final["t0"] <= 0.8
    assert abs(final["t1"] - (0.5 + len(speech) / 32000)) < 0.5
    assert [s["text"] for s in summary["json"]["transcript"]] == [final["text"]]
    assert client.of_type("metrics")[0]["provider"] == "pocketsphinx"


async def test_pocketsphinx_in_two_second_chunks_never_stalls_the_loop(make_backend, tmp_path: Path) -> None:
    """The default: 2 s chunks, each decoded in the recognizer's thread. The phrase is cut where the
    chunks end (as a chunked real server cuts it) but still heard, and the metrics tick keeps its
    one-second cadence while chunks are decoded."""
    from fidelity_drive import drive

    speech = silence(0.5) + speak(PHRASE, tmp_path) + silence(1.5)
    # 2 s chunks as by default, but a long queue: on a busy machine (the suite's other workers) decoding
    # can fall behind real time, and words dropped from a 2 s queue are not what this test is about
    # (seen: 3 of the phrase's words heard in a full run, 5+ alone).
    backend = await make_backend(recognizer="pocketsphinx", flush_timeout=30.0, queue_seconds=30.0)
    run = await drive(backend.ws_url, len(speech) / 32000, {"mic": speech}, summary_timeout=30)
    finals = [m for _, m in run.messages if m.get("type") == "asr_final"]
    assert len(finals) >= 2 and all(f["t1"] - f["t0"] <= 2.0 for f in finals)
    heard = words(" ".join(f["text"] for f in finals))
    assert len([w for w in words(PHRASE) if w in heard]) >= 4, finals
    ticks = [m["timestamp"] for _, m in run.metrics()]
    assert len(ticks) >= 4 and max(b - a for a, b in itertools.pairwise(ticks)) < 1.5
