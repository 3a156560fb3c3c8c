"""Damage masks on vehicle frames: a detector interface, its ONNX Runtime implementation, overlays."""
