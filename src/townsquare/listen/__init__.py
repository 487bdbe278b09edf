"""Listen: live monitoring — stream consumers, watches, aggregates, detectors and alerts that explain themselves."""
