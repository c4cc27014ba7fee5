"""greenlight: staging, promotion and zero-downtime deploys for one VPS."""

__version__ = "0.1.0"
