"""The master patient index matcher: features, blocking keys, Fellegi–Sunter scoring, training."""
