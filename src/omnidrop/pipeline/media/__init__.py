"""Video probing/validation, spherical metadata and frame extraction (PyAV, no ffmpeg binary).

Import the submodules directly: this package stays empty so that light modules (naming) do not
pull in the decoder.
"""
