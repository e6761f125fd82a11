"""EchoPanel Companion: a desktop client that streams meeting audio to an EchoPanel backend."""

__version__ = "0.1.0"
