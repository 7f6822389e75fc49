"""Kindred's real-time layer: topics, wire protocol, per-process hub, Redis broker, presence."""
