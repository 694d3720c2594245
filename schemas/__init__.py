"""Marshmallow schemas of every method's params, one module per API object (mirroring `methods/`)."""
