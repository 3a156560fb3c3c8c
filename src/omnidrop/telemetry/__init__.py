"""Telemetry: Prometheus metrics, the request id and structured logs.

The lowest layer besides settings: any module may record here, and this package imports no other
omnidrop module, so recording never pulls a layer into another.
"""
