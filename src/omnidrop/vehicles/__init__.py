"""Vehicles and their 360 side videos: intake, frames, damage masks, cleanup."""
