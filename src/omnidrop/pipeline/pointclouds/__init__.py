"""Point clouds to COPC: readers that stream any supported input in chunks, an out-of-core octree
builder that writes a Cloud Optimized Point Cloud (copclib), and E57 panorama extraction."""
