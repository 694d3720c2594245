"""rpcserver: a JSON-RPC 2.0 server for the acknowledgement state of monitoring problems."""

__all__ = ["__version__"]

__version__ = "0.1.0"
