"""Gaussian splats of captures: training options, the gsplat trainer (CUDA, imported lazily) and the writers
of the outputs (standard 3DGS PLY and SPZ with gsply, the sogs-sh0 profile with PlayCanvas's splat-transform)."""
