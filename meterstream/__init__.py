"""meterstream: real-time metering of generative-AI usage and cost."""

__version__ = "0.1.0"
