"""Audio sources: live devices, replayed WAV files, and what they share.

Owns: ``source`` (the ``AudioSource`` protocol every source offers the session, its counters, and the
hand-out of frames and the tail they share), ``handoff`` (the one bounded hand-off from the PortAudio
callback thread to the event loop), ``live`` (sounddevice streams), ``devices`` (listing and resolving
devices with sounddevice and pactl), ``replay`` (a WAV file as a source), ``factory`` (``make_sources``).

May import: ``app.core`` and ``app.errors`` only. sounddevice is imported lazily, by ``devices``, when
a live device is opened or listed: importing this package or a replay source loads no PortAudio.
"""
